"""The CLI: bad input gives one line and exit 2; static commands run nothing and write nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import FIXTURES
from typer.testing import CliRunner

from repo_reader.cli import app

runner = CliRunner()


def test_missing_path(tmp_path: Path) -> None:
    result = runner.invoke(app, ["map", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"repo-reader: error: {tmp_path / 'nope'}: no such file or directory"


def test_file_instead_of_folder() -> None:
    result = runner.invoke(app, ["map", str(FIXTURES / "flat_scripts" / "train.py")])
    assert result.exit_code == 2 and "not a folder" in result.stderr and "Traceback" not in result.stderr


def test_empty_folder(tmp_path: Path) -> None:
    result = runner.invoke(app, ["map", str(tmp_path)])
    assert result.exit_code == 2 and "no Python files or notebooks found" in result.stderr


def test_unreadable_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # CI runs as root, which reads anything: simulate the permission check failing.
    monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)
    result = runner.invoke(app, ["map", str(tmp_path)])
    assert result.exit_code == 2 and "folder not readable" in result.stderr


def test_bad_option_is_a_usage_error() -> None:
    result = runner.invoke(app, ["map", str(FIXTURES / "flat_scripts"), "--format", "yaml"])
    assert result.exit_code == 2


def test_output_file_is_not_overwritten_without_force(tmp_path: Path) -> None:
    target = tmp_path / "map.json"
    target.write_text("mine")
    result = runner.invoke(app, ["map", str(FIXTURES / "flat_scripts"), "-f", "json", "-o", str(target)])
    assert result.exit_code == 2 and target.read_text() == "mine"
    result = runner.invoke(app, ["map", str(FIXTURES / "flat_scripts"), "-f", "json", "-o", str(target), "--force"])
    assert result.exit_code == 0 and target.read_text().startswith("{")


def _tree(root: Path) -> dict[str, float]:
    return {str(p): p.lstat().st_mtime for p in root.rglob("*") if "loop" not in p.parts}


def test_map_never_executes_or_writes_into_the_repository(tmp_path: Path) -> None:
    """messy/side_effect.py writes a file when imported; mapping must not import it."""
    before = _tree(FIXTURES / "messy")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-m", "repo_reader", "map", str(FIXTURES / "messy")],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert not (FIXTURES / "messy" / "SIDE_EFFECT_WAS_RUN").exists()
    assert _tree(FIXTURES / "messy") == before
    assert list((tmp_path / "cache" / "repo-reader").iterdir())  # the cache lives outside the repo


def test_static_commands_do_not_import_torch(tmp_path: Path) -> None:
    code = ("import sys\nfrom typer.testing import CliRunner\nfrom repo_reader.cli import app\n"
            f"r = CliRunner().invoke(app, ['map', {str(FIXTURES / 'gpt_project')!r}, '-f', 'json'])\n"
            "assert r.exit_code == 0, r.output\nprint('torch' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "XDG_CACHE_HOME": str(tmp_path)})
    assert done.stdout.strip() == "False", done.stderr


def test_python_dash_m_and_help() -> None:
    done = subprocess.run([sys.executable, "-m", "repo_reader", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "map" in done.stdout and "calls" in done.stdout
