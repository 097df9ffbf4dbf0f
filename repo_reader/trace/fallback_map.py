"""A minimal static map for `trace` when `repo_reader.api.build_map` is not available.

Standard library only. Finds nn.Module subclasses, where they are built, and the argparse
options of the file that builds them; the real map (`repo_reader.api`) does this properly.
"""

from __future__ import annotations

import ast
from pathlib import Path

from repo_reader.model import ConstructionSite, EntryKind, EntryPoint, EntrySource, ModelInfo, Option, RepoMap

_MODULE_BASES = {"Module", "LightningModule", "PreTrainedModel"}
_SKIP = {".git", ".venv", "venv", "node_modules", "__pycache__", "build", "dist"}


def build_fallback_map(root: Path) -> RepoMap:
    trees = {path: tree for path, tree in _parse_all(root)}
    classes = _model_classes(trees)
    used_inside = {name for path, node in classes.values() for name in _names_in(node)} & set(classes)
    models, entries = [], []
    for name, (path, node) in sorted(classes.items(), key=lambda item: (item[1][0], item[1][1].lineno)):
        sites = tuple(_sites(trees, name, classes))
        module = path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        top = name not in used_inside
        models.append(ModelInfo(
            qualname=f"{module}.{name}", path=path, line=node.lineno, col=node.col_offset + 1,
            bases=tuple(ast.unparse(base) for base in node.bases), framework="torch", top_level=top,
            top_level_reason="not used inside another model" if top else "used inside another model",
            submodules=(), contains=(), constructed_at=sites, forward=None, init_params=_init_params(node),
        ))
    for path, tree in trees.items():
        options = _argparse_options(tree)
        if options:
            entries.append(EntryPoint(path, 1, 1, path.removesuffix(".py").replace("/", "."), EntryKind.TRAIN, 1,
                                      EntrySource.MAIN_GUARD, f"python {path}", tuple(options), 50, ()))
    return RepoMap(root.name, (), tuple(entries), tuple(models), (), (), (), (), ("torch",), (), 0)


def _parse_all(root: Path) -> list[tuple[str, ast.Module]]:
    found = []
    for file in sorted(root.rglob("*.py")):
        if any(part in _SKIP or part.startswith(".") for part in file.relative_to(root).parts[:-1]):
            continue
        try:
            found.append((file.relative_to(root).as_posix(), ast.parse(file.read_text(encoding="utf-8"))))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
    return found


def _model_classes(trees: dict[str, ast.Module]) -> dict[str, tuple[str, ast.ClassDef]]:
    candidates = {node.name: (path, node) for path, tree in trees.items()
                  for node in tree.body if isinstance(node, ast.ClassDef)}
    models: dict[str, tuple[str, ast.ClassDef]] = {}
    changed = True
    while changed:
        changed = False
        for name, (path, node) in candidates.items():
            bases = {ast.unparse(base).rpartition(".")[2] for base in node.bases}
            if name not in models and bases & (_MODULE_BASES | set(models)):
                models[name] = (path, node)
                changed = True
    return models


def _names_in(node: ast.ClassDef) -> set[str]:
    return {sub.id for sub in ast.walk(node) if isinstance(sub, ast.Name)}


def _sites(trees: dict[str, ast.Module], name: str, classes: dict[str, tuple[str, ast.ClassDef]]) -> list[ConstructionSite]:
    sites = []
    for path, tree in trees.items():
        for caller, call in _calls(tree):
            if isinstance(call.func, ast.Name) and call.func.id == name and caller not in classes:
                args = tuple(ast.unparse(arg) for arg in call.args)
                args += tuple(f"{kw.arg}={ast.unparse(kw.value)}" if kw.arg else f"**{ast.unparse(kw.value)}"
                              for kw in call.keywords)
                module = path.removesuffix(".py").replace("/", ".")
                sites.append(ConstructionSite(path, call.lineno, call.col_offset + 1, f"{module}.{caller}", args))
    return sites


def _calls(tree: ast.Module) -> list[tuple[str, ast.Call]]:
    found = []
    for top in tree.body:
        owner = top.name if isinstance(top, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)) else "<module>"
        found += [(owner, node) for node in ast.walk(top) if isinstance(node, ast.Call)]
    return found


def _init_params(node: ast.ClassDef) -> tuple[str, ...]:
    init = next((n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
    if init is None:
        return ()
    positional = init.args.args[1:]
    defaults = [None] * (len(positional) - len(init.args.defaults)) + list(init.args.defaults)
    params = [arg.arg if default is None else f"{arg.arg}={ast.unparse(default)}"
              for arg, default in zip(positional, defaults)]
    params += [arg.arg if default is None else f"{arg.arg}={ast.unparse(default)}"
               for arg, default in zip(init.args.kwonlyargs, init.args.kw_defaults)]
    return tuple(params)


def _argparse_options(tree: ast.Module) -> list[Option]:
    options = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add_argument"):
            continue
        flags = tuple(arg.value for arg in node.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str))
        if not flags:
            continue
        keywords = {kw.arg: kw.value for kw in node.keywords if kw.arg}
        default = ast.unparse(keywords["default"]) if "default" in keywords else None
        kind = ast.unparse(keywords["type"]) if "type" in keywords else None
        name = next((flag for flag in flags if flag.startswith("--")), flags[0])
        options.append(Option(name, flags, default, None, kind, False, (), node.lineno))
    return options
