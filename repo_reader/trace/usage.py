"""How the repository itself uses a model, found statically: the inputs it builds for it
(`x = torch.randn(2, 3, 32, 32); model(x)` in its tests or a `__main__` smoke test) and the
classmethod factories it builds it with (`Net.from_pretrained(...)`). Standard library only.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from repo_reader.model import ConstructionSite, ModelInfo, RepoMap
from repo_reader.trace.request import ExampleInput, InputSpec

_FACTORIES = {"torch.randn", "torch.rand", "torch.zeros", "torch.ones", "torch.empty", "torch.randint"}
_PASS_THROUGH = {"to", "cuda", "cpu", "contiguous", "requires_grad_"}
_DTYPE_METHODS = {"long": "int64", "float": "float32", "half": "float16", "double": "float64",
                  "bfloat16": "bfloat16", "int": "int32", "bool": "bool"}
_MAX_FILES = 400
_MAX_EXAMPLES = 3


@dataclass(frozen=True, slots=True)
class FactorySite:
    """`Net.from_pretrained("base", num_classes=3)`: a classmethod of the model that builds it."""

    method: str  # `from_pretrained`
    site: ConstructionSite  # where it is called, with its arguments' source text
    parameters: tuple[str, ...]  # the classmethod's parameters after `cls`


def find_example_inputs(root: Path, repo_map: RepoMap, model: ModelInfo) -> tuple[ExampleInput, ...]:
    """Calls of an instance of `model` on tensors of literal shape, the model's own file first, then tests."""
    found: dict[tuple[InputSpec, ...], ExampleInput] = {}
    for uses in _files_using(root, repo_map, model):
        for example in uses.examples():
            found.setdefault(example.inputs, example)
    return tuple(found.values())[:_MAX_EXAMPLES]


def find_factory_site(root: Path, repo_map: RepoMap, model: ModelInfo) -> FactorySite | None:
    """The first call of one of the model's own classmethods (`Net.from_pretrained(...)`) in the repo."""
    methods = _classmethods(root, model)
    if not methods:
        return None
    for uses in _files_using(root, repo_map, model, tensors=False):
        for call, scope in uses.factory_calls(set(methods)):
            assert isinstance(call.func, ast.Attribute)
            args = tuple(ast.unparse(arg) for arg in call.args)
            args += tuple(f"{kw.arg}={ast.unparse(kw.value)}" for kw in call.keywords if kw.arg)
            caller = uses.path.removesuffix(".py").replace("/", ".") + (f".{scope}" if scope else "")
            site = ConstructionSite(uses.path, call.lineno, call.col_offset + 1, caller, args)
            return FactorySite(call.func.attr, site, methods[call.func.attr])
    return None


def _files_using(root: Path, repo_map: RepoMap, model: ModelInfo, *, tensors: bool = True) -> Iterator[_FileExamples]:
    """The files that mention the model's class (and torch, when looking for tensors), parsed."""
    words = (model.qualname.rpartition(".")[2], "torch") if tensors else (model.qualname.rpartition(".")[2],)
    for path in _candidate_paths(root, repo_map, model)[:_MAX_FILES]:
        tree = _parse(root / path, must_mention=words)
        if tree is not None:
            yield _FileExamples(tree, path, model)


@functools.lru_cache(maxsize=4096)
def _read(path: Path, modified: int) -> str:
    """A file's text, read once for all the models of one run (`modified` keys the cache)."""
    try:
        return path.read_text(encoding="utf-8-sig", errors="replace")
    except OSError:
        return ""


def _parse(path: Path, must_mention: tuple[str, ...] = ()) -> ast.Module | None:
    try:
        text = _read(path, path.stat().st_mtime_ns)
    except OSError:
        return None
    if not text or not all(word in text for word in must_mention):
        return None  # cheap prefilter: most files never mention the class
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError):
        return None


def _classmethods(root: Path, model: ModelInfo) -> dict[str, tuple[str, ...]]:
    """The model class's own classmethods → their parameter names after `cls`."""
    tree = _parse(root / model.path)
    class_name = model.qualname.rpartition(".")[2]
    found: dict[str, tuple[str, ...]] = {}
    for node in ast.walk(tree) if tree else []:
        if not (isinstance(node, ast.ClassDef) and node.name == class_name and node.lineno == model.line):
            continue
        for item in node.body:
            if isinstance(item, ast.FunctionDef) and any(
                    isinstance(d, ast.Name) and d.id == "classmethod" for d in item.decorator_list):
                found[item.name] = tuple(arg.arg for arg in item.args.posonlyargs + item.args.args)[1:]
    return found


def _candidate_paths(root: Path, repo_map: RepoMap, model: ModelInfo) -> list[str]:
    paths = [f.path for f in repo_map.files if f.path.endswith(".py")]
    if not paths:
        paths = [p.relative_to(root).as_posix() for p in sorted(root.rglob("*.py"))]

    def rank(path: str) -> tuple[int, str]:
        is_test = "test" in path.rpartition("/")[2] or path.startswith("tests/") or "/tests/" in path
        return (0 if path == model.path else 1 if is_test else 2, path)

    return sorted(paths, key=rank)


