"""Talk while working: trace, `map --trace`, `check --dynamic` and the exports say on stderr what they
are doing, with the time elapsed, on a terminal only (silent when piped or with --quiet); and trace's
--timeout counts from the end of the child's import (fixtures/slow_import takes 2.5 s to import)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import FIXTURES
from typer.testing import CliRunner

from repo_reader.cli import app
from repo_reader.cli.progress import Talk
from repo_reader.model import InputAttempt, ModelTrace, ShapeTrace, TraceFailure, TraceStatus, WorkStep
from repo_reader.sandbox.isolation import SWITCH
from repo_reader.sandbox.status import IMPORTED, StatusLines
from repo_reader.trace import runner as trace_runner
from repo_reader.trace.api import TraceOptions, trace_repository
from repo_reader.trace.request import TraceRequest
from repo_reader.trace.steps import StepReporter

cli = CliRunner()
SLOW = FIXTURES / "slow_import"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
ELAPSED = r"\d:\d\d:\d\d"


def shown(text: str) -> str:
    return ANSI.sub("", text)


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("repo_reader.cli.progress.stderr_is_terminal", lambda: True)


@pytest.mark.parametrize("isolation", ["default", "process"])
def test_timeout_counts_from_the_end_of_the_import_and_the_steps_say_so(isolation: str,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """2.5 s of import (and torch's) and a 2 s --timeout: traced (the clock used to start with the child,
    and stopped it). What the trace told its display, in order: started (importing), imported, ended
    with the input, after the inputs it tried. Under bubblewrap (where it runs) and the process
    fallback: the status words reach the parent under both."""
    if isolation == "process":
        monkeypatch.setenv(SWITCH, "process")
    steps: list[WorkStep] = []
    trace = trace_repository(SLOW, TraceOptions(route="static", timeout=2), on_step=steps.append)
    assert trace.models[0].status is TraceStatus.OK, trace.models[0].failure
    assert [(step.key, step.text, step.index, step.total, step.done) for step in steps] == [
        ("model.TinyNet", "building model.TinyNet on meta: importing torch and the repository's code", 1, 1, False),
        ("model.TinyNet", "building model.TinyNet on meta", 1, 1, False),
        ("model.TinyNet", "model.TinyNet on meta: trying input 2x8:float32", 1, 1, False),
        ("model.TinyNet", "model.TinyNet: ok on meta, input 2x8:float32", 1, 1, True),
    ]


def test_a_child_stopped_while_importing_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trace_runner, "IMPORT_SECONDS", 2.0)
    result = cli.invoke(app, ["trace", str(SLOW), "--route", "static", "--timeout", "1", "-f", "json"])
    assert result.exit_code == 1  # no model traced
    model = json.loads(result.stdout)["models"][0]
    assert model["status"] == "timeout"
    assert model["failure"]["message"] == ("still importing when stopped: torch and the repository's module were "
                                           "not imported after 2 s")


def test_step_texts_name_the_script_or_the_readme_on_the_run_routes() -> None:
    static = TraceRequest(root="/repo", sys_path=(), module_name="model", class_name="Net", qualname="model.Net",
                          path="model.py", args=(), method="defaults", device="cpu")
    script = replace(static, qualname="(running train.py)", route="run", device="auto",
                     entry_command="python train.py --lr 0.1")
    readme = replace(script, qualname="(running README.md's code)", entry_command="the code of README.md",
                     code_blocks=("import model",))
    built = ModelTrace("model.Net", "model.py", TraceStatus.OK, "meta", (), None,
                       (InputAttempt("signature", "2x8:float32", "", "on meta: boom"),
                        InputAttempt("first-call", "4x8:float32", "")), (), ())
    failed = replace(built, status=TraceStatus.TIMEOUT, failure=TraceFailure("the child ran past --timeout 2 s"))
    steps: list[WorkStep] = []
    reporter = StepReporter(steps.append, 2, 3)
    for request in (static, script, readme):
        reporter.started(request)
        reporter.heard(request, "imported")
        reporter.heard(request, "input meta 4x8:float32")
        reporter.heard(request, "anything else")  # not a step
        reporter.finished(request, built)
    reporter.finished(static, failed)
    assert [step.text for step in steps] == [
        "building model.Net on cpu: importing torch and the repository's code",
        "building model.Net on cpu",
        "model.Net on meta: trying input 4x8:float32",
        "model.Net: ok on meta, input 4x8:float32",
        "running `python train.py --lr 0.1` to its model: importing torch and the repository's code",
        "running `python train.py --lr 0.1` to its model",
        "`python train.py --lr 0.1` on meta: trying input 4x8:float32",
        "`python train.py --lr 0.1`: model.Net ok on meta, input 4x8:float32",
        "running the code of README.md to its model: importing torch and the repository's code",
        "running the code of README.md to its model",
        "the code of README.md on meta: trying input 4x8:float32",
        "the code of README.md: model.Net ok on meta, input 4x8:float32",
        "model.Net: timeout: the child ran past --timeout 2 s",
    ]
    assert {(step.index, step.total) for step in steps} == {(2, 3)}
    assert [step.done for step in steps].count(True) == 4


def test_status_words_arrive_in_pieces_and_only_the_first_imported_counts() -> None:
    heard: list[str] = []
    lines = StatusLines(heard.append)
    lines.add(b"impo")
    assert heard == [] and lines.imported_at is None
    lines.add(b"rted\nother\n" + b"x" * 500)
    first = lines.imported_at
    assert heard == [IMPORTED, "other"] and first is not None
    lines.add(b"\nimported\n")
    assert heard == [IMPORTED, "other", "x" * 200, IMPORTED] and lines.imported_at == first


def test_trace_talks_on_a_terminal(terminal: None) -> None:
    """(With --timeout 2, shorter than the fixture's import: the command's clock starts after it too.)"""
    result = cli.invoke(app, ["trace", str(SLOW), "--route", "static", "--timeout", "2", "-f", "json"])
    assert result.exit_code == 0, result.output
    assert re.search(rf"{ELAPSED}.*model\.TinyNet: ok on meta, input 2x8:float32", shown(result.stderr))
    assert json.loads(result.stdout)["models"][0]["status"] == "ok"  # the report itself is untouched


def test_trace_is_silent_with_quiet(terminal: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The display's callback reaches the trace only when it talks (the trace here reports one step and
    traces nothing: what is checked is the command's wiring, not the trace)."""
    def one_step(root: Path, options: TraceOptions, repo_map: object = None, on_step: object = None) -> ShapeTrace:
        if callable(on_step):
            on_step(WorkStep("model.Net", "model.Net: ok on meta", 1, 1, done=True))
        return ShapeTrace(root="repo", models=(), not_traced=(), isolation="")

    monkeypatch.setattr("repo_reader.trace.api.trace_repository", one_step)
    talking = cli.invoke(app, ["trace", str(SLOW), "-f", "json"])
    assert "model.Net: ok on meta" in shown(talking.stderr)
    quiet = cli.invoke(app, ["trace", str(SLOW), "-f", "json", "--quiet"])
    assert quiet.stdout.startswith("{") and "model.Net" not in quiet.stderr


