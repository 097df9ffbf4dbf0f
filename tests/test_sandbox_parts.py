"""The sandbox's pieces alone (tests/test_sandbox.py runs the probes through them): the bubblewrap
command line and the fallback probe, the child's environment, the result channel and its schema, the
cgroup, the process-tree stop, the output cap and the interrupt wrapper. No torch; each under a second."""

from __future__ import annotations

import json
import os
import shutil
import signal
import site
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from repo_reader.cli.interrupt import Interrupted, signals_interrupt
from repo_reader.model import Location, ModelTrace, TracedValue, TraceFailure, TraceStatus
from repo_reader.plain import to_plain
from repo_reader.sandbox import cgroup, isolation
from repo_reader.sandbox.channel import (FD_VARIABLE, HEADER, RESULT_LIMIT, InvalidResult, ResultChannel,
                                         decode_frame, encode_frame, read_result)
from repo_reader.sandbox.environment import MARKER_VARIABLE, child_environment
from repo_reader.sandbox.isolation import Isolation, IsolationKind, Mounts, bwrap_argv, probe_isolation, python_paths
from repo_reader.sandbox.process import OUTPUT_BYTES, ChildCommand, OutputTail, run_child, signals_deferred
from repo_reader.sandbox.tree import marked_processes, stop_tree

