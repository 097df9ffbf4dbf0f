"""The map on shapes of real repositories (issue: the right training script, the right model, the
right roles). Each fixture reproduces one shape seen in a real repository; the answers are exact."""

from __future__ import annotations

from helpers import analysis_of


def top_level(name: str) -> list[tuple[str, str]]:
    return [(m.qualname, m.top_level_reason) for m in analysis_of(name).repo_map.ranked_top_level()]


def test_the_optimizer_names_the_trained_model() -> None:
    """MAE-style `param_groups(model_without_ddp)` then `AdamW(param_groups)`; a GAN's two optimizers,
    one over `itertools.chain(...)`. A loss and a post-processor built beside them are not top-level."""
    assert top_level("optimizer_trains") == [
        ("models.Encoder", "trained by the first-ranked entry point (its parameters go to AdamW at main_pretrain.py:19)"),
        ("gan.Generator", "trained by a training entry point (its parameters go to Adam at gan.py:37)"),
        ("gan.Mapping", "trained by a training entry point (its parameters go to Adam at gan.py:37)"),
        ("gan.Discriminator", "trained by a training entry point (its parameters go to Adam at gan.py:38)"),
    ]
    repo_map = analysis_of("optimizer_trains").repo_map
    assert [m.qualname for m in repo_map.models][:4] == [name for name, _ in top_level("optimizer_trains")]
    assert {m.qualname for m in repo_map.models if not m.top_level} == {"losses.SmoothedLoss", "models.PostProcess",
                                                                         "models.Block"}


def test_a_helper_that_builds_the_class_it_is_given() -> None:
    """`vit_tiny()` returns `build_with_cfg(ViT, **kw)`, re-exported by `models/__init__.py` and called
    through `models.__dict__[args.model]`; the optimizer is a repo subclass of `torch.optim.Optimizer`."""
    assert top_level("roles_real") == [
        ("models.vit.ViT", "trained by the first-ranked entry point (its parameters go to LARS at main_pretrain.py:23)")]
    vit = next(m for m in analysis_of("roles_real").repo_map.models if m.qualname == "models.vit.ViT")
    assert vit.factories == ("vit_tiny",)
    assert [(s.path, s.line, s.caller) for s in vit.constructed_at] == [("models/vit.py", 18, "models.vit.vit_tiny")]


def test_a_library_ranks_the_class_most_factories_build_first() -> None:
    """No entry point builds a model (timm): the class with the most registered variants comes first,
    ahead of a network with more layers; the blocks they contain are not top-level."""
    assert top_level("library_registry") == [
        ("zoo.models.vit.VisionNet", "contained by no other model; 3 factory functions build it "
                                     "(vision_net_base, vision_net_small, ...)"),
        ("zoo.models.mixer.MixerNet", "contained by no other model; 1 factory function builds it (mixer_small)"),
    ]
