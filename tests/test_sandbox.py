"""The child process's sandbox: each probe model in fixtures/sandbox_probes/ attempts one escape and the
test asserts that it failed (file not written, listener on 127.0.0.1 received nothing, no process left,
the parent's exit code and message), under bubblewrap and, forced, under the process-limits fallback.
Then the pieces alone: the bwrap command line, the environment, the result channel and its schema, the
cgroup, the process-tree stop, and the interrupt wrapper."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from repo_reader.model import ModelTrace, ShapeTrace, TraceDevice, TraceStatus
from repo_reader.sandbox import isolation
from repo_reader.sandbox.environment import MARKER_VARIABLE
from repo_reader.sandbox.isolation import SWITCH, IsolationKind, probe_isolation

pytest.importorskip("torch")

from repo_reader.trace.api import TraceOptions, trace_repository  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PROBES = ROOT / "fixtures" / "sandbox_probes"
HAS_BWRAP = bool(isolation._bubblewrap()[0])
NEEDS_BWRAP = pytest.mark.skipif(not HAS_BWRAP, reason="bubblewrap does not run here")
MODES = [pytest.param("bubblewrap", marks=NEEDS_BWRAP), "process"]


@pytest.fixture
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The isolation under test; "process" forces the fallback where bubblewrap works."""
    if request.param == "process":
        monkeypatch.setenv(SWITCH, "process")
    else:
        monkeypatch.delenv(SWITCH, raising=False)
    return str(request.param)


@pytest.fixture
def temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the children's temporary folders go, to check that none is left."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


class Listener:
    """A TCP and a UDP socket on 127.0.0.1; `ways()` names what reached them ("<token> <way>" payloads)."""

    def __init__(self) -> None:
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.tcp.settimeout(0.1)
        self.udp.settimeout(0.1)
        self.payloads: list[bytes] = []
        self.done = threading.Event()
        self.threads = [threading.Thread(target=self._accept), threading.Thread(target=self._receive)]

    def __enter__(self) -> Listener:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        for thread in self.threads:
            thread.join()
        self.tcp.close()
        self.udp.close()

    def ports(self) -> tuple[int, int]:
        return self.tcp.getsockname()[1], self.udp.getsockname()[1]

    def ways(self) -> set[str]:
        time.sleep(0.2)  # the last datagram
        return {payload.split(b" ")[1].decode() for payload in self.payloads if b" " in payload}

    def _accept(self) -> None:
        while not self.done.is_set():
            try:
                connection, _ = self.tcp.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(1)
                try:
                    data = connection.recv(200)
                except OSError:
                    data = b""
                self.payloads.append(data.replace(b"GET /", b"").replace(b"-urllib", b" urllib"))

    def _receive(self) -> None:
        while not self.done.is_set():
            try:
                self.payloads.append(self.udp.recv(200))
            except TimeoutError:
                continue


