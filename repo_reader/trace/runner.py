"""Parent side: run one TraceRequest in a child process with a timeout; never raises for it.

Standard library only: the parent never imports torch.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from repo_reader.model import Construction, ModelTrace, TraceFailure, TraceStatus
from repo_reader.trace.codec import from_plain
from repo_reader.trace.request import TraceRequest
from repo_reader.trace.sandbox import OFFLINE_ENVIRONMENT

_HOME = str(Path(__file__).resolve().parents[2])  # the folder that holds `repo_reader/`
_BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from repo_reader.trace.child import main; main()"


def run_all(requests: list[TraceRequest], timeout: float, jobs: int = 0) -> list[ModelTrace]:
    """Trace each request in its own child, `jobs` at a time; results in request order."""
    workers = max(1, min(len(requests), jobs or os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda request: run_one(request, timeout), requests))


CRASH_SIGNALS = {-11: "SIGSEGV", -6: "SIGABRT", -7: "SIGBUS", -4: "SIGILL"}


def run_one(request: TraceRequest, timeout: float) -> ModelTrace:
    """One child; a child that crashes on meta/fake tensors (a native kernel's segfault) is run again
    on the CPU, the next rung of the device ladder, in a fresh child."""
    trace, returncode = _run_child_once(request, timeout)
    if returncode in CRASH_SIGNALS and request.device == "auto" and request.route == "static":
        note = (f"the child crashed with {CRASH_SIGNALS[returncode]} on the meta/fake device ladder; "
                "run again on the CPU with real values")
        retried, _ = _run_child_once(replace(request, device="cpu", notes=(*request.notes, note)), timeout)
        return retried
    return trace


def _run_child_once(request: TraceRequest, timeout: float) -> tuple[ModelTrace, int]:
    with tempfile.TemporaryDirectory(prefix="repo-reader-trace-") as workdir:
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-B", "-c", _BOOT, _HOME], cwd=workdir, env=_environment(workdir),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True, text=True,
        )
        try:
            stdout, stderr = process.communicate(request.to_json(), timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(process)
            process.communicate()
            message = f"the child process ran past --timeout {timeout:g} s and was stopped"
            return _report(request, TraceStatus.TIMEOUT, TraceFailure(message, "Timeout")), 0
    return _decode(request, process.returncode, stdout, stderr, time.monotonic() - started), process.returncode


def notebook_report(request: TraceRequest) -> ModelTrace:
    """A model defined in a notebook cell cannot be imported: say so without starting a child."""
    message = (f"defined in a notebook ({request.path.partition('#')[0]}): trace imports .py modules only; "
               "move the class into a .py file to trace it")
    return _report(request, TraceStatus.IMPORT_ERROR, TraceFailure(message, "Notebook"))


def _environment(workdir: str) -> dict[str, str]:
    environment = dict(os.environ)
    environment.update({key: value for key, value in OFFLINE_ENVIRONMENT.items() if value})
    environment["TORCH_HOME"] = str(Path(workdir) / "torch-home")
    environment["HF_HOME"] = str(Path(workdir) / "hf-home")
    environment.pop("PYTHONPATH", None)
    return environment


def _kill(process: subprocess.Popen[str]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()


def _decode(request: TraceRequest, returncode: int, stdout: str, stderr: str, seconds: float) -> ModelTrace:
    if returncode == 0 and stdout.strip():
        try:
            return from_plain(ModelTrace, json.loads(stdout))
        except (ValueError, TypeError, KeyError):
            pass
    tail = tuple(line for line in stderr.strip().splitlines()[-12:])
    how = f"killed by signal {-returncode}" if returncode < 0 else f"exit status {returncode}"
    if returncode in (-9, 137) or "MemoryError" in stderr:
        how += " (possibly the memory limit)"
    message = f"the child process crashed ({how}) after {seconds:.1f} s"
    return _report(request, TraceStatus.CRASH, TraceFailure(message, "Crash", detail=tail))


def _report(request: TraceRequest, status: TraceStatus, failure: TraceFailure) -> ModelTrace:
    construction = Construction(request.method, request.shown_args(), request.notes)
    return ModelTrace(request.qualname, request.path, status, "", (), construction, (), (), (),
                      failure=failure, backward=request.backward)


# -- public: for other child processes (`check --dynamic`) that share trace's isolation --------------
def run_child(module: str, stdin_text: str, timeout: float, prefix: str = "repo-reader-child-") -> tuple[int, str, str]:
    """Run `module.main()` in a fresh interpreter, offline, in a temporary folder, in its own session,
    with `stdin_text` on stdin: (exit status, stdout, stderr). Kills the whole process group and
    raises `subprocess.TimeoutExpired` after `timeout` seconds."""
    boot = f"import sys; sys.path.insert(0, sys.argv[1]); from {module} import main; main()"
    with tempfile.TemporaryDirectory(prefix=prefix) as workdir:
        process = subprocess.Popen([sys.executable, "-B", "-c", boot, _HOME], cwd=workdir, env=_environment(workdir),
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   start_new_session=True, text=True)
        try:
            stdout, stderr = process.communicate(stdin_text, timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(process)
            process.communicate()
            raise
    return process.returncode, stdout, stderr
