"""The architecture in STYLE.md, checked: each layer imports only what it may, and torch stays in trace/."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "repo_reader"

# layer → layers it must not import
FORBIDDEN = {
    "model": {"scan", "index", "passes", "api", "render", "cli", "trace", "lint", "navigate", "sandbox"},
    "scan": {"index", "passes", "api", "render", "cli", "trace", "lint", "navigate", "sandbox"},
    "index": {"passes", "api", "render", "cli", "trace", "lint", "navigate", "sandbox"},
    "passes": {"api", "render", "cli", "trace", "navigate", "sandbox"},
    "render": {"cli", "trace", "scan", "index", "passes", "sandbox"},
    "api": {"render", "cli", "sandbox"},
    "serve": {"cli"},  # the servers sit beside the CLI, on the api and the renderers
    "forking": {"model", "scan", "index", "passes", "api", "render", "cli", "trace", "lint", "navigate", "sandbox"},
    # the child process machinery stands alone: trace/ and the dynamic checks use it, never the reverse
    "sandbox": {"model", "scan", "index", "passes", "api", "render", "cli", "trace", "lint", "navigate", "forking",
                "plain", "map_cache"},
}


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def layer_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def imported(tree: ast.Module, top_level_only: bool) -> set[str]:
    body = tree.body if top_level_only else list(ast.walk(tree))
    names: set[str] = set()
    for node in body:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_layer_imports(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    layer = layer_of(path)
    for name in imported(tree, top_level_only=False):
        if name.startswith("repo_reader."):
            target = name.split(".")[1]
            assert target not in FORBIDDEN.get(layer, set()), f"{layer} must not import {name}"


@pytest.mark.parametrize("path", [p for p in modules() if layer_of(p) != "trace"],
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_torch_is_imported_only_inside_trace(path: Path) -> None:
    """trace/'s child-process modules import torch freely; the parent side is checked dynamically
    (tests/test_cli.py: running the CLI leaves torch out of sys.modules)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert "torch" not in {name.split(".")[0] for name in imported(tree, top_level_only=False)}


def test_model_imports_only_the_standard_library() -> None:
    tree = ast.parse((PACKAGE / "model.py").read_text(encoding="utf-8"))
    for name in imported(tree, top_level_only=False):
        assert name.split(".")[0] in {"__future__", "dataclasses", "enum", "typing", "collections"}, name


@pytest.mark.parametrize("path", sorted((PACKAGE / "sandbox").glob("*.py")), ids=lambda p: p.name)
def test_sandbox_imports_only_the_standard_library_and_itself(path: Path) -> None:
    """The parent imports it for every run and the child before torch: nothing heavy, nothing of ours."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for name in imported(tree, top_level_only=False):
        top = name.split(".")[0]
        assert top in sys.stdlib_module_names or name.startswith("repo_reader.sandbox"), name
