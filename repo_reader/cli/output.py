"""Where a command's text goes: stdout, or a file the user named (never overwritten without --force);
warnings on stderr.

Everything passes through `escape_controls` on its way out: a file name or a README holding escape
sequences shows them as `\\u001b`, never drives the terminal."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, cast

from repo_reader.cli.app import UsageError, warn
from repo_reader.render.locations import ROOT_RELATIVE, LinkFormatError, Locator, parse_link_format
from repo_reader.render.safe_text import escape_controls, one_line

if TYPE_CHECKING:  # rich is imported by the commands that print with it, when they do
    from rich.console import Console, ConsoleOptions, ConsoleRenderable, RenderableType, RenderHook, RenderResult
    from rich.segment import Segment

    from repo_reader.model import ScanWarning


PIPED_WIDTH = 160  # tables (trace) written to a pipe or file: wide enough that shapes are not folded


def make_console(to_file: bool = False) -> Console:
    """A console that wraps nothing (locations stay whole) and has no colour when piped or NO_COLOR."""
    from rich.console import Console

    console = Console(soft_wrap=True, no_color=to_file or "NO_COLOR" in os.environ, highlight=False, emoji=False,
                      force_terminal=False if to_file else None)
    if (to_file or not console.is_terminal) and "COLUMNS" not in os.environ:
        console.width = PIPED_WIDTH
    console.push_render_hook(cast("RenderHook", EscapeControls()))  # duck-typed: a subclass would import rich here
    return console


def check_link_format(link_format: str | None) -> str:
    """`--link-format` (or REPO_READER_LINK_FORMAT) checked before any work: a mistake is a usage error."""
    try:
        return parse_link_format(link_format)
    except LinkFormatError as error:
        raise UsageError(str(error)) from None


def make_locator(root: Path, console: Console | None = None, link_format: str | None = None,
                 to_file: bool = False) -> Locator:
    """Locations relative to the current directory; hyperlinks only on a terminal, never in a file."""
    hyperlinks = console is not None and console.is_terminal and not to_file
    return Locator.for_root(root, hyperlinks=hyperlinks, link_format=check_link_format(link_format))


def write_rendered(console: Console, text: str) -> None:
    """Text this console rendered earlier (captured, already escaped): written as it is, so that its
    own colours and links survive."""
    console.file.write(text)
    console.file.flush()


def check_output(output: Path | None, force: bool) -> None:
    """Before any work: refuse an --output that exists (without --force), is a folder, or cannot be
    written. Creates nothing; `write_text` makes the missing folders when the work is done."""
    if output is None:
        return
    if output.is_dir():
        raise UsageError(f"{output}: is a folder (give --output a file name)")
    if output.exists() and not force:
        raise UsageError(f"{output} exists; use --force to overwrite it")
    if output.exists():
        if not os.access(output, os.W_OK):
            raise UsageError(f"cannot write {output}: permission denied")
        return
    folder = output.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise UsageError(f"cannot write {output}: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write {output}: permission denied in {folder}")


def write_text(text: str, output: Path | None, force: bool) -> None:
    text = escape_controls(text)
    if output is None:
        print(text, end="")
        return
    check_output(output, force)
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


MAX_WARNINGS = 20


def print_warnings(warnings: Iterable[ScanWarning], root: Path | None = None) -> None:
    """The files that could not be read, on stderr, for outputs that do not list them themselves;
    with the repository's `root`, named from the current directory like every other location."""
    shown = list(warnings)
    locator = Locator.for_root(root) if root is not None else ROOT_RELATIVE
    for warning in shown[:MAX_WARNINGS]:
        where = locator.text(warning.path, warning.line or None)
        print(one_line(f"repo-reader: warning: {where}: {warning.message}"), file=sys.stderr)
    if len(shown) > MAX_WARNINGS:
        print(f"repo-reader: warning: ... and {len(shown) - MAX_WARNINGS} more (`map --format json` lists all)",
              file=sys.stderr)


class EscapeControls:
    """A rich render hook (`rich.console.RenderHook`'s one method) that escapes the text of everything
    printed, after styling: the console's own escape sequences (colours, links, cursor moves) are
    kept, the repository's are shown."""

    def process_renderables(self, renderables: list[ConsoleRenderable]) -> list[ConsoleRenderable]:
        return [_Escaped(renderable) for renderable in renderables]


class _Escaped:
    def __init__(self, renderable: RenderableType) -> None:
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from _escaped(console.render(self.renderable, options))


def _escaped(segments: Iterable[Segment]) -> Iterator[Segment]:
    from rich.segment import Segment

    for segment in segments:
        if segment.control:
            yield segment
        else:
            text = escape_controls(segment.text)
            yield segment if text is segment.text else Segment(text, segment.style)
