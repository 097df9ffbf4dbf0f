"""`check --dynamic`, parent side: one child process per top-level model, with a timeout and a memory
limit; its findings come back as `Finding`s. Standard library only (the child imports torch)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from repo_reader.lint.noqa import noqa_lines, silenced
from repo_reader.model import Finding, ScanWarning, Severity, WorkStep
from repo_reader.sandbox.channel import InvalidResult, read_result
from repo_reader.sandbox.process import ChildCommand, run_child
from repo_reader.trace.api import load_map
from repo_reader.trace.codec import to_plain
from repo_reader.trace.hints import find_size_hints
from repo_reader.trace.loss_slice import LossSlice, find_loss_slice
from repo_reader.trace.request import TraceRequest
from repo_reader.trace.steps import StepCallback
from repo_reader.trace.targets import RequestSettings, build_request, select_models

DEFAULT_TIMEOUT = 60.0
MEMORY_LIMIT = 8 * 2**30


@dataclass(frozen=True, slots=True)
class DynamicFinding:
    """One finding as the child sends it (the schema the parent checks it against)."""

    code: str
    name: str
    severity: Severity
    message: str
    path: str
    line: int
    col: int
    detail: str


@dataclass(frozen=True, slots=True)
class HealthResult:
    findings: tuple[DynamicFinding, ...]
    skipped: str  # why the model was not judged, "" when it was
    not_judged: tuple[str, ...] = ()  # checks given up on, with why


def run_health_checks(root: Path, timeout: float = DEFAULT_TIMEOUT, on_step: StepCallback | None = None
                      ) -> tuple[tuple[Finding, ...], tuple[ScanWarning, ...]]:
    """Build and briefly run each top-level model on CPU; what was wrong, and what could not be run.
    `on_step` hears which model is being checked, and how it ended."""
    root = root.resolve()
    repo_map = load_map(root)
    settings = RequestSettings(device="cpu", hints=find_size_hints(root, repo_map), backward=True,
                               memory_limit=MEMORY_LIMIT)
    findings: list[Finding] = []
    warnings: list[ScanWarning] = []
    models = select_models(repo_map, ())
    for index, model in enumerate(models, 1):
        request = build_request(model, repo_map, root, (), settings)
        step = WorkStep(model.qualname, f"checking {model.qualname} on cpu", index, len(models))
        _tell(on_step, step)
        result = _run(request, find_loss_slice(model, repo_map, root), timeout)
        _tell(on_step, replace(step, text=f"{model.qualname}: {_verdict(result)}", done=True))
        if result.skipped:
            warnings.append(ScanWarning(model.path, f"--dynamic: {result.skipped}"))
        warnings += [ScanWarning(model.path, f"--dynamic: {why}") for why in result.not_judged]
        findings += [Finding(item.code, item.name, item.severity, item.message, item.path, item.line, item.col,
                             source="dynamic", detail=item.detail) for item in result.findings]
    unique = sorted(set(findings), key=lambda f: (f.path, f.line, f.col, f.code, f.message))
    return tuple(_unsilenced(root, unique)), tuple(warnings)


def _tell(on_step: StepCallback | None, step: WorkStep) -> None:
    if on_step is not None:
        on_step(step)


def _verdict(result: HealthResult) -> str:
    if result.skipped:
        return f"not checked ({result.skipped.partition(': ')[2]})"[:160]
    return f"{len(result.findings)} finding(s)" if result.findings else "no findings"


def _unsilenced(root: Path, findings: list[Finding]) -> list[Finding]:
    """Drop the findings a `# noqa` comment silences on their line, as for static rules."""
    quiet: dict[str, dict[int, frozenset[str]]] = {}
    for path in {finding.path for finding in findings}:
        try:
            quiet[path] = noqa_lines((root / path).read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError):
            quiet[path] = {}
    return [f for f in findings if not silenced(quiet[f.path].get(f.line), f.code)]


def _run(request: TraceRequest, loss: LossSlice | None, timeout: float) -> HealthResult:
    payload = {"request": to_plain(replace(request, device="cpu")), "loss": asdict(loss) if loss else None}
    command = ChildCommand("repo_reader.trace.health_child", json.dumps(payload).encode(), request.root, timeout,
                           request.memory_limit, "cpu", prefix="repo-reader-health-")
    run = run_child(command)
    if run.timed_out:
        return HealthResult((), f"{request.qualname}: stopped after {timeout:g} s")
    if run.returncode != 0 or not run.result:
        tail = run.output[-1:] or ("no output",)
        return HealthResult((), f"{request.qualname}: the child process failed: {tail[0][:200]}")
    try:
        return read_result(HealthResult, run.result)
    except InvalidResult as error:
        return HealthResult((), f"{request.qualname}: the child returned an invalid result ({error})")
