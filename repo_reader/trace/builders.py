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


def default_builder(model: ModelInfo, given: set[str]) -> str:
    """The first factory, when the constructor has required parameters the arguments do not give."""
    required = [p.partition("=")[0].partition(":")[0].strip() for p in model.init_params
                if "=" not in p and not p.startswith("*")]
    missing = [name for name in required if name not in given]
    return model.factories[0] if missing and model.factories else ""


def as_factory(builder: str) -> str:
    """`segment_anything.build_sam.build_sam_vit_b` → `segment_anything.build_sam:build_sam_vit_b` (the child's form)."""
    module, _, function = builder.rpartition(".")
    return f"{module}:{function}"
