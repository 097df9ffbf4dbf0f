"""`check --dynamic` on the dynamic fixtures: every planted fault the model shows when run is found at
the model's definition (or, for the loss, at the training loop's loss line), and the clean twin stays
silent. Runs the fixture's code in a child process; the overfitting test also runs in-process."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

torch = pytest.importorskip("torch")

from repo_reader.cli import app  # noqa: E402
from repo_reader.lint.registry import all_rules, dynamic_rules  # noqa: E402
from repo_reader.trace.api import load_map  # noqa: E402
from repo_reader.trace.health_api import run_health_checks  # noqa: E402
from repo_reader.trace.health_checks import FIXED_SAMPLES, Batch, Health  # noqa: E402
from repo_reader.trace.loss_slice import find_loss_slice  # noqa: E402
from repo_reader.trace.targets import select_models  # noqa: E402

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SCHEMA = Path(__file__).resolve().parent / "snapshots" / "check" / "sarif-schema-2.1.0.json"
runner = CliRunner()


@pytest.fixture(scope="module")
def faults():  # type: ignore[no-untyped-def]
    return run_health_checks(FIXTURES / "dynamic_faults")


def test_planted_dynamic_faults_are_found(faults) -> None:  # type: ignore[no-untyped-def]
    findings, warnings = faults
    assert warnings == ()
    found = {(f.path, f.line, f.code) for f in findings}
    assert ("model.py", 19, "RR151") in found  # head_v1: registered, never runs
    assert ("model.py", 35, "RR152") in found  # LayerNorm built in forward, runs unregistered
    assert ("model.py", 13, "RR153") in found  # `scale` behind .detach() gets no gradient
    assert ("model.py", 13, "RR251") in found  # F.dropout(training=True) after eval()
    assert ("model.py", 13, "RR451") in found  # out.weight * 100: initial loss far from ln(10)
    assert ("model.py", 17, "RR453") in found and ("model.py", 20, "RR453") in found  # fc2 std 1.0, out x100
    assert ("train.py", 48, "RR452") in found  # ce + 1000 * mean(logits²)
    assert all(f.source == "dynamic" and "input" in f.detail for f in findings)
    scale = next(f for f in findings if f.code == "RR453" and f.line == 17)
    assert "fan-in 256" in scale.message


def test_loss_terms_are_measured_on_the_loss_line(faults) -> None:  # type: ignore[no-untyped-def]
    loss = next(f for f in faults[0] if f.code == "RR452")
    assert (loss.path, loss.line, loss.col, loss.name) == ("train.py", 48, 13, "loss-term-scales")
    assert loss.message.startswith("the loss `ce + penalty` adds terms whose scales differ by ")
    assert "`ce` ≈ " in loss.message and "`penalty` ≈ " in loss.message
    assert "batch of 8 (targets: class indices in [0, 10))" in loss.detail
    assert "`args` from the entry point's defaults" in loss.detail and loss.detail.endswith("input 8x32:float32")


def test_initial_loss_uses_eight_fixed_samples(faults) -> None:  # type: ignore[no-untyped-def]
    initial = next(f for f in faults[0] if f.code == "RR451")
    assert "on 8 samples" in initial.detail and initial.detail.endswith("input 8x32:float32")


def test_loss_slice_is_the_loop_body_up_to_the_loss() -> None:
    root = FIXTURES / "dynamic_faults"
    repo_map = load_map(root)
    found = find_loss_slice(select_models(repo_map, ())[0], repo_map, root)
    assert found is not None
    assert (found.path, found.line, found.col, found.terms) == ("train.py", 48, 13, ("ce", "penalty"))
    assert found.body == ("logits = model(x)", "ce = criterion(logits, y)",
                          "penalty = args.logit_penalty * logits.pow(2).mean()")
    assert found.setup == ("criterion = nn.CrossEntropyLoss()",)
    assert (found.batch, found.model_inputs, found.models, found.namespaces) == (("x", "y"), ("x",), ("model",),
                                                                                ("args",))
    clean = FIXTURES / "dynamic_clean"
    clean_map = load_map(clean)
    assert find_loss_slice(select_models(clean_map, ())[0], clean_map, clean) is None  # one term: nothing to compare


BALANCED_MODEL = """import torch.nn as nn


class Net(nn.Module):
    def __init__(self, width: int = 16) -> None:
        super().__init__()
        self.fc = nn.Linear(width, 4)

    def forward(self, x):
        return self.fc(x)
"""

BALANCED_TRAIN = """import argparse

