"""Ctrl-C, SIGTERM and SIGHUP as one exception, `Interrupted`, raised in the main thread: every
`finally` on the way out runs (the sandbox stops its children and removes their folders), then
`main` prints one line and exits 130."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
EXIT_CODE = 130


class Interrupted(BaseException):
    """A stop signal arrived. A BaseException, so `except Exception` in a command cannot swallow it
    (and typer/click, which turn KeyboardInterrupt into a silent exit, let it through)."""


@contextmanager
def signals_interrupt() -> Iterator[None]:
    """Within: the first stop signal raises Interrupted; later ones are ignored while it unwinds."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.getsignal(number) for number in SIGNALS}

    def interrupt(number: int, frame: FrameType | None) -> Any:
        for other in SIGNALS:
            signal.signal(other, signal.SIG_IGN)
        raise Interrupted(signal.Signals(number).name)

    for number in SIGNALS:
        signal.signal(number, interrupt)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
