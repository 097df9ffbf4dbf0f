"""Any input gives a warning, never a traceback, a hang or a read outside the repository: each hostile
mini-repo (tests/hostile_repos.py) through map, tour, check, calls and `map -f html`."""

from __future__ import annotations

import html
import json
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from helpers import reads_recorded, report_strings
from hostile_repos import CASES, OK_PY, SECRET, Case, build_case, deep_folders, remove_deep_folders
from typer.testing import CliRunner

from repo_reader.cli import app
from repo_reader.scan import nesting

COMMANDS = {"map": ["map"], "tour": ["tour"], "check": ["check"], "calls": ["calls"], "html": ["map", "-f", "html"]}
SECONDS_PER_COMMAND = 60  # generous: each takes about a second; a hang or a backtracking blow-up takes forever
runner = CliRunner()


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Interrupt the test (a FIFO opened for reading blocks forever) instead of hanging the suite."""
    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run(command: str, repo: Path) -> tuple[int, str]:
    with deadline(SECONDS_PER_COMMAND):
        result = runner.invoke(app, [*COMMANDS[command], str(repo), "--no-cache"])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    output = (report_strings(result.stdout) if command == "html" else result.stdout) + result.stderr
    assert "Traceback (most recent call last)" not in output
    assert result.exit_code == (1 if command == "check" and "Found " in output else 0), output[-2000:]
    return result.exit_code, output


def warned(output: str, path: str, message: str, command: str) -> bool:
    """Whether one line of the output names `path` and carries `message`."""
    if command == "html":
        path, message = html.escape(path), html.escape(message)
    return any(path in line and message in line for line in output.splitlines())


@pytest.fixture(autouse=True)
def cache_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_hostile_repository(case: Case, command: str, tmp_path: Path) -> None:
    repo = build_case(case, tmp_path)
    with reads_recorded() as opened:
        _, output = run(command, repo)
    outside = str(tmp_path / "outside")
    assert not [path for path in opened if path.startswith(outside) or path in ("/etc", "/dev/zero")]  # neither read nor listed
    assert "\x1b" not in output and "\x07" not in output and "\u202e" not in output  # shown escaped, never raw
    assert SECRET not in output and "EvilOutside" not in output and "root:x:0" not in output
    if command not in case.not_in:
        for path, message in case.warnings:
            assert warned(output, path, message, command), f"no warning {path}: {message} in\n{output[-3000:]}"
    if command in ("map", "html"):
        for path in case.analysed:
            assert (html.escape(path) if command == "html" else path) in output


OTHER_OUTPUTS = [["map", "-f", "json"], ["map", "-f", "markdown"], ["map", "-f", "dot"], ["map", "-f", "mermaid"],
                 ["tour", "-f", "json"], ["tour", "-f", "markdown"], ["tour", "-f", "codetour"],
                 ["check", "-f", "json"], ["check", "-f", "sarif"], ["calls", "-f", "json"],
                 ["goto", "main"], ["callers", "ok.main"], ["callees", "ok"]]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_every_other_output_stays_safe(case: Case, tmp_path: Path) -> None:
    repo = build_case(case, tmp_path)
    for command in OTHER_OUTPUTS:
        arguments = [command[0], str(repo), *command[1:]]
        with deadline(SECONDS_PER_COMMAND):
            result = runner.invoke(app, [*arguments, "--no-cache"])
        output = result.stdout + result.stderr
        assert result.exit_code in (0, 1) and "Traceback (most recent call last)" not in output, (command, output)
        assert "\x1b" not in output and "\u202e" not in output and SECRET not in output
        if "json" in command or "codetour" in command or "sarif" in command:
            json.loads(result.stdout)  # the escapes keep it valid JSON


@pytest.fixture(scope="module")
def past_path_max(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """2,100 nested folders: the bottom lies past PATH_MAX (4,096 bytes) from anywhere above the root."""
    repo = tmp_path_factory.mktemp("past-path-max") / "repo"
    repo.mkdir()
    (repo / "ok.py").write_text(OK_PY)
    deep_folders(2100)(repo, repo)
    yield repo
    remove_deep_folders(repo)


@pytest.mark.parametrize("command", COMMANDS)
def test_folders_nested_past_path_max(command: str, past_path_max: Path) -> None:
    """Walked iteratively in linear time (resolving each folder anew took 569 s), the deepest ones named."""
    start = time.perf_counter()
    _, output = run(command, past_path_max)
    assert time.perf_counter() - start < 30
    assert warned(output, "a/a/a/a/", "folder not readable (File name too long); skipped", command), output[-3000:]


def test_deep_code_is_counted_by_check(tmp_path: Path) -> None:
    repo = build_case(next(case for case in CASES if case.name == "lambda-2000"), tmp_path)
    _, output = run("check", repo)
    assert "All checks passed (2 files," in output


def test_a_file_too_deep_even_for_a_large_stack_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nesting, "DEEP_RECURSION_LIMIT", 1200)  # a 2,000-deep chain needs more
    repo = build_case(next(case for case in CASES if case.name == "lambda-2000"), tmp_path)
    for command in ("map", "check"):
        _, output = run(command, repo)
        assert warned(output, "deep.py", "nested too deeply to analyse; skipped", command), output


def test_escapes_in_a_readme_are_shown_not_sent(tmp_path: Path) -> None:
    repo = build_case(next(case for case in CASES if case.name == "escape-readme"), tmp_path)
    _, output = run("tour", repo)
    assert "# Title \\u001b[2J\\u001b]0;pwned" in output  # rich drops the bell itself
    assert "\\u202eevil" in output


def test_escapes_in_string_literals_are_shown_not_sent(tmp_path: Path) -> None:
    repo = build_case(next(case for case in CASES if case.name == "escape-source"), tmp_path)
    _, output = run("map", repo)
    assert "\\u001b[2Jlearning rate\\u202e \\u001b]8;;http://x" in output


def test_a_pathological_gitignore_is_matched_in_linear_time(tmp_path: Path) -> None:
    repo = build_case(next(case for case in CASES if case.name == "gitignore"), tmp_path)
    start = time.perf_counter()
    run("map", repo)
    assert time.perf_counter() - start < 20  # the regex translation took 41 s on the 43-character name
