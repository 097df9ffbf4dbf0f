"""Which training script the run route runs, and with which arguments: the map's first-ranked
training entry point, with the arguments of the command the README shows for it, or those the user
gives after `--`. Parent side, standard library only; nothing runs here.
"""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

from repo_reader.model import EntryKind, EntryPoint, RepoMap
from repo_reader.passes.readme_usage import python_blocks
from repo_reader.trace.hints import command_hints
from repo_reader.trace.request import TraceRequest

MAX_BLOCKS = 12
UNSET = re.compile(r"^\$\{?[A-Za-z_]\w*\}?$")
SHELL_STOPS = {"|", "||", "&&", ";", ">", ">>", "2>&1", "&", "\\"}


def training_entry(repo_map: RepoMap) -> EntryPoint | None:
    """The first-ranked training entry point that is a Python script (the run route runs a file)."""
    ranked = sorted(repo_map.entry_points, key=lambda entry: entry.rank)
    return next((entry for entry in ranked if entry.kind == EntryKind.TRAIN and entry.path.endswith(".py")
                 and "#" not in entry.path), None)


def launch_folder(entry: EntryPoint) -> str:
    """Where the command runs: a README that says `cd implementations/acgan/` then `python acgan.py`
    runs the script from its own folder (its `../../data` paths count from there)."""
    try:
        words = shlex.split(entry.command, posix=True)
    except ValueError:
        return ""
    folder = entry.path.rpartition("/")[0]
    named_alone = entry.path.rsplit("/", 1)[-1] in words and entry.path not in words
    return folder if folder and named_alone else ""


def launch_arguments(entry: EntryPoint) -> tuple[str, ...]:
    """The arguments after the script in the entry's command (`python train.py --lr 0.1` → `--lr 0.1`)."""
    try:
        words = shlex.split(entry.command, posix=True)
    except ValueError:
        return ()
    script = entry.path.rsplit("/", 1)[-1]
    start = next((index for index, word in enumerate(words) if word == entry.path or word.endswith("/" + script)
                  or word == script), None)
    if start is None:
        return ()
    arguments: list[str] = []
    for word in words[start + 1:]:
        if word in SHELL_STOPS:
            break
        flag_value = bool(arguments) and arguments[-1].startswith("-") and "=" not in arguments[-1]
        if UNSET.match(word) and not flag_value:
            continue  # `$TRAIN_FLAGS` the docs never define: no argument at all
        arguments.append(word)
    return tuple(arguments)


def run_request(entry: EntryPoint, root: Path, argv: tuple[str, ...] | None, *, device: str, memory_limit: int,
                hints: tuple = ()) -> TraceRequest:  # type: ignore[type-arg]
    """A request for the child to run `entry` to its optimizer; `argv` None: the README's arguments."""
    arguments = launch_arguments(entry) if argv is None else argv
    module = entry.name if entry.source.value in ("main-guard", "module-level", "__main__.py") else entry.name.rpartition(".")[0]
    folder = launch_folder(entry)
    script = entry.path.removeprefix(folder + "/") if folder else entry.path
    package = root_package(root)
    program = ["-m", f"{package}.{entry.path.removesuffix('.py').replace('/', '.')}"] if package else [script]
    shown = (f"cd {folder} && " if folder and not package else "") + \
        " ".join(["python", *program, *(shlex.quote(word) for word in arguments)])
    hints = (*command_hints(arguments, shown), *hints)
    return TraceRequest(
        root=str(root), sys_path=(), module_name=module, class_name="", qualname=f"(running {entry.path})",
        path=entry.path, args=(), method=f"by running `{shown}`", device=device, hints=hints,
        memory_limit=memory_limit, route="run", entry_argv=arguments, entry_module=module, entry_command=shown,
        entry_folder="" if package else folder, package=package,
    )


def root_package(root: Path) -> str:
    """The name the root is imported by when it is itself a package (an `__init__.py` at the top,
    modules that import each other relatively): run from the folder above, as its README would."""
    return root.name if (root / "__init__.py").is_file() and root.name.isidentifier() else ""


README_NAMES = ("README.md", "readme.md", "README.markdown", "README.rst", "README.MD")


def readme_code(root: Path, packages: set[str]) -> tuple[str, tuple[str, ...]]:
    """The README's Python blocks that import the repository's own code: (README path, blocks).
    A library without a training script is used the way its README shows."""
    for name in README_NAMES:
        path = root / name
        if not path.is_file() or path.is_symlink():
            continue
        blocks = []
        for block in python_blocks(path.read_text(encoding="utf-8-sig", errors="replace")):
            try:
                tree = ast.parse(block)
            except (SyntaxError, ValueError, RecursionError):
                continue
            if any(_imports_from(node, packages) for node in ast.walk(tree)):
                blocks.append(block)
            elif blocks:  # a later block that uses what the first ones imported
                blocks.append(block)
        return name, tuple(blocks[:MAX_BLOCKS])
    return "", ()


def _imports_from(node: ast.AST, packages: set[str]) -> bool:
    if isinstance(node, ast.ImportFrom) and node.module and not node.level:
        return node.module.split(".")[0] in packages
    if isinstance(node, ast.Import):
        return any(alias.name.split(".")[0] in packages for alias in node.names)
    return False


def readme_request(root: Path, readme: str, blocks: tuple[str, ...], *, device: str, memory_limit: int,
                   hints: tuple = ()) -> TraceRequest:  # type: ignore[type-arg]
    return TraceRequest(
        root=str(root), sys_path=(), module_name="", class_name="", qualname=f"(running {readme}'s code)",
        path=readme, args=(), method=f"by running the Python code of {readme}", device=device, hints=hints,
        memory_limit=memory_limit, route="run", code_blocks=blocks, entry_command=f"the code of {readme}",
    )


def notebook_request(request: TraceRequest, root: Path) -> TraceRequest | None:
    """A model defined in a notebook: its code cells, run in order as a script (magics commented out,
    as the map reads them), each compiled under the map's location of its cell (`fit.ipynb#cell3`), so
    that the lines `show` records are the lines the map gives."""
    from dataclasses import replace

    from repo_reader.scan.source import Unreadable, read_notebook

    notebook = request.path.partition("#")[0]
    try:
        source = read_notebook((root / notebook).read_bytes())
    except (OSError, Unreadable):
        return None
    lines = source.text.splitlines()
    ends = (*source.cell_starts[1:], len(lines) + 1)
    blocks = tuple("\n".join(lines[start - 1 : end - 1]) for start, end in zip(source.cell_starts, ends))
    if not blocks:
        return None
    names = tuple(f"{notebook}#cell{number}" for number in source.cell_numbers)
    return replace(request, route="run", code_blocks=blocks[:200], code_names=names[:200], path=notebook,
                   module_name=request.qualname.rpartition(".")[0], entry_command=f"the code cells of {notebook}")
