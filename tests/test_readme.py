"""README.md's example is real output: the map of the bundled example, byte for byte."""

from __future__ import annotations

import os
import re
from pathlib import Path

from typer.testing import CliRunner

from repo_reader.cli import app

ROOT = Path(__file__).resolve().parent.parent


def test_the_readme_example_is_what_map_prints() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = re.search(r"`repo-reader map fixtures/flat_scripts`.*?```text\n(.*?)```", readme, re.DOTALL)
    assert shown is not None
    previous = os.getcwd()
    os.chdir(ROOT)
    try:
        result = CliRunner().invoke(app, ["map", "fixtures/flat_scripts", "--no-cache"], env={"COLUMNS": "100"})
    finally:
        os.chdir(previous)
    assert result.exit_code == 0
    assert result.output == shown.group(1)
