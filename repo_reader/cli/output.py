"""Where a command's text goes: stdout, or a file the user named (never overwritten without --force);
warnings on stderr."""

from __future__ import annotations

import os
from pathlib import Path

from rich.console import Console

from repo_reader.cli.app import UsageError, warn


PIPED_WIDTH = 160  # tables (trace) written to a pipe or file: wide enough that shapes are not folded


def make_console(to_file: bool = False) -> Console:
    """A console that wraps nothing (locations stay whole) and has no colour when piped or NO_COLOR."""
    console = Console(soft_wrap=True, no_color=to_file or "NO_COLOR" in os.environ, highlight=False,
                      force_terminal=False if to_file else None)
    if (to_file or not console.is_terminal) and "COLUMNS" not in os.environ:
        console.width = PIPED_WIDTH
    return console


def write_text(text: str, output: Path | None, force: bool) -> None:
    if output is None:
        print(text, end="")
        return
    if output.exists() and not force:
        raise UsageError(f"{output} exists; use --force to overwrite it")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot write {output}: {error.strerror}") from error


def warn_without_sandbox() -> None:
    """Before running the repository's code: one line on stderr when bubblewrap cannot isolate it."""
    from repo_reader.sandbox.isolation import probe_isolation

    notice = probe_isolation().notice()
    if notice:
        warn(notice)
