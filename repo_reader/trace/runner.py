"""Parent side: run each TraceRequest in a sandboxed child (`repo_reader.sandbox`) and turn what came
back into a ModelTrace; never raises for what the child did.

Standard library only: the parent never imports torch.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from repo_reader.model import Construction, ModelTrace, TraceFailure, TraceStatus
from repo_reader.sandbox.channel import InvalidResult, read_result
from repo_reader.sandbox.process import ChildCommand, ChildRun, run_child
from repo_reader.trace.request import TraceRequest
from repo_reader.trace.steps import StepCallback, StepReporter


def run_all(requests: list[TraceRequest], timeout: float, jobs: int = 0,
            on_step: StepCallback | None = None) -> list[ModelTrace]:
    """Trace each request in its own child, `jobs` at a time; results in request order. When the
    caller is interrupted (Ctrl-C, SIGTERM), every running child is stopped before the error goes on."""
    workers = max(1, min(len(requests), jobs or os.cpu_count() or 1))
    stop = threading.Event()
    pool = ThreadPoolExecutor(max_workers=workers)
    reporters = [StepReporter(on_step, index, len(requests)) for index in range(1, len(requests) + 1)]
    try:
        return list(pool.map(lambda request, reporter: run_one(request, timeout, stop, reporter), requests, reporters))
    except BaseException:
        stop.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


IMPORT_SECONDS = 120.0  # for the child to import torch and the repository's module, before --timeout starts
CRASH_SIGNALS = {-11: "SIGSEGV", -6: "SIGABRT", -7: "SIGBUS", -4: "SIGILL"}


def run_one(request: TraceRequest, timeout: float, stop: threading.Event | None = None,
            reporter: StepReporter = StepReporter(None)) -> ModelTrace:
    """One child; a child that crashes on meta/fake tensors (a native kernel's segfault) is run again
    on the CPU, the next rung of the device ladder, in a fresh child."""
    reporter.started(request)
    trace = _run_on_ladder(request, timeout, stop, reporter)
    reporter.finished(request, trace)
    return trace


def _run_on_ladder(request: TraceRequest, timeout: float, stop: threading.Event | None,
                   reporter: StepReporter) -> ModelTrace:
    run = _run(request, timeout, stop, reporter)
    signal = -(run.returncode - 128) if run.returncode > 128 else run.returncode  # bubblewrap exits 128+N
    if signal in CRASH_SIGNALS and request.device == "auto" and request.route == "static":
        note = (f"the child crashed with {CRASH_SIGNALS[signal]} on the meta/fake device ladder; "
                "run again on the CPU with real values")
        request = replace(request, device="cpu", notes=(*request.notes, note))
        run = _run(request, timeout, stop, reporter)
    return decode(request, run, timeout)


def _run(request: TraceRequest, timeout: float, stop: threading.Event | None, reporter: StepReporter) -> ChildRun:
    """--timeout counts from the child's `imported` word: importing torch and the repository's module
    (seconds on a busy machine) has IMPORT_SECONDS, or --timeout when that is longer, of its own."""
    command = ChildCommand("repo_reader.trace.child", request.to_json().encode(), request.root, timeout,
                           request.memory_limit, request.device, prefix="repo-reader-trace-",
                           import_timeout=max(timeout, IMPORT_SECONDS))
    return run_child(command, stop, lambda word: reporter.heard(request, word))


def decode(request: TraceRequest, run: ChildRun, timeout: float) -> ModelTrace:
    """The child's ModelTrace, checked against the schema and the request; else a failure report.
    The run route names the model it found, so only its file is checked to be the repository's."""
    if run.timed_out and not run.imported:
        message = (f"still importing when stopped: torch and the repository's module were not imported after "
                   f"{max(timeout, IMPORT_SECONDS):g} s")
        return _report(request, TraceStatus.TIMEOUT, TraceFailure(message, "Timeout"))
    if run.timed_out:
        message = f"the child process ran past --timeout {timeout:g} s (counted once it had imported) and was stopped"
        return _report(request, TraceStatus.TIMEOUT, TraceFailure(message, "Timeout"))
    if run.returncode == 0 and run.result:
        try:
            trace = read_result(ModelTrace, run.result)
        except InvalidResult as error:
            return _invalid(request, run, str(error))
        if request.route == "run":
            if trace.path.startswith(("/", "..")) or ".." in trace.path.split("/"):
                return _invalid(request, run, f"its model file {trace.path[:80]} is outside the repository")
        elif (trace.qualname, trace.path) != (request.qualname, request.path):
            return _invalid(request, run, f"it describes {trace.qualname[:80]}, not {request.qualname}")
        return trace
    how = f"killed by signal {-run.returncode}" if run.returncode < 0 else f"exit status {run.returncode}"
    if run.returncode in (-9, 137) or any("MemoryError" in line for line in run.output):
        how += " (possibly the memory limit)"
    message = f"the child process crashed ({how}) after {run.seconds:.1f} s"
    return _report(request, TraceStatus.CRASH, TraceFailure(message, "Crash", detail=run.output))


def notebook_report(request: TraceRequest) -> ModelTrace:
    """A model defined in a notebook cell cannot be imported: say so without starting a child."""
    message = (f"defined in a notebook ({request.path.partition('#')[0]}): trace imports .py modules only; "
               "move the class into a .py file to trace it")
    return _report(request, TraceStatus.IMPORT_ERROR, TraceFailure(message, "Notebook"))


def _invalid(request: TraceRequest, run: ChildRun, why: str) -> ModelTrace:
    message = f"the child returned an invalid result ({why})"
    return _report(request, TraceStatus.CRASH, TraceFailure(message, "InvalidResult", detail=run.output))


def _report(request: TraceRequest, status: TraceStatus, failure: TraceFailure) -> ModelTrace:
    construction = Construction(request.method, request.shown_args(), request.notes)
    return ModelTrace(request.qualname, request.path, status, "", (), construction, (), (), (),
                      failure=failure, backward=request.backward)