import torch
from torch import nn

from net import Net


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--aux-weight", type=float, default=0.5)
    args = parser.parse_args()
    model = Net(width=args.width)
    criterion = nn.CrossEntropyLoss()
    scaler = torch.amp.GradScaler("cpu")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loader = []
    for step, (inputs, labels) in enumerate(loader):
        out = model(inputs)
        loss = criterion(out, labels)
        loss += args.aux_weight * out.pow(2).mean()
        optimizer.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(optimizer)


if __name__ == "__main__":
    main()
"""


def test_balanced_terms_added_in_place_are_measured_and_silent(tmp_path: Path) -> None:
    (tmp_path / "net.py").write_text(BALANCED_MODEL)
    (tmp_path / "train.py").write_text(BALANCED_TRAIN)
    repo_map = load_map(tmp_path, use_cache=False)
    found = find_loss_slice(select_models(repo_map, ())[0], repo_map, tmp_path)
    assert found is not None and (found.path, found.line, found.col) == ("train.py", 22, 9)
    assert found.expression == "loss + args.aux_weight * out.pow(2).mean()"
    assert found.terms == ("loss", "args.aux_weight * out.pow(2).mean()")
    assert found.body == ("out = model(inputs)", "loss = criterion(out, labels)")
    assert (found.batch, found.model_inputs, found.setup) == (("step", "inputs", "labels"), ("inputs",),
                                                              ("criterion = nn.CrossEntropyLoss()",))
    findings, warnings = run_health_checks(tmp_path)
    assert warnings == () and [f.code for f in findings] == []


CALLED_TRAIN = """import argparse

import torch
from torch import nn

from net import Net


def train_one_epoch(model, loader, optimizer, criterion, device, weight):
    model.train()
    for batch in loader:
        images, labels = batch
        images, labels = images.to(device), labels.to(device)
        logits = model(images)
        loss = criterion(logits, labels) + weight * logits.pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--reg", type=float, default=1000.0)
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    net = Net().to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    for epoch in range(3):
        train_one_epoch(net, [], optimizer, criterion, device, weight=args.reg)


if __name__ == "__main__":
    main()
