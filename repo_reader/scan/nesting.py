"""Deeply nested code (a 500-branch `elif` chain, a 2,000-deep attribute chain): recursive walks over
its syntax tree run as usual first and, when Python's recursion limit stops them, once more in a
thread with a large stack and a high limit. Imports only the standard library.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TypeVar

Result = TypeVar("Result")

DEEP_STACK_BYTES = 512 * 1024 * 1024  # reserved, not committed: only the pages a deep walk touches count
DEEP_RECURSION_LIMIT = 60_000  # frames; a 2,000-deep chain needs a few per level
_STACK_SIZE_LOCK = threading.Lock()  # threading.stack_size is process-wide


class TooDeep(Exception):
    """The code is nested too deeply to walk even with the large stack; the message says so in one line."""


def walk_nested(function: Callable[..., Result], *args: object) -> Result:
    """`function(*args)`, retried with a deep stack when it runs out of recursion; `TooDeep` when even
    that is not enough. Ordinary code never pays for the retry."""
    try:
        return function(*args)
    except RecursionError:
        pass
    return _in_deep_thread(function, args)


def _in_deep_thread(function: Callable[..., Result], args: tuple[object, ...]) -> Result:
    results: list[Result] = []
    errors: list[BaseException] = []

    def run() -> None:
        previous = sys.getrecursionlimit()
        sys.setrecursionlimit(max(previous, DEEP_RECURSION_LIMIT))
        try:
            results.append(function(*args))
        except BaseException as error:  # handed to the calling thread, which raises it
            errors.append(error)
        finally:
            sys.setrecursionlimit(previous)

    try:
        with _STACK_SIZE_LOCK:
            previous_size = threading.stack_size(DEEP_STACK_BYTES)
            try:
                thread = threading.Thread(target=run, name="repo-reader-deep-walk", daemon=True)
                thread.start()
            finally:
                threading.stack_size(previous_size)
    except (RuntimeError, ValueError, MemoryError) as error:  # no room for such a stack (a memory limit)
        raise TooDeep(f"nested too deeply to analyse (no thread with a large stack: {error}); skipped") from None
    thread.join()
    if errors:
        if isinstance(errors[0], (RecursionError, MemoryError)):
            raise TooDeep("nested too deeply to analyse; skipped") from None
        raise errors[0]
    return results[0]
