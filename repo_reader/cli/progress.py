"""What a long command is doing, shown on stderr while it works: the scan's progress bar, each model
that trace, `map --trace` and `check --dynamic` build (with the time elapsed), and the export being
written. Only on a terminal: silent when stderr is piped or with --quiet. rich is imported only when
something is shown (start-up)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.progress import Progress

    from repo_reader.model import WorkStep

SHOW_AFTER_FILES = 200

ScanCallback = Callable[[int, int], None]
StepCallback = Callable[["WorkStep"], None]


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


class Talk:
    """The progress display of one command run; every method is a no-op when it is not `enabled`."""

    def __init__(self, quiet: bool = False) -> None:
        self.enabled = not quiet and stderr_is_terminal()

    @contextmanager
    def scan(self) -> Iterator[ScanCallback | None]:
        """A bar while the files are parsed, for repositories of SHOW_AFTER_FILES files or more."""
        if not self.enabled:
            yield None
            return
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn

        with _progress(TextColumn("parsing"), BarColumn(), MofNCompleteColumn(), transient=True) as bar:
            task = bar.add_task("scan", total=None, visible=False)

            def update(done: int, total: int) -> None:
                if total >= SHOW_AFTER_FILES:
                    bar.update(task, completed=done, total=total, visible=True)

            yield update

    @contextmanager
    def steps(self) -> Iterator[StepCallback | None]:
        """One line per model (a `WorkStep.key`): what is being done to it, then how it ended, each with
        the seconds since it started. The lines stay on screen: the log of what was tried."""
        if not self.enabled:
            yield None
            return
        from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

        # the time first: a narrow terminal cuts the end of the text, not the clock
        with _progress(SpinnerColumn(finished_text="·"), TimeElapsedColumn(), TextColumn("{task.description}"),
                       transient=False) as bar:
            tasks: dict[str, Any] = {}

            def show(step: WorkStep) -> None:
                counted = f" ({step.index}/{step.total})" if step.total > 1 else ""
                if step.key not in tasks:
                    tasks[step.key] = bar.add_task("", total=1)
                bar.update(tasks[step.key], description=f"{step.text}{counted}", completed=int(step.done))
                if step.done:
                    bar.stop_task(tasks[step.key])

            yield show

    @contextmanager
    def phase(self, text: str) -> Iterator[None]:
        """A spinner with the time elapsed while one long step runs (writing an export)."""
        if not self.enabled:
            yield
            return
        from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

        with _progress(SpinnerColumn(), TimeElapsedColumn(), TextColumn(text), transient=True) as bar:
            bar.add_task(text, total=None)
            yield


def _progress(*columns: Any, transient: bool) -> Progress:
    from rich.console import Console
    from rich.progress import Progress

    return Progress(*columns, console=Console(stderr=True, force_terminal=True), transient=transient)
