"""pytest's warnings summary shows repo-reader's warnings, not those third-party packages raise about
their own dependencies (pydot calling pyparsing's deprecated names): pyproject.toml filters them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_third_party_deprecations_are_filtered_and_ours_are_not(tmp_path: Path) -> None:
    pytest.importorskip("pydot")
    probe = tmp_path / "test_probe.py"
    probe.write_text(
        "import warnings\n\nimport pydot\n\n\n"
        "def test_parse():\n    assert pydot.graph_from_dot_data('digraph g { a -> b; }')\n\n\n"
        "def test_ours():\n    warnings.warn('repo-reader itself', DeprecationWarning)\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-c", str(ROOT / "pyproject.toml"),
                           "--rootdir", str(tmp_path), str(probe)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "pyparsing" not in done.stdout and "setParseAction" not in done.stdout
    assert "repo-reader itself" in done.stdout and "1 warning" in done.stdout  # a warning of ours still shows
