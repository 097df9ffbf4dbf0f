"""Usage errors are one line and exit 2, found before any work: click's own (unknown option, missing
argument, bad choice), the repository's path (one wording for every command), `--output`, `--device
cuda` without CUDA, and `map --trace` with a format that cannot show a trace."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from helpers import FIXTURES
from typer.testing import CliRunner

from repo_reader.cli import app

runner = CliRunner()
FLAT = str(FIXTURES / "flat_scripts")


def one_error_line(result) -> str:  # type: ignore[no-untyped-def]
    """The one line a usage error prints, after checking that it is the only output and exit 2."""
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("repo-reader: error: ")
    return lines[0].removeprefix("repo-reader: error: ")


@pytest.mark.parametrize(("args", "expected"), [
    (["map", FLAT, "--frmat", "json"],
     "map: no such option: --frmat (Possible options: --format, --link-format); see repo-reader map --help"),
    (["map"], "map: missing argument 'path'; see repo-reader map --help"),
    (["map", FLAT, "-f", "yaml"], "map: invalid value for '--format' / '-f': 'yaml' is not one of 'rich', 'json', "
                                  "'markdown', 'html', 'dot', 'mermaid'; see repo-reader map --help"),
    (["callers", FLAT, "train.main", "--depth", "50"],
     "callers: invalid value for '--depth' / '-d': Input should be less than or equal to 10; "
     "see repo-reader callers --help"),
    (["--bogus"], "no such option: --bogus; see repo-reader --help"),
    (["mapp", FLAT], "no such command 'mapp'. Did you mean 'map'?; see repo-reader --help"),
    (["trace", FLAT, "--timeout", "soon"],
     "trace: invalid value for '--timeout': Input should be a valid number, unable to parse string as a number; "
     "see repo-reader trace --help"),
])
def test_click_usage_errors_are_one_line(args: list[str], expected: str) -> None:
    assert one_error_line(runner.invoke(app, args)) == expected


def test_no_arguments_prints_the_help() -> None:
    result = runner.invoke(app, [])
    assert "Usage: repo-reader [OPTIONS] COMMAND" in result.output and "╭" not in result.output


PATH_COMMANDS = [["map"], ["calls"], ["tour"], ["goto", "X"], ["callers", "X"], ["callees", "X"], ["check"],
                 ["trace"]]


def _with_path(command: list[str], path: str) -> list[str]:
    return [command[0], path, *command[1:]]


@pytest.mark.parametrize("command", PATH_COMMANDS, ids=lambda c: c[0])
def test_path_errors_have_one_wording(command: list[str], tmp_path: Path) -> None:
    missing, a_file = tmp_path / "nope", FIXTURES / "flat_scripts" / "train.py"
    assert one_error_line(runner.invoke(app, _with_path(command, str(missing)))) == \
        f"{missing}: no such file or directory"
    assert one_error_line(runner.invoke(app, _with_path(command, str(a_file)))) == \
        f"{a_file}: not a folder (give the repository's root folder)"


OUTPUT_COMMANDS = [["map", FLAT], ["map", FLAT, "-f", "json"], ["map", FLAT, "-f", "dot"], ["map", FLAT, "-f", "html"],
                   ["calls", FLAT], ["tour", FLAT], ["trace", FLAT]]


@pytest.mark.parametrize("command", OUTPUT_COMMANDS, ids=" ".join)
def test_output_errors_come_before_any_work(command: list[str], tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Each refusal is found before the repository is read: the analysis is never called."""
    def no_work(*args: object, **kwargs: object) -> None:
        raise AssertionError("the work started before the --output check")

    monkeypatch.setattr("repo_reader.api.list_sources", no_work)
    existing = tmp_path / "out.txt"
    existing.write_text("mine")
    a_file = tmp_path / "file"
    a_file.write_text("")
    assert one_error_line(runner.invoke(app, [*command, "-o", str(existing)])) == \
        f"{existing} exists; use --force to overwrite it"
    assert one_error_line(runner.invoke(app, [*command, "-o", str(tmp_path)])) == \
        f"{tmp_path}: is a folder (give --output a file name)"
    assert one_error_line(runner.invoke(app, [*command, "-o", str(a_file / "sub" / "out.txt")])) == \
        f"cannot write {a_file / 'sub' / 'out.txt'}: {a_file} is not a folder"
    assert existing.read_text() == "mine" and a_file.read_text() == ""


