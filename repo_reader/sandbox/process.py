"""Running one child: spawn `python -c "from MODULE import main; main()"` under the probed isolation,
give it its request on stdin, read its output (capped: the last lines), its status words and its result
channel until it exits or its deadline passes (counted from the start, or from the child's `imported`
word when the command gives the import a time of its own), and on every way out (success, error, timeout, interruption) stop its
whole process tree and remove its temporary folder. Standard library only; never prints.
"""

from __future__ import annotations

import os
import secrets
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repo_reader.sandbox import cgroup
from repo_reader.sandbox.channel import HEADER, RESULT_LIMIT
from repo_reader.sandbox.environment import child_environment
from repo_reader.sandbox.isolation import (Isolation, IsolationKind, Mounts, bwrap_argv, gpu_nodes, probe_isolation,
                                           python_paths, system_mounts)
from repo_reader.sandbox.status import FD_VARIABLE as STATUS_FD_VARIABLE
from repo_reader.sandbox.status import StatusLines
from repo_reader.sandbox.tree import stop_tree

HOME = Path(__file__).resolve().parents[2]  # the folder that holds `repo_reader/`
OUTPUT_BYTES = 64 * 1024  # of the child's stdout and stderr, the last ones kept
TAIL_LINES = 12
LINE_CHARACTERS = 300
GRACE = 0.5  # seconds to drain the pipes once the tree is stopped (a process out of reach keeps them open)
TICK = 0.1  # how often the wait looks at the stop event


class Cancelled(Exception):
    """The caller's stop event was set (the user interrupted): the child was stopped."""


@dataclass(frozen=True, slots=True)
class ChildCommand:
    module: str  # its `main()` runs in the child
    request: bytes  # on the child's stdin
    repository: str  # absolute; mounted read-only
    timeout: float  # seconds, from the start (or from the child's `imported` word, with import_timeout)
    memory_limit: int = 0  # bytes; 0: none
    device: str = "cpu"  # cuda or auto: the GPU's device nodes are mounted too
    prefix: str = "repo-reader-child-"  # of the temporary folder's name
    import_timeout: float | None = None  # seconds for the child to say `imported`; None: one clock from the start


@dataclass(frozen=True, slots=True)
class ChildRun:
    returncode: int  # negative: killed by that signal
    timed_out: bool
    result: bytes  # what came on the result channel (at most one byte past its limit)
    output: tuple[str, ...]  # the last lines of stdout and stderr, merged
    output_bytes: int  # how much the child wrote on them
    seconds: float
    isolation: Isolation
    imported: bool = False  # the child said `imported` (torch and the repository's module are in)


def run_child(command: ChildCommand, stop: threading.Event | None = None,
              on_status: Callable[[str], None] | None = None) -> ChildRun:
    """Run `command` to its end or its deadline; raises only Cancelled (after stopping the child).
    `on_status` hears each status word the child writes (from the pump's thread)."""
    child = _Child(command, probe_isolation())
    started = time.monotonic()
    status = StatusLines(on_status)
    try:
        try:
            streams = child.start(status)
        except OSError as error:  # it did not start (a vanished bwrap, no memory for a fork)
            return ChildRun(127, False, b"", (f"the child did not start: {error}",), 0, 0.0, child.isolation)
        ending = streams.wait(lambda: _deadline(command, started, status), stop)
    finally:
        child.close()
    if ending == "cancelled":
        raise Cancelled(command.module)
    assert child.process is not None
    return ChildRun(child.process.returncode, ending == "timeout", bytes(streams.result), streams.output.lines(),
                    streams.output.size, time.monotonic() - started, child.isolation, status.imported_at is not None)


def _deadline(command: ChildCommand, started: float, status: StatusLines) -> float:
    if command.import_timeout is None:
        return started + command.timeout
    if status.imported_at is None:
        return started + command.import_timeout
    return status.imported_at + command.timeout


