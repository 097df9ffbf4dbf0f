"""`check --dynamic` on the dynamic fixtures: every planted fault the model shows when run is found at
the model's definition, and the clean twin stays silent. Runs the fixture's code in a child process."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")

from repo_reader.trace.health_api import run_health_checks  # noqa: E402

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def test_planted_dynamic_faults_are_found() -> None:
    findings, warnings = run_health_checks(FIXTURES / "dynamic_faults")
    assert warnings == ()
    found = {(f.path, f.line, f.code) for f in findings}
    assert ("model.py", 19, "RR151") in found  # head_v1: registered, never runs
    assert ("model.py", 35, "RR152") in found  # LayerNorm built in forward, runs unregistered
    assert ("model.py", 13, "RR153") in found  # `scale` behind .detach() gets no gradient
    assert ("model.py", 13, "RR251") in found  # F.dropout(training=True) after eval()
    assert ("model.py", 13, "RR451") in found  # out.weight * 100: initial loss far from ln(10)
    assert ("model.py", 17, "RR453") in found and ("model.py", 20, "RR453") in found  # fc2 std 1.0, out x100
    assert all(f.source == "dynamic" and "input" in f.detail for f in findings)
    scale = next(f for f in findings if f.code == "RR453" and f.line == 17)
    assert "fan-in 256" in scale.message


def test_clean_twin_is_silent() -> None:
    findings, warnings = run_health_checks(FIXTURES / "dynamic_clean")
    assert warnings == () and findings == ()