def test_map_trace_talks_on_a_terminal(terminal: None) -> None:
    result = cli.invoke(app, ["map", str(SLOW), "--trace", "-f", "json"])
    assert result.exit_code == 0, result.output
    assert re.search(rf"{ELAPSED}.*model\.TinyNet: ok on meta", shown(result.stderr))


def test_check_dynamic_talks_on_a_terminal(terminal: None) -> None:
    result = cli.invoke(app, ["check", str(SLOW), "--dynamic", "--select", "RR4"])
    assert result.exit_code in (0, 1), result.output
    assert re.search(rf"{ELAPSED}.*model\.TinyNet: (no findings|\d+ finding\(s\))", shown(result.stderr))


@pytest.mark.parametrize("output_format", ["html", "dot", "mermaid"])
def test_exports_show_a_spinner_on_a_terminal(output_format: str, terminal: None, tmp_path: Path) -> None:
    target = tmp_path / f"map.{output_format}"
    result = cli.invoke(app, ["map", str(FIXTURES / "flat_scripts"), "-f", output_format, "-o", str(target)])
    assert result.exit_code == 0 and target.exists()
    assert f"for the {output_format} export" in shown(result.stderr)
    quiet = cli.invoke(app, ["map", str(FIXTURES / "flat_scripts"), "-f", output_format, "-q"])
    assert "export" not in quiet.stderr


def test_tour_shows_a_spinner_on_a_terminal(terminal: None, tmp_path: Path) -> None:
    target = tmp_path / "repo-reader.tour"
    result = cli.invoke(app, ["tour", str(FIXTURES / "flat_scripts"), "-f", "codetour", "-o", str(target)])
    assert result.exit_code == 0 and target.exists()
    assert "for the tour" in shown(result.stderr)
    quiet = cli.invoke(app, ["tour", str(FIXTURES / "flat_scripts"), "-f", "codetour", "--quiet"])
    assert quiet.exit_code == 0 and "tour" not in quiet.stderr


def test_a_disabled_display_shows_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("repo_reader.cli.progress.stderr_is_terminal", lambda: True)
    assert Talk(quiet=False).enabled and not Talk(quiet=True).enabled
    monkeypatch.setattr("repo_reader.cli.progress.stderr_is_terminal", lambda: False)
    talk = Talk(quiet=False)
    with talk.steps() as on_step, talk.scan() as on_scan:
        assert on_step is None and on_scan is None
