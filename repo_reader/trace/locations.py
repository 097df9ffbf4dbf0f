"""Where a submodule is assigned (`self.name = ...` in `__init__`); where it is called is read from
the running stack instead (`recorder.CallSites`).

Child side. Reads the class source with `ast`; prefers the static map's assignment lines.
"""

from __future__ import annotations

import ast
import inspect
import traceback
from functools import lru_cache
from pathlib import Path

from repo_reader.model import Location

_CONTAINERS = {"Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"}


def relative(filename: str, root: Path) -> str | None:
    """`filename` relative to `root` in POSIX form, or None when outside the repository."""
    try:
        return Path(filename).resolve().relative_to(root).as_posix()
    except (ValueError, OSError):
        return None


def innermost_repo_frame(error: BaseException, root: Path) -> Location | None:
    """The deepest traceback frame of `error` that lies inside the repository."""
    frames = repo_frames(error, root)
    return frames[-1][0] if frames else None


def repo_frames(error: BaseException, root: Path) -> list[tuple[Location, str]]:
    """(location, `function: source line`) of each repository frame of `error`'s traceback."""
    found = []
    for frame in traceback.extract_tb(error.__traceback__):
        path = relative(frame.filename, root)
        if path is not None and frame.lineno is not None:
            found.append((Location(path, frame.lineno), f"{frame.name}: {(frame.line or '').strip()}"))
    return found


class SourceIndex:
    """Answers `assigned(cls, name)` for classes defined in the repo."""

    def __init__(self, root: Path, known: dict[tuple[str, str], tuple[int, int]] | None = None) -> None:
        self.root = root
        self.known = known or {}

    def class_location(self, cls: type) -> Location | None:
        found = self._class_node(cls)
        return Location(found[0], found[1].lineno, found[1].col_offset + 1) if found else None

    def assigned(self, cls: type, name: str) -> Location | None:
        for klass in inspect.getmro(cls):
            found = self._class_node(klass)
            if found is None:
                continue
            path, node = found
            known = self.known.get((f"{klass.__module__}.{klass.__qualname__}", name))
            if known is not None:
                return Location(path, *known)
            hit = _first_assignment(node, name)
            if hit is not None:
                return Location(path, hit[0], hit[1])
        return None

    def _class_node(self, cls: type) -> tuple[str, ast.ClassDef] | None:
        if cls.__module__.startswith(("torch.", "builtins")) or cls.__name__ in _CONTAINERS:
            return None
        try:
            filename = inspect.getsourcefile(cls)
        except (TypeError, OSError):
            return None
        path = relative(filename, self.root) if filename else None
        if path is None or filename is None:
            return None
        node = _find_class(_parse(filename), cls.__qualname__)
        return (path, node) if node is not None else None


@lru_cache(maxsize=256)
def _parse(filename: str) -> ast.Module:
    return ast.parse(Path(filename).read_text(encoding="utf-8-sig", errors="replace"))


def _find_class(tree: ast.Module, qualname: str) -> ast.ClassDef | None:
    scope: list[ast.stmt] = tree.body
    node: ast.ClassDef | None = None
    for part in qualname.split("."):
        if part == "<locals>":
            return None
        node = next((n for n in scope if isinstance(n, ast.ClassDef) and n.name == part), None)
        if node is None:
            return None
        scope = node.body
    return node


def _methods(node: ast.ClassDef, preferred: str) -> list[ast.FunctionDef]:
    methods = [n for n in node.body if isinstance(n, ast.FunctionDef)]
    return sorted(methods, key=lambda method: method.name != preferred)


def _first_assignment(node: ast.ClassDef, name: str) -> tuple[int, int] | None:
    """The first `self.name = ...`, in `__init__` first."""
    for method in _methods(node, "__init__"):
        hits = [(sub.lineno, sub.col_offset + 1) for sub in ast.walk(method)
                if isinstance(sub, ast.Attribute) and isinstance(sub.ctx, ast.Store) and _is_self_attribute(sub, name)]
        if hits:
            return min(hits)
    return None


def _is_self_attribute(node: ast.expr, name: str) -> bool:
    return (
        isinstance(node, ast.Attribute) and node.attr == name
        and isinstance(node.value, ast.Name) and node.value.id == "self"
    )
