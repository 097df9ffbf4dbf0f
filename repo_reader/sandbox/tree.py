"""Stopping a child's whole process tree: its cgroup, its process group, and every process that still
carries its marker in its environment (a grandchild that left the group with `setsid`).

Under bubblewrap killing the child is already enough (its PID namespace dies with it); the other
steps are for the process-limits fallback. Standard library only.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from repo_reader.sandbox.cgroup import Cgroup
from repo_reader.sandbox.environment import MARKER_VARIABLE

PROC = Path("/proc")
ROUNDS = 5  # kill, look again: a process caught forking leaves a new one behind


def stop_tree(pid: int, marker: str, cgroup: Cgroup | None = None) -> None:
    """SIGKILL everything the child started. Call it before the child is reaped, so that its process
    group id cannot have been reused."""
    if cgroup is not None:
        cgroup.kill_all()
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    for _ in range(ROUNDS):
        found = marked_processes(marker)
        if not found:
            return
        for other in found:
            try:
                os.kill(other, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def marked_processes(marker: str, proc: Path = PROC) -> list[int]:
    """Processes (other than this one) whose environment holds MARKER_VARIABLE=marker; [] without /proc."""
    needle = f"{MARKER_VARIABLE}={marker}".encode()
    found = []
    try:
        entries = [entry for entry in os.listdir(proc) if entry.isdigit()]
    except OSError:
        return []
    for entry in entries:
        try:
            environment = (proc / entry / "environ").read_bytes()
        except OSError:  # gone, or not ours (a zombie reads as empty)
            continue
        if needle in environment.split(b"\0") and int(entry) != os.getpid():
            found.append(int(entry))
    return found