def test_an_unwritable_output_is_refused_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # CI runs as root, which may write anywhere: the permission check is simulated
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: mode & os.W_OK == 0 and real_access(path, mode))
    target = tmp_path / "new" / "map.json"
    line = one_error_line(runner.invoke(app, ["map", FLAT, "-f", "json", "-o", str(target)]))
    assert line == f"cannot write {target}: permission denied in {tmp_path}"
    existing = tmp_path / "map.json"
    existing.write_text("mine")
    line = one_error_line(runner.invoke(app, ["map", FLAT, "-f", "json", "-o", str(existing), "--force"]))
    assert line == f"cannot write {existing}: permission denied"
    assert not (tmp_path / "new").exists() and existing.read_text() == "mine"


def test_a_missing_output_folder_is_made_when_the_work_is_done(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "map.json"
    result = runner.invoke(app, ["map", FLAT, "-f", "json", "-o", str(target)])
    assert result.exit_code == 0 and target.read_text().startswith("{")


@pytest.mark.parametrize("output_format", ["dot", "mermaid"])
def test_map_trace_with_a_format_that_cannot_show_it(output_format: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("repo_reader.api.list_sources", lambda *a, **k: pytest.fail("the map was built"))
    line = one_error_line(runner.invoke(app, ["map", FLAT, "--trace", "-f", output_format]))
    assert line == (f"map --trace: --format {output_format} cannot show a trace "
                    "(use rich, json, markdown or html)")


@pytest.mark.parametrize(("option", "expected"), [
    (["--input", "2xq"], "--input expects [name=]2x3x224x224[:dtype], got '2xq'"),
    (["--init", "depth"], "--init expects key=value, got 'depth'"),
])
def test_trace_specs_are_checked_before_the_map(option: list[str], expected: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("repo_reader.api.list_sources", lambda *a, **k: pytest.fail("the map was built"))
    assert one_error_line(runner.invoke(app, ["trace", FLAT, *option])) == expected


def test_cuda_without_cuda_is_a_usage_error_with_its_status_word(monkeypatch: pytest.MonkeyPatch) -> None:
    """No NVIDIA device nodes: refused at once, before the map or any child process."""
    monkeypatch.setattr("repo_reader.trace.devices.gpu_nodes", lambda: ())
    monkeypatch.setattr("repo_reader.api.list_sources", lambda *a, **k: pytest.fail("the map was built"))
    started = time.monotonic()
    line = one_error_line(runner.invoke(app, ["trace", FLAT, "--device", "cuda"]))
    assert line == ("no-device: --device cuda, but CUDA is not available here (no NVIDIA device nodes "
                    "(/dev/nvidia*) on this machine); use --device auto, meta, fake or cpu")
    assert time.monotonic() - started < 5


def test_cuda_probe_asks_torch_when_device_nodes_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    """Device nodes but no usable CUDA (a container without the driver): torch says so, in a child
    interpreter (the parent never imports torch)."""
    from repo_reader.trace import devices

    monkeypatch.setattr(devices, "gpu_nodes", lambda: ("/dev/nvidia0",))
    monkeypatch.setattr(devices, "PROBE", "import sys; sys.exit(3)")
    assert devices.cuda_missing() == "torch.cuda.is_available() is False"
    monkeypatch.setattr(devices, "PROBE", "import sys; sys.exit(0)")
    assert devices.cuda_missing() is None
    monkeypatch.setattr(devices, "PROBE", "raise ImportError('no torch')")  # cannot tell: the trace will say
    assert devices.cuda_missing() is None