"""


def test_loop_in_a_function_called_with_the_model(tmp_path: Path) -> None:
    (tmp_path / "net.py").write_text(BALANCED_MODEL)
    (tmp_path / "train.py").write_text(CALLED_TRAIN)
    repo_map = load_map(tmp_path, use_cache=False)
    found = find_loss_slice(select_models(repo_map, ())[0], repo_map, tmp_path)
    assert found is not None and (found.line, found.col) == (15, 9)
    assert found.terms == ("criterion(logits, labels)", "weight * logits.pow(2).mean()")
    assert found.setup == ("device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')",
                           "criterion = nn.CrossEntropyLoss()", "criterion = criterion", "device = device",
                           "weight = args.reg")
    assert (found.batch, found.model_inputs, found.models, found.namespaces) == (
        ("images", "labels"), ("images",), ("model", "net"), ("args",))
    findings, warnings = run_health_checks(tmp_path)
    assert warnings == () and [(f.path, f.line, f.code) for f in findings] == [("train.py", 15, "RR452")]
    assert "`weight * logits.pow(2).mean()` ≈ " in findings[0].message


def test_noqa_silences_a_dynamic_finding_on_its_line(tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    shutil.copytree(FIXTURES / "dynamic_faults", copy)
    train = copy / "train.py"
    lines = train.read_text().splitlines()
    lines[47] += "  # noqa: RR452"
    train.write_text("\n".join(lines) + "\n")
    findings, _ = run_health_checks(copy)
    assert "RR452" not in {f.code for f in findings} and ("model.py", 13, "RR451") in {
        (f.path, f.line, f.code) for f in findings}


def test_clean_twin_is_silent() -> None:
    findings, warnings = run_health_checks(FIXTURES / "dynamic_clean")
    assert warnings == () and findings == ()


class _ConstantClassifier(torch.nn.Module):
    """Logits that ignore the input: no setting of the bias fits 8 different random labels."""

    def __init__(self) -> None:
        super().__init__()
        self.bias = torch.nn.Parameter(torch.zeros(10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bias.expand(x.shape[0], 10)


def _health(model: torch.nn.Module) -> Health:
    samples = torch.randn(FIXED_SAMPLES, 32)
    return Health(model, lambda: model(samples[:2]), FIXTURES, lambda _: ("model.py", 1, 1), "2x32:float32",
                  Batch([samples], {}, "8x32:float32"))


def test_a_model_that_cannot_overfit_is_reported() -> None:
    torch.manual_seed(0)
    found = _health(_ConstantClassifier()).all()
    stuck = [f for f in found if f["code"] == "RR455"]
    assert len(stuck) == 1 and stuck[0]["message"].startswith("the model cannot overfit 8 fixed samples")
    assert "at best after 100 Adam steps at lr 0.01 and 0.001" in stuck[0]["message"] and stuck[0]["detail"].endswith("input 8x32:float32")


def test_a_model_too_slow_to_overfit_in_time_is_not_judged(monkeypatch: pytest.MonkeyPatch) -> None:
    from repo_reader.trace import health_checks

    monkeypatch.setattr(health_checks, "OVERFIT_BUDGET_S", 0.0)  # every model is "too slow"
    torch.manual_seed(0)
    model = _ConstantClassifier()
    before = [p.detach().clone() for p in model.parameters()]
    health = _health(model)
    assert [f["code"] for f in health.all() if f["code"] == "RR455"] == []  # no verdict without the steps
    assert health.not_judged == ["RR455 not judged: 0 Adam steps at lr 0.01 took over 0 s on CPU without "
                                 "reaching the target"]
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_a_model_that_can_overfit_stops_early_and_is_restored() -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    before = [p.detach().clone() for p in model.parameters()]
    assert [f["code"] for f in _health(model).all()] == []
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_dynamic_checks_explain_themselves_like_rules() -> None:
    for check in dynamic_rules():
        text = check.explanation()
        for section in ("## What it does", "## Why is this bad", "## Example", "## Use instead"):
            assert section in text, (check.code, section)
    codes = [check.code for check in dynamic_rules()]
    assert codes == ["RR151", "RR152", "RR153", "RR251", "RR451", "RR452", "RR453", "RR454", "RR455"]
    assert not set(codes) & {rule.code for rule in all_rules()}
    assert not {check.name for check in dynamic_rules()} & {rule.name for rule in all_rules()}
    result = runner.invoke(app, ["check", "--explain", "RR452"])
    assert result.exit_code == 0 and result.stdout.startswith("RR452 (loss-term-scales) — severity: warning")
    assert "more than 100 times larger" in result.stdout


def test_dynamic_sarif_carries_rule_metadata_and_honours_select() -> None:
    result = runner.invoke(app, ["check", str(FIXTURES / "dynamic_faults"), "--dynamic", "--select", "RR452,RR455",
                                 "--format", "sarif", "--no-cache"])
    assert result.exit_code == 1, result.stderr
    sarif = json.loads(result.stdout)
    jsonschema.validate(sarif, json.loads(SCHEMA.read_text(encoding="utf-8")), cls=jsonschema.Draft4Validator)
    run = sarif["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == ["RR452", "RR455"]
    assert "## Why is this bad" in rules[0]["help"]["markdown"] and rules[0]["name"] == "loss-term-scales"
    [finding] = run["results"]
    assert finding["ruleId"] == "RR452" and rules[finding["ruleIndex"]]["id"] == "RR452"
    assert finding["locations"][0]["physicalLocation"]["region"] == {"startLine": 48, "startColumn": 13}
    assert finding["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "train.py"


FACTORY_MODEL = '''import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, num_classes=10, width=8):
        super().__init__()
        self.conv = nn.Conv2d(3, width, 3, padding=1)
        self.fc = nn.Linear(width * 8 * 8, num_classes)

    @classmethod
    def from_pretrained(cls, name, **kwargs):
        model = cls(**kwargs)
        model.load_state_dict(torch.hub.load_state_dict_from_url(f"https://example.invalid/{name}.pth"))
        return model

    def forward(self, x):
        return self.fc(nn.functional.adaptive_avg_pool2d(torch.relu(self.conv(x)), 8).flatten(1))
'''

FACTORY_TRAIN = '''import torch
from net import Net

model = Net.from_pretrained("tiny-cifar", num_classes=10)
optimizer = torch.optim.Adam(model.parameters())
'''


def test_a_model_built_by_its_from_pretrained_factory_is_checked(tmp_path: Path) -> None:
    (tmp_path / "net.py").write_text(FACTORY_MODEL)
    (tmp_path / "train.py").write_text(FACTORY_TRAIN)
    findings, warnings = run_health_checks(tmp_path)
    assert warnings == () and findings == ()  # built as the repo builds it: Net(num_classes=10), random weights
