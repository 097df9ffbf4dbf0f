"""Factory functions as a way to build a model: `--model vit_small_patch16_224` names a registered
factory of timm's VisionTransformer, and a class whose constructor needs arguments no construction
site gives (`Sam(image_encoder, prompt_encoder, mask_decoder)`) is built by the factory the map
found for it (`build_sam_vit_b()`), with its defaults. Parent side, standard library only.
"""

from __future__ import annotations

from repo_reader.model import ModelInfo, RepoMap


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


def default_builder(model: ModelInfo, given: set[str], repo_map: RepoMap) -> str:
    """The first factory that needs no arguments, when the constructor has required parameters the
    arguments do not give."""
    required = [p.partition("=")[0].partition(":")[0].strip() for p in model.init_params
                if "=" not in p and not p.startswith("*")]
    if not [name for name in required if name not in given]:
        return ""
    return next((factory for factory in model.factories if takes_no_arguments(repo_map, factory)), "")


def as_factory(builder: str) -> str:
    """`segment_anything.build_sam.build_sam_vit_b` → `segment_anything.build_sam:build_sam_vit_b` (the child's form)."""
    module, _, function = builder.rpartition(".")
    return f"{module}:{function}"


def takes_no_arguments(repo_map: RepoMap, function: str) -> bool:
    """Whether the factory can be called bare: every parameter has a default (from the map's signature)."""
    import ast

    definition = next((d for d in repo_map.definitions if d.qualname == function), None)
    if definition is None:
        return False
    try:
        node = ast.parse(f"{definition.signature}: pass").body[0]
    except SyntaxError:
        return False
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    positional = node.args.posonlyargs + node.args.args
    required = len(positional) - len(node.args.defaults)
    keyword_required = sum(default is None for default in node.args.kw_defaults)
    return required <= 0 and keyword_required == 0