class _Child:
    """Everything one child holds (its folder, cgroup, pipes, process), so that `close` releases all of
    it whatever happened before: an error, a timeout or an interruption half-way through `start`."""

    def __init__(self, command: ChildCommand, isolation: Isolation) -> None:
        self.command, self.isolation = command, isolation
        self.marker = secrets.token_hex(8)  # in the child's environment, inherited by its descendants
        self.workdir: Path | None = None
        self.group: cgroup.Cgroup | None = None
        self.fds: list[int] = []
        self.process: subprocess.Popen[bytes] | None = None
        self.streams: _Streams | None = None

    def start(self, status: StatusLines) -> _Streams:
        self.workdir = Path(tempfile.mkdtemp(prefix=self.command.prefix))
        (self.workdir / "tmp").mkdir()
        if self.isolation.memory_cgroup:
            self.group = cgroup.create(f"repo-reader-{self.marker}", self.command.memory_limit)
        result_fd, child_fd = os.pipe()
        self.fds = [result_fd, child_fd]
        status_fd, child_status_fd = os.pipe()
        self.fds += [status_fd, child_status_fd]
        self.process = self._spawn(child_fd, child_status_fd)
        for fd in (child_fd, child_status_fd):  # the child's copies are the only write ends left
            os.close(fd)
            self.fds.remove(fd)
        self.streams = _Streams(self.process, result_fd, self.command.request, (status_fd, status))
        return self.streams

    def _spawn(self, result_fd: int, status_fd: int) -> subprocess.Popen[bytes]:
        assert self.workdir is not None
        boot = f"import sys; sys.path.insert(0, sys.argv[1]); from {self.command.module} import main; main()"
        argv = [sys.executable, "-B", "-c", boot, str(HOME)]
        if self.isolation.kind is IsolationKind.BUBBLEWRAP:
            nodes = gpu_nodes() if self.command.device in ("cuda", "auto") else ()
            mounts = Mounts(self.command.repository, str(self.workdir), python_paths(HOME), nodes)
            argv = bwrap_argv(self.isolation.bwrap, mounts, system_mounts()) + argv
        if self.group is not None:
            argv = self.group.join_command() + argv
        environment = child_environment(self.workdir, self.marker, result_fd) | {STATUS_FD_VARIABLE: str(status_fd)}
        return subprocess.Popen(argv, cwd=self.workdir, env=environment,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                pass_fds=[result_fd, status_fd], start_new_session=True)

    def close(self) -> None:
        """Kill the tree (before reaping the child, so that its group id is still its own), drain the
        pipes for at most GRACE seconds, reap, and remove the cgroup and the folder."""
        with signals_deferred():
            if self.process is not None:
                stop_tree(self.process.pid, self.marker, self.group)
                if self.streams is not None:
                    self.streams.drain(GRACE)
                    self.streams.close()
                try:
                    self.process.wait(timeout=5)  # at once: it was sent SIGKILL
                except subprocess.TimeoutExpired:  # stuck in the kernel: subprocess reaps it later
                    pass
                for pipe in (self.process.stdin, self.process.stdout):
                    if pipe is not None:
                        pipe.close()
            for fd in self.fds:
                os.close(fd)
            if self.group is not None:
                self.group.remove()
            if self.workdir is not None:
                remove_folder(self.workdir)


class OutputTail:
    """The last OUTPUT_BYTES of a stream, however much comes: the parent's memory stays bounded."""

    def __init__(self) -> None:
        self.kept = bytearray()
        self.size = 0  # all that came

    def add(self, data: bytes) -> None:
        self.size += len(data)
        self.kept += data
        del self.kept[:-OUTPUT_BYTES]

    def lines(self) -> tuple[str, ...]:
        """The last TAIL_LINES lines, each cut to LINE_CHARACTERS."""
        lines = self.kept.decode("utf-8", "replace").splitlines()
        if self.size > len(self.kept):
            lines = lines[1:]  # the first one was cut
        return tuple(line[:LINE_CHARACTERS] for line in lines[-TAIL_LINES:])


