"""A progress bar for long scans, shown only on a terminal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

SHOW_AFTER_FILES = 200


@contextmanager
def scan_progress(console: Console, enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    if not enabled or not console.is_terminal:
        yield None
        return
    with Progress(TextColumn("parsing"), BarColumn(), MofNCompleteColumn(), console=console, transient=True) as bar:
        task = bar.add_task("scan", total=None, visible=False)

        def update(done: int, total: int) -> None:
            if total >= SHOW_AFTER_FILES:
                bar.update(task, completed=done, total=total, visible=True)

        yield update
