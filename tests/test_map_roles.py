"""Point 4: every file's role, from its name and its syntax; syntax wins and says why."""

from __future__ import annotations

import pytest
from helpers import analysis_of

from repo_reader.model import Role

EXPECTED = {
    "flat_scripts": {"train.py": Role.TRAIN, "test.py": Role.EVAL, "model.py": Role.MODEL,
                     "dataset.py": Role.DATALOADER, "utils.py": Role.UTILS},
    "package_layout": {"src/autoenc/engine/trainer.py": Role.TRAIN, "src/autoenc/models/encoder.py": Role.MODEL,
                       "src/autoenc/data/__init__.py": Role.DATALOADER, "tests/test_models.py": Role.TEST,
                       "src/autoenc/utils/logging.py": Role.UTILS},
    "lightning_project": {"main.py": Role.TRAIN, "model.py": Role.MODEL, "datamodule.py": Role.DATALOADER},
    "registry_config": {"tools/train.py": Role.TRAIN, "tools/eval.py": Role.EVAL,
                        "seg/models/vit_tiny.py": Role.MODEL, "seg/data/noise.py": Role.DATALOADER},
    "gpt_project": {"train.py": Role.TRAIN, "model.py": Role.MODEL, "configurator.py": Role.CONFIG,
                    "sample.py": Role.EVAL},
    "messy": {"test.py": Role.TRAIN, "net.py": Role.MODEL, "data/loader.py": Role.DATALOADER,
              "exploration.ipynb": Role.TRAIN},
}


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_roles(fixture: str) -> None:
    roles = {f.path: f.role for f in analysis_of(fixture).repo_map.files}
    for path, role in EXPECTED[fixture].items():
        assert roles[path] == role, path


def test_a_test_py_that_trains_is_a_train_file_and_the_evidence_says_why() -> None:
    info = next(f for f in analysis_of("messy").repo_map.files if f.path == "test.py")
    reasons = [e.reason for e in info.evidence]
    assert any(r.startswith("training loop: backward() at line 18") for r in reasons)
    assert any("named like a eval file, but its syntax says train" in r for r in reasons)


def test_every_file_has_a_confidence_and_evidence() -> None:
    for fixture in EXPECTED:
        for info in analysis_of(fixture).repo_map.files:
            assert 0 < info.confidence <= 100 and info.evidence


TORCH_UTILS = '''import torch
from torch import nn


def fuse_model(model: nn.Module) -> nn.Module:
    model.eval()
    with torch.no_grad():
        for module in model.modules():
            module.fused = torch.cuda.is_bf16_supported()
    return model
'''
SCORES = '''import torch
from sklearn.metrics import f1_score


def evaluate(model, loader):
    model.eval()
    with torch.no_grad():
        for images, labels in loader:
            print(f1_score(labels, model(images).argmax(1)))
'''


def test_a_helper_library_that_sets_eval_mode_is_utils_and_bf16_is_no_metric(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`torch_utils.py` calls `model.eval()` under no_grad in a loop (fusing layers): its name says what it is,
    and `is_bf16_supported` is no F1 metric; an evaluation loop with a metric stays eval."""
    from repo_reader.api import analyse

    (tmp_path / "torch_utils.py").write_text(TORCH_UTILS)
    (tmp_path / "scores.py").write_text(SCORES)
    roles = {info.path: info.role for info in analyse(tmp_path, use_cache=False).repo_map.files}
    assert roles == {"torch_utils.py": Role.UTILS, "scores.py": Role.EVAL}
