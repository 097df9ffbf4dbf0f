"""Half of a pass's work in a forked child, so that both cores work on the cross-file passes too.

The child shares the parent's memory (copy on write), does the second half, sends its rows back
through a pipe with `marshal` and exits without running any of the parent's clean-up. Whatever goes
wrong in the child (an exception, a crash, rows that do not load) costs time, not correctness: the
parent then does that half itself.
"""

from __future__ import annotations

import marshal
import os
import signal
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

Item = TypeVar("Item")
Row = tuple[Any, ...]

MIN_ITEMS = 200  # below this, a fork costs more than half the work saves


def in_two_halves(items: Sequence[Item], work: Callable[[Sequence[Item]], list[Row]]) -> list[Row]:
    """`work(items)`, computed as `work(first half) + work(second half)` with the halves in parallel.

    `work` must return rows `marshal` can carry (tuples of str, int, bool, None)."""
    if len(items) < MIN_ITEMS or (os.cpu_count() or 1) < 2 or not hasattr(os, "fork"):
        return work(items)
    middle = len(items) // 2
    read, write = os.pipe()
    try:
        pid = os.fork()
    except OSError:  # no process to spare (a container's limit): do it all here
        os.close(read)
        os.close(write)
        return work(items)
    if pid == 0:  # the child: never returns into the parent's code
        status = 1
        try:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # stop signals are the parent's: it kills this child
            os.close(read)
            data = marshal.dumps(work(items[middle:]))
            with os.fdopen(write, "wb") as pipe:
                pipe.write(data)
            status = 0
        finally:
            os._exit(status)
    os.close(write)
    try:
        first = work(items[:middle])
    except BaseException:  # stopped (Ctrl-C, SIGTERM) or failed: the child's half is not wanted
        os.kill(pid, signal.SIGKILL)
        raise
    finally:
        with os.fdopen(read, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(pid, 0)
    try:
        second: list[Row] = marshal.loads(data) if status == 0 else work(items[middle:])
    except (EOFError, ValueError, TypeError):
        second = work(items[middle:])
    return first + second
