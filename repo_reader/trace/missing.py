"""Every package a script needs that is not installed, found at once: the imports of the script and
of the repository modules it imports, transitively, that no installed package provides.

Child side (it asks the child's interpreter what is installed); standard library only. Imports
inside `try:` blocks are optional by design and are not counted.
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import re
import sys
from collections import deque
from pathlib import Path

MAX_FILES = 400
# import name → the name pip installs it by, where they differ
PIP_NAMES = {"cv2": "opencv-python", "PIL": "pillow", "sklearn": "scikit-learn", "yaml": "pyyaml",
             "skimage": "scikit-image", "google": "protobuf", "attr": "attrs", "Crypto": "pycryptodome"}


def missing_packages(script: Path, root: Path) -> list[tuple[str, str]]:
    """(package, `path:line` of its first import) for each package not installed, in import order."""
    found: dict[str, str] = {}
    queue, seen = deque([script]), {script}
    while queue and len(seen) <= MAX_FILES:
        file = queue.popleft()
        for name, line, level in _imports(file):
            local = _repo_file(name, level, file, root, script.parent)
            if local is not None:
                if local not in seen:
                    seen.add(local)
                    queue.append(local)
                continue
            top = name.split(".")[0]
            if level == 0 and top and top not in found and not _installed(top):
                found[top] = f"{file.relative_to(root).as_posix()}:{line}"
    return list(found.items())


def vanished_module(stopped: str) -> str:
    """For `ModuleNotFoundError: No module named 'torch._six'` where torch is installed: a line saying
    the installed version no longer has that module (the repository targets an older one)."""
    match = re.search(r"No module named '([\w.]+)'", stopped)
    if match is None or "." not in match[1]:
        return ""
    top = match[1].split(".")[0]
    if not _installed(top) or top in sys.stdlib_module_names:
        return ""
    try:
        version = importlib.metadata.version(top)
    except (importlib.metadata.PackageNotFoundError, ValueError):
        version = "installed"
    return (f"the repository imports `{match[1]}`, which the installed {top} ({version}) does not have: "
            f"the code was written for an older {top}")


def pip_line(packages: list[str]) -> str:
    return "pip install " + " ".join(PIP_NAMES.get(name, name) for name in packages)


def _imports(file: Path) -> list[tuple[str, int, int]]:
    try:
        tree = ast.parse(file.read_text(encoding="utf-8-sig", errors="replace"))
    except (SyntaxError, ValueError, RecursionError, OSError):
        return []
    optional = {id(node) for handler in ast.walk(tree) if isinstance(handler, ast.Try)
                for statement in handler.body for node in ast.walk(statement)}
    found = []
    for node in ast.walk(tree):
        if id(node) in optional:
            continue
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno, 0) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.module or "", node.lineno, node.level))
    return found


def _repo_file(name: str, level: int, file: Path, root: Path, script_folder: Path) -> Path | None:
    """The repository file an import names, if it is the repository's own."""
    bases = [file.parent] if level else [root, script_folder]
    for base in bases:
        for _ in range(max(level - 1, 0)):
            base = base.parent
        path = base.joinpath(*name.split(".")) if name else base
        for candidate in (path.with_suffix(".py"), path / "__init__.py"):
            if candidate.is_file() and candidate.resolve().is_relative_to(root.resolve()):
                return candidate
        top = name.split(".")[0]
        if level == 0 and top and ((base / top).is_dir() or (base / f"{top}.py").is_file()):
            return base / top  # the repository's own (a namespace folder): nothing to read, nothing missing
        if level:
            return base  # a relative import that names no file: still the repository's
    return None


def _installed(name: str) -> bool:
    if name in sys.builtin_module_names or name in sys.stdlib_module_names:
        return True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return True