NAMESPACES = ["--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]


# --- isolation --------------------------------------------------------------------------------------

def test_the_bwrap_command_line_mounts_only_what_the_child_needs() -> None:
    mounts = Mounts("/src/repo", "/tmp/rr-work", ("/opt/py", "/src/repo/.venv"))
    argv = bwrap_argv("/usr/bin/bwrap", mounts, ["--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin"])
    assert argv == ["/usr/bin/bwrap", *NAMESPACES, "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin",
                    "--proc", "/proc", "--dev", "/dev",
                    "--ro-bind-try", "/sys/devices/system/cpu", "/sys/devices/system/cpu", "--tmpfs", "/tmp",
                    "--ro-bind", "/opt/py", "/opt/py", "--ro-bind", "/src/repo", "/src/repo",
                    "--ro-bind", "/src/repo/.venv", "/src/repo/.venv",  # after the repository it lies in
                    "--bind", "/tmp/rr-work", "/tmp/rr-work", "--chdir", "/tmp/rr-work", "--"]


def test_with_a_gpu_its_device_nodes_and_sys_are_mounted() -> None:
    mounts = Mounts("/r", "/w", (), ("/dev/nvidia-uvm", "/dev/nvidia0", "/dev/nvidiactl"))
    argv = bwrap_argv("bwrap", mounts, [])
    start = argv.index("--dev") + 2
    assert argv[start:argv.index("--tmpfs")] == ["--dev-bind", "/dev/nvidia-uvm", "/dev/nvidia-uvm",
                                                 "--dev-bind", "/dev/nvidia0", "/dev/nvidia0",
                                                 "--dev-bind", "/dev/nvidiactl", "/dev/nvidiactl",
                                                 "--ro-bind", "/sys", "/sys"]


def test_python_paths_leave_out_home_and_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home, extra, current = tmp_path / "home", tmp_path / "lib", tmp_path / "cwd"
    for folder in (home, extra, current):
        folder.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(sys, "path", [str(current), *sys.path[1:], str(extra), str(home), "/"])
    found = python_paths(Path("/work/rr"))
    assert str(extra) in found and sys.prefix in found
    assert not {str(home), str(current), "/", "/work/rr/repo_reader"} & set(found)  # the last one does not exist
    assert not [path for path in found if any(path != p and path.startswith(p + "/") for p in found)]


@pytest.fixture
def fresh_probe() -> Iterator[None]:
    isolation._bubblewrap.cache_clear()
    yield
    isolation._bubblewrap.cache_clear()


def test_without_bwrap_the_fallback_says_how_to_install_it(fresh_probe: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(isolation.SWITCH, raising=False)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    found = probe_isolation()
    assert (found.kind, found.reason) == (IsolationKind.PROCESS, "bwrap is not installed")
    assert found.notice() == ("the repository's code runs without a sandbox (bwrap is not installed): it can read and "
                              "write your files and reach the network; install bubblewrap (apt-get install "
                              "bubblewrap) to isolate it")


def test_a_bwrap_without_namespaces_falls_back_with_its_reason(fresh_probe: None, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.delenv(isolation.SWITCH, raising=False)
    monkeypatch.setattr(shutil, "which", lambda name: str(fake))
    assert probe_isolation().reason == "bwrap cannot create its namespaces here: bwrap: No permissions to create new namespace"


def test_the_switch_forces_the_fallback_and_each_isolation_describes_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(isolation.SWITCH, "process")
    forced = probe_isolation()
    assert (forced.kind, forced.reason) == (IsolationKind.PROCESS, "REPO_READER_SANDBOX=process")
    assert forced.notice().endswith("(REPO_READER_SANDBOX=process): it can read and write your files and reach the network")
    assert forced.describe() == ("process limits only (REPO_READER_SANDBOX=process): reduced environment, temporary "
                                 "HOME, in-process socket blocking, memory limit per process (RLIMIT_AS); the code can "
                                 "still read and write your files and reach the network")
    sandboxed = Isolation(IsolationKind.BUBBLEWRAP, bwrap="/usr/bin/bwrap", memory_cgroup=True)
    assert sandboxed.notice() == ""
    assert sandboxed.describe() == ("bubblewrap: repository and Python read-only, a private temporary HOME, no network, "
                                    "own PID namespace, reduced environment, memory limit by cgroup v2")


def test_the_child_environment_is_an_allow_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        monkeypatch.delenv(name)
    for name, value in {"AWS_SECRET_ACCESS_KEY": "k", "PYTHONPATH": "/x", "OMP_NUM_THREADS": "2", "LANG": "de_DE.UTF-8"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(site, "ENABLE_USER_SITE", False)
    assert child_environment(tmp_path, "m1", 7) == {
        "LANG": "de_DE.UTF-8", "OMP_NUM_THREADS": "2",
        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1", "WANDB_MODE": "disabled",
        "PATH": os.pathsep.join(dict.fromkeys([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin",
                                               "/bin"])),
        "HOME": str(tmp_path), "TMPDIR": str(tmp_path / "tmp"), "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "TORCH_HOME": str(tmp_path / "torch-home"), "HF_HOME": str(tmp_path / "hf-home"),
        MARKER_VARIABLE: "m1", FD_VARIABLE: "7"}


# --- the result channel ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Sample:
    name: str
    count: int
    status: TraceStatus
    tags: tuple[str, ...] = ()
    where: Location | None = None
    score: float = 0.0


def framed(value: object) -> bytes:
    return encode_frame(json.dumps(value).encode())


def test_a_result_round_trips_strictly() -> None:
    sample = Sample("a", 2, TraceStatus.OK, ("x", "y"), Location("m.py", 3, 4), 1)
    assert read_result(Sample, framed(to_plain(sample))) == sample
    value = TracedValue("tuple", items=(("0", TracedValue("tensor", (2, 3), "float32", "cpu")), ("1", TracedValue("none"))))
    trace = ModelTrace("m.Net", "m.py", TraceStatus.CRASH, "", (), None, (), (), (), failure=TraceFailure("boom"))
    assert read_result(TracedValue, framed(to_plain(value))) == value
    assert read_result(ModelTrace, framed(to_plain(trace))) == trace


@pytest.mark.parametrize("data, why", [
    (b"", "nothing on the result channel"),
    (b"garbage", "bad frame header b'garbage'"),
    (encode_frame(b"{}")[:-1], "truncated frame (1 of 2 bytes)"),
    (encode_frame(b"{}") * 2, "14 bytes after the frame"),
    (b"x" * (RESULT_LIMIT + HEADER + 1), "larger than 64 MiB"),
    (encode_frame(b"{"), "not JSON: JSONDecodeError"),
    (encode_frame(b"\xff"), "not JSON: UnicodeDecodeError"),
    (encode_frame(b"[" * 100_000 + b"]" * 100_000), "not JSON: RecursionError"),
    (framed([1]), "result: expected a Sample object, got list"),
    (framed({"name": "a", "count": "2", "status": "ok"}), "result.count: expected an integer, got str"),
    (framed({"name": "a", "count": True, "status": "ok"}), "result.count: expected an integer, got bool"),
    (framed({"name": "a", "count": 2, "status": "fine"}), "result.status: 'fine' is not a TraceStatus"),
    (framed({"name": "a", "count": 2, "status": "ok", "tags": ["x", 1]}), "result.tags[1]: expected a string, got int"),
    (framed({"name": "a", "count": 2, "status": "ok", "extra": 1}), "result: unknown field 'extra' in Sample"),
    (framed({"count": 2, "status": "ok"}), "result: Sample lacks 'name'"),
    (framed({"name": "a", "count": 2, "status": "ok", "where": {"path": "m.py", "line": "3"}}),
     "result.where.line: expected an integer, got str"),
])
def test_anything_malformed_is_an_invalid_result(data: bytes, why: str) -> None:
    with pytest.raises(InvalidResult) as raised:
        read_result(Sample, data)
    assert str(raised.value) == why


def test_the_child_sends_one_frame_on_a_private_descriptor(monkeypatch: pytest.MonkeyPatch) -> None:
    read, write = os.pipe()
    monkeypatch.setenv(FD_VARIABLE, str(write))
    channel = ResultChannel.from_environment()
    assert FD_VARIABLE not in os.environ
    with pytest.raises(OSError):
        os.fstat(write)  # the inherited number is closed; the private copy does not pass to subprocesses
    monkeypatch.setattr(json, "dumps", lambda *args, **kwargs: "forged")
    channel.send({"a": [1, 2]})
    with os.fdopen(read, "rb") as pipe:
        assert decode_frame(pipe.read()) == b'{"a": [1, 2]}'


# --- cgroup, process tree, output --------------------------------------------------------------------

def fake_cgroups(tmp_path: Path, controllers: str) -> tuple[Path, Path]:
    root, membership = tmp_path / "cgroup", tmp_path / "self-cgroup"
    (root / "user.slice" / "rr").mkdir(parents=True)
    (root / "cgroup.controllers").write_text("cpu memory pids\n")
    (root / "user.slice" / "rr" / "cgroup.procs").write_text("")
    (root / "user.slice" / "rr" / "cgroup.subtree_control").write_text(controllers)
    membership.write_text("0::/user.slice/rr\n")
    return root, membership


def test_a_memory_cgroup_is_made_only_where_memory_is_delegated(tmp_path: Path) -> None:
    root, membership = fake_cgroups(tmp_path, "cpu memory\n")
    made = cgroup.create("repo-reader-1", 2**30, root, membership)
    assert made is not None and made.path == root / "user.slice" / "rr" / "repo-reader-1"
    assert (made.path / "memory.max").read_text() == "1073741824"
    assert cgroup.create("repo-reader-2", 2**30, *fake_cgroups(tmp_path / "cpu-only", "cpu\n")) is None
    (tmp_path / "v1").write_text("4:memory:/user.slice\n")
    assert cgroup.own_cgroup(root, tmp_path / "v1") is None


def test_the_child_joins_its_cgroup_before_exec(tmp_path: Path) -> None:
    command = cgroup.Cgroup(tmp_path).join_command() + [sys.executable, "-c", "import sys; print(sys.argv[1:])", "a b"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=10)
    assert ((tmp_path / "cgroup.procs").read_text(), done.stdout) == ("0\n", "['a b']\n")  # "0": the shell, then exec
    unwritable = cgroup.Cgroup(tmp_path / "gone").join_command() + ["echo", "still runs"]
    done = subprocess.run(unwritable, capture_output=True, text=True, timeout=10)
    assert (done.returncode, done.stdout, done.stderr) == (0, "still runs\n", "")


def test_stop_tree_kills_a_grandchild_that_left_the_process_group() -> None:
    marker = f"t{os.getpid()}"
    code = ("import subprocess, sys, time\n"
            "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'], start_new_session=True)\n"
            "print(p.pid, flush=True); time.sleep(30)")
    child = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, MARKER_VARIABLE: marker},
                             stdout=subprocess.PIPE, text=True, start_new_session=True)
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.stdout is not None
        grandchild = int(child.stdout.readline())
        assert sorted(marked_processes(marker)) == sorted([child.pid, grandchild])
        stop_tree(child.pid, marker)
        assert child.wait(timeout=5) == -signal.SIGKILL
        deadline = time.monotonic() + 2
        while marked_processes(marker) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert marked_processes(marker) == [] and bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()
        child.stdout.close()  # type: ignore[union-attr]


def test_the_output_tail_stays_bounded() -> None:
    tail = OutputTail()
    text = "".join(f"line {number:06d} {'x' * 87}\n" for number in range(500_000)).encode()
    for start in range(0, len(text), 65536):
        tail.add(text[start:start + 65536])
    assert (tail.size, len(tail.kept)) == (50_000_000, OUTPUT_BYTES)
    assert tail.lines() == tuple(f"line {number:06d} {'x' * 87}" for number in range(499_988, 500_000))


def test_a_child_that_cannot_start_is_reported_and_cleaned_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(isolation.SWITCH, "process")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    run = run_child(ChildCommand("repo_reader.trace.child", b"{}", str(tmp_path), timeout=5))
    assert (run.returncode, run.result, run.output) == (
        127, b"", ("the child did not start: [Errno 2] No such file or directory: '/nonexistent/python'",))
    assert list(tmp_path.iterdir()) == []


def test_a_stop_signal_waits_for_the_clean_up_to_finish() -> None:
    finished = []
    with pytest.raises(Interrupted, match="SIGTERM"):
        with signals_interrupt():
            with signals_deferred():
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.2)
                finished.append("clean-up")
            time.sleep(5)  # interrupted here, at once
    assert finished == ["clean-up"]


def test_a_stop_signal_becomes_interrupted_and_the_handlers_come_back() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Interrupted, match="SIGTERM"):
        with signals_interrupt():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # interrupted at once
    assert signal.getsignal(signal.SIGTERM) is before


def test_reports_say_which_isolation_ran() -> None:
    from rich.console import Console

    from repo_reader.model import CheckReport, ShapeTrace
    from repo_reader.render.check_text import render_check_text
    from repo_reader.render.trace_markdown import render_trace_markdown
    from repo_reader.render.trace_rich import render_trace_rich

    trace = ShapeTrace("repo", (), isolation="bubblewrap: no network")
    assert render_trace_markdown(trace).splitlines()[2:5] == [
        "> trace imports and runs the repository's code, in a child process.", ">", "> Isolation: bubblewrap: no network."]
    console = Console(width=100, no_color=True, record=True)
    render_trace_rich(trace, console)
    assert console.export_text().splitlines()[2] == "Isolation: bubblewrap: no network."
    report = CheckReport("repo", (), (), 1, 1, isolation="bubblewrap: no network")
    assert render_check_text(report).splitlines()[1] == "Dynamic checks ran under bubblewrap: no network."