@dataclass(slots=True)
class _Scope:
    """What one function (or the module body) binds: model instances and example tensors."""

    instances: set[str]
    tensors: dict[str, InputSpec]
    numbers: dict[str, int]  # `B, T = 2, 16`: sizes a shape may name


class _FileExamples:
    def __init__(self, tree: ast.Module, path: str, model: ModelInfo) -> None:
        self.tree, self.path, self.model = tree, path, model
        self.class_name = model.qualname.rpartition(".")[2]
        self.aliases = _import_aliases(tree)
        self.fixtures = {node.name for node in tree.body
                         if isinstance(node, ast.FunctionDef) and self._returns_model(node)}
        self.constants = {name: number for node in tree.body if isinstance(node, ast.Assign)
                          for name, number in _int_bindings(node).items()}  # module-level sizes

    def examples(self) -> Iterator[ExampleInput]:
        for scope in self._scopes():
            yield from self._scope_examples(scope)

    def factory_calls(self, methods: set[str]) -> Iterator[tuple[ast.Call, str]]:
        """`Net.from_pretrained(...)` calls, with the name of the function they are in."""
        for scope in self._scopes():
            for node in _statements(scope):
                for call in _calls(node):
                    function = call.func
                    if (isinstance(function, ast.Attribute) and function.attr in methods
                            and self._is_model_class(function.value)):
                        yield call, getattr(scope, "name", "")

    def _scopes(self) -> list[ast.AST]:
        functions = [node for node in ast.walk(self.tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
        return [self.tree, *functions]

    def _scope_examples(self, scope: ast.AST) -> Iterator[ExampleInput]:
        bound = _Scope(self._model_parameters(scope), {}, dict(self.constants) if scope is not self.tree else {})
        for node in _statements(scope):
            if isinstance(node, ast.Assign):
                bound.numbers.update(_int_bindings(node))
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                name = node.targets[0].id
                if self._builds_model(node.value):
                    bound.instances.add(name)
                elif (spec := self._tensor(node.value, bound)) is not None:
                    bound.tensors[name] = spec
            for call in _calls(node):
                example = self._example(call, bound)
                if example is not None:
                    yield example

    def _example(self, call: ast.Call, bound: _Scope) -> ExampleInput | None:
        function = call.func
        if isinstance(function, ast.Attribute) and function.attr == "forward":
            function = function.value
        if not ((isinstance(function, ast.Name) and function.id in bound.instances) or self._builds_model(function)):
            return None
        specs = [self._tensor(arg, bound) for arg in call.args]
        named = [(kw.arg, self._tensor(kw.value, bound)) for kw in call.keywords]
        if (not specs and not named) or None in specs or any(kw is None or s is None for kw, s in named):
            return None
        inputs = [spec for spec in specs if spec is not None]
        inputs += [InputSpec(kw, s.shape, s.dtype, s.high) for kw, s in named if kw is not None and s is not None]
        where = "`__main__` smoke test" if self._in_main(call) else "tests" if "test" in self.path else "repository code"
        return ExampleInput(tuple(inputs), f"as built in {self.path}:{call.lineno} ({where})")

    def _tensor(self, node: ast.expr, bound: _Scope) -> InputSpec | None:
        """`torch.randn(2, 3, 32, 32)`, `torch.randint(0, 100, (2, 16))`, `.to(device)`, `.long()`; a bound name."""
        if isinstance(node, ast.Name):
            return bound.tensors.get(node.id)
        if not isinstance(node, ast.Call):
            return None
        function = node.func
        if isinstance(function, ast.Attribute) and function.attr in _PASS_THROUGH | set(_DTYPE_METHODS):
            inner = self._tensor(function.value, bound)
            if inner is not None and function.attr in _DTYPE_METHODS:
                return InputSpec(None, inner.shape, _DTYPE_METHODS[function.attr], inner.high)
            if inner is not None and function.attr in _PASS_THROUGH:
                return inner
        name = self._resolve(function)
        return _factory_spec(name, node, self.aliases, bound.numbers) if name in _FACTORIES else None

    def _resolve(self, node: ast.expr) -> str:
        """The dotted name of `node`, with the file's imports applied: `T.randn` → `torch.randn`."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.insert(0, node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return ""
        return ".".join([self.aliases.get(node.id, node.id), *parts])

    def _is_model_class(self, node: ast.expr) -> bool:
        """The model's class, by a name this file defines or imports from the model's package."""
        if isinstance(node, ast.Name) and node.id == self.class_name and node.id not in self.aliases:
            return self.path == self.model.path
        resolved = self._resolve(node)
        if resolved.rpartition(".")[2] != self.class_name:
            return False
        package = resolved.split(".")[0]
        return resolved.startswith(".") or package == self.model.qualname.split(".")[0]

    def _builds_model(self, node: ast.expr) -> bool:
        """`Net(...)`, `Net.from_pretrained(...)`, `Net(...).eval()`, `Net(...).to(device)`."""
        if not isinstance(node, ast.Call):
            return False
        function = node.func
        if self._is_model_class(function):
            return True
        if isinstance(function, ast.Attribute):
            return self._is_model_class(function.value) or self._builds_model(function.value)
        return False

    def _returns_model(self, function: ast.FunctionDef) -> bool:
        if function.returns is not None and self._is_model_class(function.returns):
            return True
        return any(isinstance(node, ast.Return) and node.value is not None and self._builds_model(node.value)
                   for node in ast.walk(function))

    def _model_parameters(self, scope: ast.AST) -> set[str]:
        """Parameters that hold the model: pytest fixtures that build it, or annotated with its class."""
        if not isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return set()
        return {arg.arg for arg in scope.args.args + scope.args.kwonlyargs
                if arg.arg in self.fixtures or (arg.annotation is not None and self._is_model_class(arg.annotation))}

    def _in_main(self, call: ast.Call) -> bool:
        return any(isinstance(node, ast.If) and _is_main_guard(node.test)
                   and node.lineno <= call.lineno <= (node.end_lineno or node.lineno)
                   for node in self.tree.body)


def _factory_spec(name: str, call: ast.Call, aliases: dict[str, str], numbers: dict[str, int]) -> InputSpec | None:
    keywords = {kw.arg: kw.value for kw in call.keywords if kw.arg}
    dtype = _dtype(keywords.get("dtype"), aliases)
    if name == "torch.randint":
        bounds = [_int(arg, numbers) for arg in call.args if not isinstance(arg, (ast.Tuple, ast.List))]
        shape = _shape([arg for arg in call.args if isinstance(arg, (ast.Tuple, ast.List))] or
                       ([keywords["size"]] if "size" in keywords else []), numbers)
        high = _int(keywords["high"], numbers) if "high" in keywords else (bounds[-1] if bounds else None)
        if shape is None or high is None:
            return None
        return InputSpec(None, shape, dtype or "int64", high)
    shape = _shape([keywords["size"]] if "size" in keywords else call.args, numbers)
    return None if shape is None else InputSpec(None, shape, dtype or "float32")


def _shape(args: list[ast.expr], numbers: dict[str, int]) -> tuple[int, ...] | None:
    """`(2, 3, 32)` given as separate sizes or as one tuple/list; None unless every size is known."""
    if len(args) == 1 and isinstance(args[0], (ast.Tuple, ast.List)):
        args = list(args[0].elts)
    sizes = [_int(arg, numbers) for arg in args]
    if not sizes or any(size is None or size <= 0 for size in sizes):
        return None
    return tuple(size for size in sizes if size is not None)


def _int(node: ast.expr, numbers: dict[str, int] | None = None) -> int | None:
    """An int literal, or a name bound to one in the same scope (or at module level)."""
    if isinstance(node, ast.Name) and numbers is not None:
        return numbers.get(node.id)
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return node.value
    return None


def _int_bindings(node: ast.Assign) -> dict[str, int]:
    """`B = 2` and `B, T = 2, 16` → {"B": 2, "T": 16}; other assignments bind nothing."""
    found: dict[str, int] = {}
    for target in node.targets:
        pairs = (list(zip(target.elts, node.value.elts)) if isinstance(target, ast.Tuple)
                 and isinstance(node.value, ast.Tuple) and len(target.elts) == len(node.value.elts)
                 else [(target, node.value)])
        for name, value in pairs:
            number = _int(value)
            if isinstance(name, ast.Name) and number is not None:
                found[name.id] = number
    return found


def _dtype(node: ast.expr | None, aliases: dict[str, str]) -> str | None:
    """`torch.long` → `int64`; None when absent or not a plain torch dtype."""
    if not isinstance(node, ast.Attribute) or not isinstance(node.value, ast.Name):
        return None
    if aliases.get(node.value.id, node.value.id) != "torch":
        return None
    return {"long": "int64", "float": "float32", "half": "float16", "int": "int32", "double": "float64"}.get(node.attr, node.attr)


def _import_aliases(tree: ast.Module) -> dict[str, str]:
    """Local name → dotted name it was imported as: `import torch as T` → {"T": "torch"}."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                aliases[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")  # relative: `.models.Net`, matched by its last part
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{module}.{alias.name}"
    return aliases


def _statements(scope: ast.AST) -> Iterator[ast.stmt]:
    """The statements of one scope in source order, into if/with/for/try blocks, not into nested functions."""
    yield from _block(getattr(scope, "body", []))


def _block(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        yield node
        for field in ("body", "orelse", "finalbody"):
            yield from _block(getattr(node, field, []))
        for handler in getattr(node, "handlers", []):
            yield from _block(handler.body)


def _calls(statement: ast.stmt) -> Iterator[ast.Call]:
    """Calls in one statement, outside its nested blocks (those are visited as statements)."""
    stack: list[ast.AST] = [statement]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Call):
            yield node
        for field, value in ast.iter_fields(node):
            if node is statement and field in ("body", "orelse", "finalbody", "handlers"):
                continue
            children = value if isinstance(value, list) else [value]
            stack.extend(child for child in children if isinstance(child, ast.AST)
                         and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)))


def _is_main_guard(test: ast.expr) -> bool:
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__"
            and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators))
