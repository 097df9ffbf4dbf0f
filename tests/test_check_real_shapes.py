"""`check` on the shapes real code takes (issue 14): each fault planted in `fixtures/check_real` is
found at the line a fixer edits, its repaired twin (built here by applying the fixes) is silent, findings carry a confidence (low ones
hidden unless asked for), a second check comes from the cache, and a loop's verdict does not depend on
what else the file or the repository holds."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from repo_reader.cli import app
from repo_reader.lint import run as lint_run
from repo_reader.lint.run import check_repository
from repo_reader.model import LOW_CONFIDENCE
from repo_reader.render.check_text import render_check_text

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PLANTED = re.compile(r"#\s*planted:\s*((?:RR\d{3}\s*)+)")
runner = CliRunner()


def planted(root: Path) -> set[tuple[str, int, str]]:
    found = set()
    for file in sorted(root.rglob("*.py")):
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
            if match := PLANTED.search(line):
                found |= {(file.relative_to(root).as_posix(), number, code) for code in match.group(1).split()}
    return found


def test_every_real_shape_is_found_at_its_line() -> None:
    report = check_repository(FIXTURES / "check_real", use_cache=False, show_all=True)
    assert {(f.path, f.line, f.code) for f in report.findings} == planted(FIXTURES / "check_real")
    assert len(planted(FIXTURES / "check_real")) == 7


FIXES = {  # what a fixer writes at each planted line: the repaired twin of the fixture
    "models.py": [("self.blocks = []", "self.blocks = nn.ModuleList()"), ("___init___", "__init__")],
    "test.py": [("for images, labels in loader:\n    outputs = net(images)\n    correct += (outputs.argmax(1) == labels)",
                 "with torch.no_grad():\n    for images, labels in loader:\n        outputs = net(images)\n"
                 "        correct += (outputs.argmax(1) == labels)")],
    "fid.py": [("InceptionV3([3]).to(device)", "InceptionV3([3]).to(device).eval()")],
    "train.py": [("shuffle = True", "shuffle = sampler is None"),
                 ("loss.backward()", "(loss / accumulate_every).backward()"),  # the loss is logged before it
                 ("outputs.append(output)", "outputs.append({name: value.detach() for name, value in output.items()})")],
}


def test_the_repaired_twin_is_silent_even_with_all(tmp_path: Path) -> None:
    root = tmp_path / "check_real_fixed"
    shutil.copytree(FIXTURES / "check_real", root)
    for name, edits in FIXES.items():
        text = re.sub(r"  # planted: RR\d+", "", (root / name).read_text(encoding="utf-8"))
        for before, after in edits:
            assert before in text, (name, before)
            text = text.replace(before, after)
        (root / name).write_text(text, encoding="utf-8")
    report = check_repository(root, use_cache=False, show_all=True)
    assert report.files_checked == 5
    assert [f"{f.path}:{f.line} {f.code}" for f in report.findings] == []


def test_low_confidence_findings_are_hidden_unless_all(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "model.py").write_text(  # items of unknown type, used as layers: 70; below the cut: none here
        "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self, make, n):\n        super().__init__()\n"
        "        self.layers = []\n        for _ in range(n):\n            self.layers.append(make())\n"
        "    def forward(self, x):\n        for layer in self.layers:\n            x = layer(x)\n        return x\n")
    shown = check_repository(root, use_cache=False)
    assert [(f.line, f.code, f.confidence) for f in shown.findings] == [(5, "RR101", 70)] and shown.hidden == 0
    original = lint_run.LOW_CONFIDENCE
    try:  # the cut applies to whatever falls below it, and --all brings it back
        lint_run.LOW_CONFIDENCE = 71
        hidden = check_repository(root, use_cache=False)
        assert hidden.findings == () and hidden.hidden == 1
        assert render_check_text(hidden).splitlines()[-1] == "1 low-confidence finding hidden (--all shows it)."
        assert len(check_repository(root, use_cache=False, show_all=True).findings) == 1
    finally:
        lint_run.LOW_CONFIDENCE = original
    assert LOW_CONFIDENCE == original == 50


def test_confidence_is_in_json_and_sarif() -> None:
    result = runner.invoke(app, ["check", str(FIXTURES / "check_real"), "--no-cache", "--format", "json"])
    data = json.loads(result.stdout)
    assert result.exit_code == 1 and data["schema_version"] == 2 and data["summary"]["hidden"] == 0
    assert {f["code"]: f["confidence"] for f in data["findings"]}["RR301"] == 80  # raises only when distributed
    sarif = json.loads(runner.invoke(app, ["check", str(FIXTURES / "check_real"), "--no-cache", "-f", "sarif"]).stdout)
    results = sarif["runs"][0]["results"]
    assert all(r["rank"] == r["properties"]["confidence"] and 0 <= r["rank"] <= 100 for r in results)


def test_a_second_check_comes_from_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / "check_real", root)
    first = check_repository(root)
    monkeypatch.setattr(lint_run, "lint_modules", lambda *args: pytest.fail("a warm check re-ran the rules"))
    again = check_repository(root)
    assert again.findings == first.findings and len(again.findings) == 7
    (root / "models.py").write_text((root / "models.py").read_text().replace("self.blocks = []", "self.blocks = [] "))
    monkeypatch.undo()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert len(check_repository(root).findings) == 7  # an edit is a miss: checked again


HELPERS = ("def apply(loss):\n    loss.backward()\n\n\ndef update(loss):\n    apply(loss)\n\n\n"
           "def step(model, x):\n    update(model(x).sum())\n\n\n")
EARLIER = "def warmup(model, batches):\n    for x in batches:\n        outer(model, x)\n\n\n" \
          "def outer(model, x):\n    step(model, x)\n\n\n"
LOOP = "def fit(model, loader):\n    for x in loader:\n        update(model(x).sum())\n        model.eval()\n"


@pytest.mark.parametrize("earlier", ["", EARLIER])
def test_a_loop_verdict_does_not_depend_on_the_rest_of_the_file(tmp_path: Path, earlier: str) -> None:
    """The same loop (backward two calls down, then eval mode), with and without another function that
    reaches the same helpers through a longer chain first: found (RR203) in both. A memo keyed by the
    function alone kept the shallow answer of the longer chain, and the loop was missed in one."""
    (tmp_path / "train.py").write_text(HELPERS + earlier + LOOP)
    report = check_repository(tmp_path, ["RR203"], use_cache=False)
    line = (HELPERS + earlier + LOOP).splitlines().index("        model.eval()") + 1
    assert {(f.path, f.line, f.code) for f in report.findings} == {("train.py", line, "RR203")}
