"""A cgroup v2 of its own per child, where the kernel lets us make one: a memory limit that holds across
forks, and one write (`cgroup.kill`) that stops every process in it.

It needs cgroup v2 with the memory controller enabled below the cgroup repo-reader runs in, and write
access there (a delegated systemd unit, a container's own cgroup). Elsewhere `available()` is False and
the child's own RLIMIT_AS, per process, is the limit. Standard library only.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True, slots=True)
class Cgroup:
    path: Path

    def join_command(self) -> list[str]:
        """A prefix for the child's command line: a shell that moves itself into the cgroup (writes "0",
        itself, to cgroup.procs) and then execs the command, so that no fork of the child is missed."""
        script = '{ echo 0 >"$1"; } 2>/dev/null; shift; exec "$@"'
        return ["/bin/sh", "-c", script, "sh", str(self.path / "cgroup.procs")]

    def kill_all(self) -> None:
        try:
            (self.path / "cgroup.kill").write_text("1")
            return
        except OSError:
            pass
        for pid in self.members():  # kernels before 5.14 have no cgroup.kill
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def members(self) -> list[int]:
        try:
            return [int(line) for line in (self.path / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            return []

    def remove(self, wait: float = 1.0) -> None:
        """rmdir once its killed processes are gone (the kernel refuses while it is populated)."""
        deadline = time.monotonic() + wait
        while True:
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                if time.monotonic() > deadline:
                    return
                time.sleep(0.02)


def own_cgroup(root: Path = ROOT, membership: Path = Path("/proc/self/cgroup")) -> Path | None:
    """The cgroup v2 folder this process runs in, or None (no cgroup v2)."""
    try:
        lines = membership.read_text().splitlines()
    except OSError:
        return None
    unified = next((line[3:] for line in lines if line.startswith("0::")), None)
    if unified is None or not (root / "cgroup.controllers").exists():
        return None
    folder = root / unified.lstrip("/")
    return folder if (folder / "cgroup.procs").exists() else None


def available(root: Path = ROOT, membership: Path = Path("/proc/self/cgroup")) -> bool:
    """Whether `create` can work here: the memory controller is delegated below our cgroup, writably."""
    folder = own_cgroup(root, membership)
    if folder is None:
        return False
    try:
        enabled = (folder / "cgroup.subtree_control").read_text().split()
    except OSError:
        return False
    return "memory" in enabled and os.access(folder, os.W_OK)


def create(name: str, memory_limit: int, root: Path = ROOT,
           membership: Path = Path("/proc/self/cgroup")) -> Cgroup | None:
    """A new cgroup `name` below ours with memory.max (and no swap); None where that cannot be done."""
    if not available(root, membership):
        return None
    folder = own_cgroup(root, membership)
    assert folder is not None
    made = Cgroup(folder / name)
    try:
        made.path.mkdir()
    except OSError:
        return None
    try:
        if memory_limit > 0:
            (made.path / "memory.max").write_text(str(memory_limit))
            if (made.path / "memory.swap.max").exists():
                (made.path / "memory.swap.max").write_text("0")
    except OSError:
        made.remove(wait=0)
        return None
    return made
