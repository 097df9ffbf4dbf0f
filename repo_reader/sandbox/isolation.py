"""Which isolation the child gets, probed once: bubblewrap where it runs (Linux with user namespaces),
else process limits only. Also the bubblewrap command line: what the child sees and nothing more.

Standard library only; the probe runs `bwrap ... true` once per process.
"""

from __future__ import annotations

import functools
import glob
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from repo_reader.sandbox import cgroup

SWITCH = "REPO_READER_SANDBOX"  # set to "process" to run without bubblewrap even where it works
INSTALL_HINT = "apt-get install bubblewrap"
# new user, IPC, PID, network, UTS and cgroup namespaces; killed with its parent; no terminal; no capabilities
NAMESPACES = ("--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL")
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
CPU_INFO = "/sys/devices/system/cpu"  # torch's cpuinfo reads it


class IsolationKind(StrEnum):
    BUBBLEWRAP = "bubblewrap"
    PROCESS = "process"  # process limits only


@dataclass(frozen=True, slots=True)
class Isolation:
    kind: IsolationKind
    bwrap: str = ""  # the bwrap executable, under bubblewrap
    reason: str = ""  # why not bubblewrap
    memory_cgroup: bool = False  # the memory limit holds across forks (cgroup v2)

    def describe(self) -> str:
        """One line: what the child ran under."""
        memory = "memory limit by cgroup v2" if self.memory_cgroup else "memory limit per process (RLIMIT_AS)"
        if self.kind is IsolationKind.BUBBLEWRAP:
            return ("bubblewrap: repository and Python read-only, a private temporary HOME, no network, "
                    f"own PID namespace, reduced environment, {memory}")
        return (f"process limits only ({self.reason}): reduced environment, temporary HOME, in-process "
                f"socket blocking, {memory}; the code can still read and write your files and reach the network")

    def notice(self) -> str:
        """The one-line warning for stderr when bubblewrap is not used; "" under bubblewrap."""
        if self.kind is IsolationKind.BUBBLEWRAP:
            return ""
        advice = "" if self.reason.startswith(SWITCH) else f"; install bubblewrap ({INSTALL_HINT}) to isolate it"
        return (f"the repository's code runs without a sandbox ({self.reason}): it can read and write your "
                f"files and reach the network{advice}")


@dataclass(frozen=True, slots=True)
class Mounts:
    """What one child sees under bubblewrap, besides the system folders."""

    repository: str  # read-only, at its own path
    workdir: str  # writable: the child's cwd, HOME and TMPDIR
    python: tuple[str, ...]  # read-only: the interpreter, the environment, repo_reader itself
    gpu_nodes: tuple[str, ...] = ()  # /dev/nvidia*, bound as devices


def probe_isolation() -> Isolation:
    memory = cgroup.available()
    if os.environ.get(SWITCH) == "process":
        return Isolation(IsolationKind.PROCESS, reason=f"{SWITCH}=process", memory_cgroup=memory)
    bwrap, reason = _bubblewrap()
    if bwrap:
        return Isolation(IsolationKind.BUBBLEWRAP, bwrap=bwrap, memory_cgroup=memory)
    return Isolation(IsolationKind.PROCESS, reason=reason, memory_cgroup=memory)


@functools.cache
def _bubblewrap() -> tuple[str, str]:
    """(bwrap's path, "") when a trivial sandbox starts here; else ("", why not)."""
    if not sys.platform.startswith("linux"):
        return "", f"bubblewrap needs Linux, this is {sys.platform}"
    path = shutil.which("bwrap")
    if path is None:
        return "", "bwrap is not installed"
    command = [path, *NAMESPACES, "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "true"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, env={"PATH": "/usr/bin:/bin"})
    except (OSError, subprocess.TimeoutExpired) as error:
        return "", f"bwrap did not start: {type(error).__name__}"
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        return "", f"bwrap cannot create its namespaces here: {why[:120]}"
    return path, ""


def bwrap_argv(bwrap: str, mounts: Mounts, system: list[str]) -> list[str]:
    """The bubblewrap command line up to `--`; `system` is `system_mounts()`."""
    argv = [bwrap, *NAMESPACES, *system, "--proc", "/proc", "--dev", "/dev"]
    for node in mounts.gpu_nodes:
        argv += ["--dev-bind", node, node]
    argv += ["--ro-bind", "/sys", "/sys"] if mounts.gpu_nodes else ["--ro-bind-try", CPU_INFO, CPU_INFO]
    argv += ["--tmpfs", "/tmp"]
    for path in sorted({*mounts.python, mounts.repository}):  # a folder before the folders inside it
        argv += ["--ro-bind", path, path]
    return argv + ["--bind", mounts.workdir, mounts.workdir, "--chdir", mounts.workdir, "--"]


def system_mounts() -> list[str]:
    """The system folders, read-only; a merged-/usr link (`/bin -> usr/bin`) as the same link."""
    found: list[str] = []
    for path in SYSTEM:
        if os.path.islink(path):
            found += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            found += ["--ro-bind", path, path]
    return found


def python_paths(repo_reader_home: Path) -> tuple[str, ...]:
    """The folders the interpreter needs: its prefixes, sys.path (not the current folder), library paths,
    and `repo_reader/`. Never `/`, the user's home folder or a folder above it."""
    prefixes = {sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix,
                os.path.dirname(os.path.realpath(sys.executable))}
    first = sys.path[:1] if sys.path and any(_inside(sys.path[0], p) for p in prefixes) else []
    libraries = os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep) + [os.environ.get("CUDA_HOME", "")]
    wanted = {*prefixes, *first, *sys.path[1:], *libraries, str(repo_reader_home / "repo_reader")}
    found = {os.path.abspath(path) for path in wanted if path and os.path.exists(path)}
    found |= {os.path.realpath(path) for path in found}
    home = os.path.realpath(os.path.expanduser("~"))
    allowed = {path for path in found if not _inside(home, path)}
    return tuple(sorted(path for path in allowed if not any(p != path and _inside(path, p) for p in allowed)))


def gpu_nodes() -> tuple[str, ...]:
    return tuple(sorted(glob.glob("/dev/nvidia*")))


def _inside(path: str, folder: str) -> bool:
    """`path` is `folder` or below it."""
    return os.path.abspath(path) == os.path.abspath(folder) or os.path.abspath(path).startswith(
        os.path.abspath(folder).rstrip("/") + "/")