def processes_with(text: str) -> list[int]:
    """What `ps -eo args | grep text` lists: processes whose command line holds `text`."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and text.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                found.append(int(entry))
        except OSError:
            pass
    return found


def settled(text: str, wait: float = 2.0) -> list[int]:
    """processes_with(text) once SIGKILLed ones are gone (the kernel takes a moment)."""
    deadline = time.monotonic() + wait
    while processes_with(text) and time.monotonic() < deadline:
        time.sleep(0.05)
    return processes_with(text)


def trace_probe(repo: Path, model: str, *init: str, timeout: float = 30,
                memory_limit: int | None = None) -> tuple[ModelTrace, ShapeTrace]:
    trace = trace_repository(repo, TraceOptions(models=(model,), init=init, device=TraceDevice.CPU, timeout=timeout,
                                                memory_limit=memory_limit, use_cache=False))
    return trace.models[0], trace


# --- the probes -------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES, indirect=True)
def test_escape_probe(mode: str, tmp_path: Path, temporary: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(PROBES, repo)
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text("secret key")
    monkeypatch.setenv("REPO_READER_PROBE_SECRET", "hunter2")
    token = f"esc{os.getpid()}{mode[0]}"
    with Listener() as listener:
        tcp, udp = listener.ports()
        model, trace = trace_probe(repo, "escape.EscapeProbe", f"home={home}", f"tcp_port={tcp}", f"udp_port={udp}",
                                   f"token={token}")
        reached = listener.ways()
    assert model.status is TraceStatus.CONSTRUCTOR_ERROR and model.failure is not None
    assert trace.isolation == probe_isolation().describe()
    assert settled(token) == [] and list(temporary.iterdir()) == []
    written = sorted(path.name for path in [*repo.iterdir(), *home.iterdir()] if token in path.name)
    if mode == "bubblewrap":
        assert model.failure.message == ("RuntimeError: probe repo=OSError chdir=OSError home=FileNotFoundError "
                                         "ssh=FileNotFoundError own_home=ok env=absent")
        assert written == [] and reached == set()
    else:  # what the fallback does not stop, as README's "Security model" says
        assert model.failure.message == "RuntimeError: probe repo=ok chdir=ok home=ok ssh=ok own_home=ok env=absent"
        assert written == [f"chdir-{token}", f"written-{token}", f"written-{token}"]
        assert reached == {"_socket", "_socket-udp", "subprocess"}


@pytest.mark.parametrize("mode, scrub", [pytest.param("bubblewrap", True, marks=NEEDS_BWRAP),
                                         ("process", False)], indirect=["mode"])
def test_a_lingering_grandchild_is_stopped(mode: str, scrub: bool, temporary: Path) -> None:
    token = f"linger{os.getpid()}{mode[0]}"
    started = time.monotonic()
    model, _ = trace_probe(PROBES, "lingering.LingeringProbe", f"token={token}", f"scrub={scrub}")
    assert model.status is TraceStatus.OK, model.failure
    assert time.monotonic() - started < 30  # not the grandchild's 60 s
    assert settled(f"rr-probe-{token}") == [] and list(temporary.iterdir()) == []


@pytest.mark.parametrize("mode", ["process"], indirect=True)
def test_a_grandchild_out_of_reach_does_not_hang_the_parent(mode: str, temporary: Path) -> None:
    """Without bubblewrap, a grandchild in a new session with an empty environment escapes the stop; the
    parent still returns, after a short grace on the pipe that grandchild holds open."""
    token = f"reach{os.getpid()}"
    started = time.monotonic()
    model, _ = trace_probe(PROBES, "lingering.LingeringProbe", f"token={token}", "scrub=True")
    elapsed = time.monotonic() - started
    survivors = processes_with(f"rr-probe-{token}")
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    assert model.status is TraceStatus.OK and elapsed < 30  # not the grandchild's 60 s
    assert len(survivors) == 1 and list(temporary.iterdir()) == []


@pytest.mark.parametrize("mode", MODES, indirect=True)
def test_a_timeout_stops_the_whole_tree(mode: str, temporary: Path) -> None:
    token = f"timeout{os.getpid()}{mode[0]}"
    started = time.monotonic()
    model, _ = trace_probe(PROBES, "sleeper.SleeperProbe", f"token={token}", timeout=8)
    assert model.status is TraceStatus.TIMEOUT and model.failure is not None
    assert model.failure.message == "the child process ran past --timeout 8 s (counted once it had imported) and was stopped"
    assert time.monotonic() - started < 20  # not the probe's 60 s
    assert settled(f"rr-probe-{token}") == [] and list(temporary.iterdir()) == []


@pytest.mark.parametrize("mode", MODES, indirect=True)
def test_the_memory_limit_holds_in_a_forked_process(mode: str) -> None:
    """RLIMIT_AS is inherited by a fork (a cgroup v2, where one can be made, holds for all of them)."""
    model, _ = trace_probe(PROBES, "hog.ForkingHogProbe", "gigabytes=4", memory_limit=3 * 2**30)
    assert model.status is TraceStatus.CONSTRUCTOR_ERROR and model.failure is not None
    assert model.failure.message == "RuntimeError: probe fork=MemoryError"


def test_a_gigabyte_of_output_is_not_buffered() -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
    model, _ = trace_probe(PROBES, "chatty.GigabyteProbe", timeout=60)
    assert model.status is TraceStatus.CRASH and model.failure is not None
    assert model.failure.message.startswith("the child process crashed (exit status 3) after ")
    assert model.failure.detail[-1] == "the last line"
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 * 1024  # the parent kept 64 KiB of 1 GiB


def test_fifty_megabytes_of_output_keep_only_the_last_lines() -> None:
    model, _ = trace_probe(PROBES, "chatty.ChattyProbe")
    assert model.status is TraceStatus.CRASH and model.failure is not None
    assert model.failure.message.startswith("the child process crashed (exit status 3) after ")
    assert model.failure.detail == tuple(f"line {number:06d} {'x' * 87}" for number in range(499_988, 500_000))


def test_a_forged_or_corrupted_result_is_an_invalid_result() -> None:
    trace = trace_repository(PROBES, TraceOptions(models=("forger.JsonPatchProbe", "forger.GarbageProbe",
                                                          "forger.ForgedFrameProbe", "forger.ForgedModelProbe"),
                                                  device=TraceDevice.CPU, timeout=30, jobs=2, use_cache=False))
    patched, garbage, frame, forged = trace.models
    assert patched.status is TraceStatus.OK and [m.path for m in patched.modules] == ["", "fc"]  # json.dumps bound early
    invalid = "the child returned an invalid result"
    assert garbage.failure is not None and garbage.failure.message == f"{invalid} (bad frame header b'garbageRRR1\\x00')"
    assert frame.failure is not None and frame.failure.message == f"{invalid} (result: ModelTrace lacks 'path')"
    assert forged.failure is not None
    assert forged.failure.message == f"{invalid} (it describes forged.Model, not forger.ForgedModelProbe)"
    assert {m.status for m in (garbage, frame, forged)} == {TraceStatus.CRASH}
    assert {m.failure.exception for m in (garbage, frame, forged) if m.failure} == {"InvalidResult"}


@pytest.mark.parametrize("mode", ["bubblewrap", "process"])
@pytest.mark.parametrize("sent", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_stop_signal_ends_the_run_with_130_and_leaves_nothing(sent: str, mode: str, tmp_path: Path) -> None:
    if mode == "bubblewrap" and not HAS_BWRAP:
        pytest.skip("bubblewrap does not run here")
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    token = f"sig{os.getpid()}{sent}"
    environment = {**os.environ, "TMPDIR": str(temporary), SWITCH: "process" if mode == "process" else "auto"}
    command = [sys.executable, "-m", "repo_reader", "trace", str(PROBES), "-m", "sleeper.SleeperProbe",
               "--init", f"token={token}", "--device", "cpu", "--no-cache"]
    run = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not processes_with(f"rr-probe-{token}") and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.05)
    assert processes_with(f"rr-probe-{token}"), "the probe's grandchild never started"
    signalled = time.monotonic()
    run.send_signal(getattr(signal, sent))
    _, stderr = run.communicate(timeout=10)
    assert run.returncode == 130 and time.monotonic() - signalled < 4  # at once, not after the 60 s sleep
    assert stderr.splitlines()[-1] == "repo-reader: interrupted"
    warnings = [line for line in stderr.splitlines() if line.startswith("repo-reader: warning:")]
    assert len(warnings) == (1 if mode == "process" else 0)
    assert settled(token) == [] and list(temporary.iterdir()) == []


GARBAGE_MODEL = '''import os
import stat

from torch import nn


class Garbage(nn.Module):
    """Writes garbage on every pipe it holds, the result channel among them."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        for name in os.listdir("/proc/self/fd"):
            try:
                if int(name) > 2 and stat.S_ISFIFO(os.fstat(int(name)).st_mode):
                    os.write(int(name), b"garbage")
            except OSError:
                pass

    def forward(self, x):  # no input runs it: the checks end at once, the result is still sent
        raise ValueError(f"never runs: {self.fc(x).shape}")
'''


def test_check_dynamic_says_its_isolation_and_rejects_a_corrupted_result(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from repo_reader.cli import app

    (tmp_path / "net.py").write_text(GARBAGE_MODEL)
    monkeypatch.setenv(SWITCH, "process")
    result = CliRunner().invoke(app, ["check", str(tmp_path), "--dynamic", "--format", "json", "--no-cache"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["isolation"] == probe_isolation().describe() and report["isolation"].startswith("process limits only")
    assert [w["message"] for w in report["warnings"]] == [
        "--dynamic: net.Garbage: the child returned an invalid result (bad frame header b'garbageRRR1\\x00')"]
    assert result.stderr.splitlines() == [
        "repo-reader: warning: the repository's code runs without a sandbox (REPO_READER_SANDBOX=process): "
        "it can read and write your files and reach the network"]
