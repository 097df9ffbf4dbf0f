"""Factory functions as a way to build a model: `--model vit_small_patch16_224` names a registered
factory of timm's VisionTransformer, and a class whose constructor needs arguments no construction
site gives (`Sam(image_encoder, prompt_encoder, mask_decoder)`) is built by the factory the map
found for it (`build_sam_vit_b()`), with its defaults. Parent side, standard library only.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repo_reader.model import EntryKind, EntryPoint, ModelInfo, RepoMap

Resolver = Callable[[str, EntryPoint], "tuple[Any, str] | None"]  # argument text → (ArgSpec, where) or None


@dataclass(frozen=True, slots=True)
class EntryFactory:
    """The factory a training script calls to build its model, and the keyword arguments it passes."""

    factory: str  # `models_mae.mae_vit_large_patch16`
    site: str  # `main_pretrain.py:162`
    chosen_by: str  # `the default of --model ('mae_vit_large_patch16')`, empty for a direct call
    keywords: tuple[tuple[str, Any], ...]  # (name, (ArgSpec, where its value comes from)) evaluated statically
    skipped: tuple[str, ...]  # keyword arguments that could not be


def entry_factory(repo_map: RepoMap, model: ModelInfo, root: Path, resolve: Resolver) -> EntryFactory | None:
    """The factory of `model` that a training entry point calls: directly (`models.net_large()`) or
    through a registry keyed by an option (`models_mae.__dict__[args.model](...)` with `--model`'s
    default), which the map's call graph links to every factory of the registry."""
    if not model.factories:
        return None
    for entry in sorted((e for e in repo_map.entry_points if e.kind == EntryKind.TRAIN), key=lambda e: e.rank):
        sites: dict[tuple[int, int], list[str]] = {}
        for edge in repo_map.edges:
            if edge.path == entry.path and edge.callee in model.factories:
                sites.setdefault((edge.line, edge.col), []).append(edge.callee)
        for (line, col), factories in sorted(sites.items()):
            found = _factory_at(root, entry, line, col, factories, resolve, repo_map)
            if found is not None:
                return found
    return None


def _factory_at(root: Path, entry: EntryPoint, line: int, col: int, factories: list[str],
                resolve: Resolver, repo_map: RepoMap) -> EntryFactory | None:
    call = _call_at(root / entry.path, line, col)
    if call is None:
        return None
    chosen_by, factory = "", factories[0] if len(factories) == 1 else ""
    if not factory and isinstance(call.func, ast.Subscript):  # `registry[args.model]`: the key's value
        key_text = ast.unparse(call.func.slice)
        resolved = resolve(key_text, entry)
        key = _python_value(resolved[0]) if resolved is not None else None
        names = _aliases(root, repo_map, factories) if isinstance(key, str) else {}
        factory = next((f for f in factories if isinstance(key, str) and names.get(key, key) == f.rsplit(".", 1)[-1]), "")
        chosen_by = f"{resolved[1]} = {key!r}" if factory and resolved is not None else ""
    if not factory:
        return None
    keywords, skipped = [], []
    for keyword in call.keywords:
        resolved = resolve(ast.unparse(keyword.value), entry) if keyword.arg else None
        if resolved is None or resolved[0].is_expression:
            skipped.append(keyword.arg or "**")
        else:
            keywords.append((keyword.arg, resolved))
    return EntryFactory(factory, f"{entry.path}:{line}", chosen_by, tuple(keywords), tuple(skipped))


def _aliases(root: Path, repo_map: RepoMap, factories: list[str]) -> dict[str, str]:
    """Module-level aliases of the factories (`mae_vit_large_patch16 = mae_vit_large_patch16_dec512d8b`)."""
    found: dict[str, str] = {}
    for path in {d.path for d in repo_map.definitions if d.qualname in factories}:
        for node in _module_body(root / path):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name):
                found.update((target.id, node.value.id) for target in node.targets if isinstance(target, ast.Name))
    return found


def _python_value(spec: Any) -> Any:
    """An ArgSpec's value (JSON text unless it is an expression) as the Python value it stands for."""
    if spec.is_expression:
        return None
    try:
        return json.loads(spec.value)
    except ValueError:
        return None


