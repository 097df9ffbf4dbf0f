"""Child side: importing the module that defines a model without running a script's work.

A research script often trains at module level (no `__main__` guard). Importing it would start the
training run, so such a module gets only its imports, definitions and assignments executed: loops,
bare calls and `with` blocks are skipped, and the skipped lines are reported.
"""

from __future__ import annotations

import ast
import importlib
import sys
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType, ModuleType

DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
TOLERATED = (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Try, ast.If)  # run; a failure is skipped
WORK = (ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith)
SETUP_CALLS = frozenset({
    "add_argument", "add_argument_group", "add_mutually_exclusive_group", "set_defaults", "manual_seed", "seed",
    "filterwarnings", "simplefilter", "basicConfig", "setLevel", "register", "set_printoptions", "use_deterministic_algorithms",
})


@dataclass(slots=True)
class Loaded:
    module: ModuleType
    skipped: list[int] = field(default_factory=list)  # lines of module-level statements not run
    failed: list[int] = field(default_factory=list)  # lines of assignments that raised


def does_work_at_module_level(tree: ast.Module) -> bool:
    """Loops, `with` blocks or bare calls outside a `__main__` guard: the module is a script."""
    for statement in tree.body:
        if isinstance(statement, WORK):
            return True
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
            return True
    return False


def load_module(module_name: str, file: Path) -> Loaded:
    """Import normally, unless the file is a script; then run only its safe statements."""
    tree = _parse(file)
    if tree is None or not does_work_at_module_level(tree):
        return Loaded(importlib.import_module(module_name))
    parent = module_name.rpartition(".")[0]
    if parent and (file.parent / "__init__.py").is_file():
        importlib.import_module(parent)  # a package that imports its own modules (timm) loads them in its order
        if module_name in sys.modules:
            return Loaded(sys.modules[module_name])
    module = ModuleType(module_name)
    module.__file__ = str(file)
    module.__package__ = module_name.rpartition(".")[0]
    sys.modules[module_name] = module
    loaded = Loaded(module)
    saved_argv = sys.argv
    sys.argv = [str(file)]  # `parser.parse_args()` at module level then sees the defaults
    try:
        for statement in tree.body:
            _run(statement, file, loaded)
    finally:
        sys.argv = saved_argv
    return loaded


def load_module_without_packages(module_name: str, file: Path, also: frozenset[str] = frozenset(),
                                 skipped: list[str] | None = None) -> Loaded:
    """`load_module` with the parent packages (and the packages in `also`) loaded leniently: each
    statement of their `__init__.py` runs on its own, and one that fails (an import of something not
    installed) is skipped, so the names the rest of the package defines or re-exports are still there.

    For a package whose `__init__` imports something the model does not need (plotting, a tokenizer's
    image library): the model's own module, and the submodules it imports, load as usual. A package
    already imported stays as it is. The skipped statements are added to `skipped` as `path:line`,
    also when the load then fails (a later attempt adds to the same list)."""
    parts = module_name.split(".")
    base = package_base(module_name, file)
    names = {".".join(parts[:depth]) for depth in range(1, len(parts))} | set(also)
    skipped = [] if skipped is None else skipped
    for name in sorted(names, key=lambda name: name.count(".")):  # outermost first
        if name in sys.modules:
            continue
        folder = base.joinpath(*name.split("."))
        package = ModuleType(name)
        package.__path__ = [str(folder)]
        package.__package__ = name
        package.__file__ = str(folder / "__init__.py")
        sys.modules[name] = package
        outer, _, last = name.rpartition(".")
        if outer in sys.modules:
            setattr(sys.modules[outer], last, package)
        skipped += _run_leniently(package, folder / "__init__.py", base)
    return load_module(module_name, file)


def _run_leniently(package: ModuleType, init: Path, base: Path) -> list[str]:
    """Run each top-level statement of `init` in `package`; the ones that raise are skipped."""
    tree = _parse(init)
    skipped = []
    for statement in tree.body if tree is not None else []:
        try:
            exec(_compiled(statement, init), package.__dict__)
        except (Exception, SystemExit):
            skipped.append(f"{init.relative_to(base).as_posix()}:{statement.lineno}")
    return skipped


def package_base(module_name: str, file: Path) -> Path:
    """The folder on `sys.path` that `module_name` (defined in `file`) is imported from."""
    depth = module_name.count(".") + (1 if file.name == "__init__.py" else 0)
    return file.parents[depth]


def _parse(file: Path) -> ast.Module | None:
    """The file's syntax tree (PEP 263 encodings honoured); None when it cannot be read or parsed."""
    try:
        with tokenize.open(file) as handle:
            return ast.parse(handle.read(), filename=str(file))
    except (OSError, SyntaxError, ValueError):
        return None


def _compiled(statement: ast.stmt, file: Path) -> CodeType:
    """One top-level statement, compiled on its own (tracebacks keep the file and line)."""
    return compile(ast.Module(body=[statement], type_ignores=[]), str(file), "exec")


def _run(statement: ast.stmt, file: Path, loaded: Loaded) -> None:
    code = _compiled(statement, file)
    if isinstance(statement, DEFINITIONS):
        exec(code, loaded.module.__dict__)  # a missing package here is the user's answer
    elif (isinstance(statement, TOLERATED) and not _is_main_guard(statement)) or _is_setup_call(statement):
        try:
            exec(code, loaded.module.__dict__)
        except (Exception, SystemExit):
            loaded.failed.append(statement.lineno)
    elif not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)):  # docstrings
        loaded.skipped.append(statement.lineno)


def _is_setup_call(statement: ast.stmt) -> bool:
    """`parser.add_argument(...)`, `torch.manual_seed(0)`: calls that configure rather than work."""
    if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)):
        return False
    function = statement.value.func
    name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
    return name in SETUP_CALLS


def _is_main_guard(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.If) and "__main__" in ast.unparse(statement.test)