class _Streams:
    """The child's pipes in one selector: the request going in, its output, its status words and its
    result coming out."""

    def __init__(self, process: subprocess.Popen[bytes], result_fd: int, request: bytes,
                 status: tuple[int, StatusLines]) -> None:
        assert process.stdin is not None and process.stdout is not None
        self.process = process
        self.selector = selectors.DefaultSelector()
        self.pending = memoryview(request)
        self.stdin = process.stdin.fileno()
        self.output = OutputTail()
        self.result = bytearray()
        os.set_blocking(self.stdin, False)
        self.selector.register(self.stdin, selectors.EVENT_WRITE)
        self.selector.register(process.stdout.fileno(), selectors.EVENT_READ, self.output.add)
        self.selector.register(result_fd, selectors.EVENT_READ, self._on_result)
        self.selector.register(status[0], selectors.EVENT_READ, status[1].add)

    def wait(self, deadline: Callable[[], float], stop: threading.Event | None) -> str:
        """Pump until the child exits ("exited"), the deadline passes ("timeout") or `stop` is set.
        The deadline is asked again on every turn: a status word can move it."""
        while not _exited(self.process):
            if stop is not None and stop.is_set():
                return "cancelled"
            remaining = deadline() - time.monotonic()
            if remaining <= 0:
                return "timeout"
            self.step(min(remaining, TICK))
        return "exited"

    def drain(self, grace: float) -> None:
        deadline = time.monotonic() + grace
        while any(key.data is not None for key in self.selector.get_map().values()):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self.step(remaining)

    def step(self, timeout: float) -> None:
        for key, _ in self.selector.select(timeout):
            if key.data is None:
                self._write_request()
                continue
            data = os.read(key.fd, 65536)
            if data:
                key.data(data)
            else:
                self.selector.unregister(key.fd)

    def close(self) -> None:
        self.selector.close()

    def _write_request(self) -> None:
        try:
            written = os.write(self.stdin, self.pending[:65536])
        except BlockingIOError:
            return
        except OSError:  # the child closed stdin or is gone: the rest of the request is moot
            written = len(self.pending)
        self.pending = self.pending[written:]
        if not self.pending:
            self.selector.unregister(self.stdin)
            assert self.process.stdin is not None
            self.process.stdin.close()

    def _on_result(self, data: bytes) -> None:
        room = RESULT_LIMIT + HEADER + 1 - len(self.result)  # one byte over tells the reader it was too large
        self.result += data[:max(room, 0)]


def _exited(process: subprocess.Popen[bytes]) -> bool:
    """Whether the child has ended, without reaping it (its pid and group id stay reserved)."""
    if process.returncode is not None:
        return True
    try:
        return os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True
    except AttributeError:  # no waitid on this platform
        return process.poll() is not None


@contextmanager
def signals_deferred() -> Iterator[None]:
    """The clean-up runs to its end: a stop signal (Ctrl-C, SIGTERM, SIGHUP) that arrives meanwhile is
    noted, then raised again once it is done, for the handler that was in place. Python runs signal
    handlers in the main thread only, so elsewhere this is a no-op (and not needed)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stops = [getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)]
    previous = {number: signal.getsignal(number) for number in stops}
    previous = {number: handler for number, handler in previous.items() if handler is not None}
    arrived: list[int] = []
    for number in previous:
        signal.signal(number, lambda received, frame: arrived.append(received))
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if arrived:
            signal.raise_signal(arrived[0])


def remove_folder(folder: Path) -> None:
    """rmtree that also removes what the child made unwritable (a folder set to mode 000)."""

    def unlock(function: Any, path: str, error: Any) -> None:
        try:
            os.chmod(os.path.dirname(path), stat.S_IRWXU)
            os.chmod(path, stat.S_IRWXU)
            function(path)
        except OSError:
            pass

    if sys.version_info >= (3, 12):
        shutil.rmtree(folder, onexc=unlock)
    else:
        shutil.rmtree(folder, onerror=unlock)
