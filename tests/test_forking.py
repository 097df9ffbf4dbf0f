"""`in_two_halves`: the same rows as doing the work in one process, in order, whatever the child does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from repo_reader.forking import MIN_ITEMS, in_two_halves

ITEMS = list(range(MIN_ITEMS * 3 + 1))


def rows(items: Sequence[int]) -> list[tuple[object, ...]]:
    return [(item, f"n{item}", item % 2 == 0, None) for item in items]


def test_halves_give_the_rows_of_one_pass_in_order() -> None:
    assert in_two_halves(ITEMS, rows) == rows(ITEMS)


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: no child is forked")
def test_the_second_half_runs_in_another_process() -> None:
    parent = os.getpid()
    found = in_two_halves(ITEMS, lambda items: [(item, os.getpid()) for item in items])
    assert {pid for item, pid in found if item < len(ITEMS) // 2} == {parent}
    assert parent not in {pid for item, pid in found if item >= len(ITEMS) // 2}


def test_a_child_that_fails_costs_time_not_rows() -> None:
    parent = os.getpid()

    def fails_in_the_child(items: Sequence[int]) -> list[tuple[object, ...]]:
        if os.getpid() != parent:
            raise RuntimeError("child only")
        return rows(items)

    assert in_two_halves(ITEMS, fails_in_the_child) == rows(ITEMS)


def test_an_error_in_the_parent_still_reaps_the_child() -> None:
    parent = os.getpid()

    def fails_in_the_parent(items: Sequence[int]) -> list[tuple[object, ...]]:
        if os.getpid() == parent:
            raise ValueError("parent")
        return rows(items)

    with pytest.raises(ValueError, match="parent"):
        in_two_halves(ITEMS, fails_in_the_parent)
    deadline = time.monotonic() + 1.0  # an unreaped child would show up here once it exits
    leftover = 0
    while not leftover and time.monotonic() < deadline:
        try:
            leftover, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break  # no child at all: it was waited for before the error went on
        time.sleep(0.05)
    assert leftover == 0


def test_few_items_stay_in_this_process() -> None:
    parent = os.getpid()
    assert {pid for _, pid in in_two_halves(ITEMS[:10], lambda items: [(i, os.getpid()) for i in items])} == {parent}


def test_a_fork_that_fails_means_doing_it_all_here(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fork() -> int:
        raise BlockingIOError("Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    parent = os.getpid()
    assert in_two_halves(ITEMS, lambda items: [(i, os.getpid()) for i in items]) == [(i, parent) for i in ITEMS]


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


@pytest.mark.skipif((os.cpu_count() or 1) < 2 or not Path("/proc/self/task").exists(),
                    reason="one core (no worker pool), or no /proc to see the workers")
@pytest.mark.parametrize("sent", ["SIGTERM", "SIGINT"])
def test_a_stop_signal_during_the_pooled_scan_ends_it_quietly(sent: str, tmp_path: Path) -> None:
    """The scan's workers are forked from the CLI, whose stop-signal handler they inherited: the
    SIGTERM with which the pool is ended raised `Interrupted` in each and printed its traceback."""
    body = "\n".join(f"def f{index}(x):\n    return [x + {index} for _ in range(3)]" for index in range(300))
    for number in range(400):
        (tmp_path / f"m{number}.py").write_text(body)
    environment = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    run = subprocess.Popen([sys.executable, "-m", "repo_reader", "map", str(tmp_path), "--no-cache", "--quiet"],
                           env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while len(_children(run.pid)) < 2 and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.02)
    assert len(_children(run.pid)) >= 2, "the scan finished before its workers were seen"
    workers = _children(run.pid)
    run.send_signal(getattr(signal, sent))
    _, stderr = run.communicate(timeout=30)
    assert (run.returncode, stderr) == (130, "repo-reader: interrupted\n")
    time.sleep(0.2)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()
                and "zombie" not in Path(f"/proc/{pid}/status").read_text()]
