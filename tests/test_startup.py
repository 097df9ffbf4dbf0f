"""Start-up is a feature: `--help` and a map from a warm cache load none of the heavy libraries, and
`--version`, `-h` work. (The times themselves are measured by benchmarks/bench_startup.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import FIXTURES
from typer.testing import CliRunner

from repo_reader import __version__
from repo_reader.cli import app

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("libcst", "networkx", "pygments", "torch", "markdown_it", "yaml")
# the analysis itself: a map from the cache needs none of it
ANALYSIS = ("repo_reader.passes", "repo_reader.index", "repo_reader.lint", "repo_reader.navigate", "repo_reader.trace",
            "repo_reader.scan.collect", "multiprocessing", "rich._emoji_codes")

LOADED = """
import json, sys
sys.argv = ["repo-reader", *json.loads(sys.argv[1])]
from repo_reader.cli import main
try:
    main()
except SystemExit as stop:
    code = stop.code
print("\\nMODULES=" + json.dumps(sorted(sys.modules)) + "\\nCODE=" + json.dumps(code), file=sys.stderr)
"""


def loaded_modules(args: list[str], cache: Path) -> tuple[int, list[str]]:
    """Run the CLI in a fresh interpreter; its exit code and the modules it had imported."""
    done = subprocess.run([sys.executable, "-c", LOADED, json.dumps(args)], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env={**os.environ, "XDG_CACHE_HOME": str(cache)})
    lines = dict(line.split("=", 1) for line in done.stderr.splitlines() if line.startswith(("MODULES=", "CODE=")))
    return json.loads(lines["CODE"]) or 0, json.loads(lines["MODULES"])


def heavy_in(modules: list[str], prefixes: tuple[str, ...]) -> list[str]:
    return [name for name in modules if name.split(".")[0] in prefixes or name.startswith(prefixes)]


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["--version"], ["map", "--help"], ["trace", "-h"],
                                  ["check", "--help"]])
def test_help_loads_no_heavy_library(args: list[str], tmp_path: Path) -> None:
    code, modules = loaded_modules(args, tmp_path)
    assert code == 0
    typers_own = ("pydantic",) if args[0].startswith("-") else ()  # typer checks a command's options with it
    assert heavy_in(modules, HEAVY + ANALYSIS + ("rich",) + typers_own) == []


@pytest.mark.parametrize("output_format", ["rich", "json", "markdown"])
def test_map_from_a_warm_cache_loads_no_analysis(output_format: str, tmp_path: Path) -> None:
    args = ["map", str(FIXTURES / "flat_scripts"), "-f", output_format]
    assert loaded_modules(args, tmp_path)[0] == 0  # cold: fills the cache
    code, modules = loaded_modules(args, tmp_path)
    assert code == 0
    assert heavy_in(modules, HEAVY + ANALYSIS) == []
    if output_format == "json":
        assert "rich.console" not in modules


def test_check_imports_libcst_only_to_fix(tmp_path: Path) -> None:
    code, modules = loaded_modules(["check", str(FIXTURES / "flat_scripts")], tmp_path)
    assert code == 1 and "repo_reader.lint.rules" in modules  # it found something, so the rules ran
    assert heavy_in(modules, ("libcst", "torch", "pygments")) == []
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "train.py").write_text("import torch\n")
    code, modules = loaded_modules(["check", str(repo), "--fix"], tmp_path)
    assert code == 0 and "libcst" in modules


def test_a_cold_map_does_the_analysis(tmp_path: Path) -> None:
    """The check above can fail: without a cache the passes and networkx are loaded."""
    code, modules = loaded_modules(["map", str(FIXTURES / "flat_scripts"), "--no-cache"], tmp_path)
    assert code == 0 and "networkx" in modules and "repo_reader.passes.callgraph" in modules


def test_version_and_short_help() -> None:
    runner = CliRunner()
    version = runner.invoke(app, ["--version"])
    assert version.exit_code == 0 and version.stdout == f"repo-reader {__version__}\n"
    assert runner.invoke(app, ["-V"]).stdout == version.stdout
    short, long = runner.invoke(app, ["-h"]), runner.invoke(app, ["--help"])
    assert short.exit_code == long.exit_code == 0 and short.stdout == long.stdout
    assert "Usage: repo-reader [OPTIONS] COMMAND" in short.stdout and "  map " in short.stdout
    for command in ("map", "trace", "check", "tour", "goto"):
        result = runner.invoke(app, [command, "-h"])
        assert result.exit_code == 0 and result.stdout.startswith(f"Usage: repo-reader {command} "), command


def test_version_is_the_package_version() -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert f'version = "{__version__}"' in text


def test_defaults_written_in_the_cli_match_the_modules_it_does_not_import() -> None:
    """The option defaults live where the work is done; the CLI repeats two of them so that --help
    need not import networkx or the trace targets."""
    from repo_reader.cli.navigate_command import DEFAULT_MAX_STOPS
    from repo_reader.cli.trace_command import DEFAULT_MAX_MODELS
    from repo_reader.navigate.tour import DEFAULT_MAX_STOPS as tour_default
    from repo_reader.trace.targets import DEFAULT_MAX_MODELS as targets_default

    assert (DEFAULT_MAX_STOPS, DEFAULT_MAX_MODELS) == (tour_default, targets_default)


def test_bench_startup_prints_its_targets() -> None:
    done = subprocess.run([sys.executable, "benchmarks/bench_startup.py", "--repeat", "1"], capture_output=True,
                          text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[1].startswith("python -c pass") and " 1.0x" in lines[1]
    assert any(line.startswith("repo-reader --help ") for line in lines)
    assert [line.split(":")[0] for line in lines[-2:]] in (
        [f"target {a}", f"target {b}"] for a in ("met", "MISSED") for b in ("met", "MISSED"))


def test_emoji_codes_in_names_are_shown_as_they_are(tmp_path: Path) -> None:
    """The console does not replace `:fire:` (so rich's emoji table is never loaded, and a location
    stays the file's real name)."""
    (tmp_path / ":fire:.py").write_text("import torch\n\n\nclass Net(torch.nn.Module):\n    pass\n")
    result = CliRunner().invoke(app, ["map", str(tmp_path), "--no-cache"])
    assert result.exit_code == 0
    assert f"{tmp_path.name}/:fire:.py:4:1" in result.stdout.replace("\\", "/") and "\U0001f525" not in result.stdout