def _call_at(path: Path, line: int, col: int) -> ast.Call | None:
    try:
        tree = ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return next((node for node in ast.walk(tree) if isinstance(node, ast.Call)
                 and node.lineno == line and node.col_offset + 1 in (col, col + 1)), None)


def factory_model(repo_map: RepoMap, wanted: str) -> tuple[ModelInfo, str] | None:
    """The model a factory function named `wanted` (or its qualified name) builds, and the factory."""
    for model in repo_map.models:
        for factory in model.factories:
            if wanted in (factory, factory.rsplit(".", 1)[-1]):
                return model, factory
    return None


def named_builders(repo_map: RepoMap, wanted: tuple[str, ...]) -> dict[str, str]:
    """model qualname → factory, for the --model names that are factory names, not class names."""
    classes = {m.qualname for m in repo_map.models} | {m.qualname.rpartition(".")[2] for m in repo_map.models}
    found = {}
    for name in wanted:
        match = factory_model(repo_map, name) if name not in classes else None
        if match is not None:
            found[match[0].qualname] = match[1]
    return found


def default_builder(model: ModelInfo, given: set[str], repo_map: RepoMap, root: Path) -> tuple[str, str]:
    """(factory, why) when the constructor has required parameters the arguments do not give: the
    factory a registry dict lists under `"default"`, else the first factory that needs no arguments."""
    required = [p.partition("=")[0].partition(":")[0].strip() for p in model.init_params
                if "=" not in p and not p.startswith("*")]
    if not [name for name in required if name not in given]:
        return "", ""
    usable = [factory for factory in model.factories if takes_no_arguments(repo_map, factory)]
    for registry, factory in _default_entries(root, repo_map, usable):
        return factory, f"the 'default' entry of {registry}"
    return (usable[0], "") if usable else ("", "")


def _default_entries(root: Path, repo_map: RepoMap, factories: list[str]) -> list[tuple[str, str]]:
    """(registry, factory) for module-level dicts that map `"default"` to one of `factories`
    (`sam_model_registry = {"default": build_sam_vit_h, ...}`)."""
    found = []
    by_name = {factory.rsplit(".", 1)[-1]: factory for factory in factories}
    for path in {d.path for d in repo_map.definitions if d.qualname in factories}:
        for node in _module_body(root / path):
            if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict)
                    and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
                continue
            for key, value in zip(node.value.keys, node.value.values):
                if isinstance(key, ast.Constant) and key.value == "default" and isinstance(value, ast.Name) \
                        and value.id in by_name:
                    found.append((node.targets[0].id, by_name[value.id]))
    return found


def _module_body(path: Path) -> list[ast.stmt]:
    try:
        return ast.parse(path.read_bytes()).body
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return []


def as_factory(builder: str) -> str:
    """`segment_anything.build_sam.build_sam_vit_b` → `segment_anything.build_sam:build_sam_vit_b` (the child's form)."""
    module, _, function = builder.rpartition(".")
    return f"{module}:{function}"


def uses_parameters_of(repo_map: RepoMap, function: str, expression: str) -> bool:
    """Whether `expression`, an argument at a construction site inside `function`, reads one of that
    function's parameters (`Encoder(width)` in `def _build(width)`): it cannot be evaluated alone."""
    node = _signature(repo_map, function)
    if node is None:
        return False
    arguments = node.args
    names = {a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)}
    names |= {a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None}
    try:
        tree = ast.parse(expression, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(tree))


def _signature(repo_map: RepoMap, function: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    definition = next((d for d in repo_map.definitions if d.qualname == function), None)
    if definition is None:
        return None
    try:
        node = ast.parse(f"{definition.signature}: pass").body[0]
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return node if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else None


def takes_no_arguments(repo_map: RepoMap, function: str) -> bool:
    """Whether the factory can be called bare: every parameter has a default (from the map's signature)."""
    node = _signature(repo_map, function)
    if node is None:
        return False
    positional = node.args.posonlyargs + node.args.args
    required = len(positional) - len(node.args.defaults)
    keyword_required = sum(default is None for default in node.args.kw_defaults)
    return required <= 0 and keyword_required == 0
