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
