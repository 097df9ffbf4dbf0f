"""The typer app object, the user-facing error type, and `main()`.

Commands register with `@command("name")`, which turns a `UsageError` into one line on stderr and
exit code 2, and any other exception into one line and exit code 3: never a traceback. Ctrl-C,
SIGTERM and SIGHUP end the run with "interrupted", exit 130.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from repo_reader.cli.interrupt import EXIT_CODE, Interrupted, signals_interrupt
from repo_reader.model import ExitCode
from repo_reader.render.safe_text import one_line

app = typer.Typer(
    name="repo-reader",
    help="Reads a PyTorch repository for you: map, shape trace, reading tour and pitfall checks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

Function = TypeVar("Function", bound=Callable[..., Any])


class UsageError(Exception):
    """A mistake the user can fix (bad path, bad option): one line on stderr, exit 2."""


def fail(message: str, code: ExitCode = ExitCode.USAGE) -> typer.Exit:
    """Print `repo-reader: error: message` on stderr and return the Exit to raise."""
    print(f"repo-reader: error: {one_line(message)}", file=sys.stderr)
    return typer.Exit(int(code))


def command(name: str, **options: Any) -> Callable[[Function], Function]:
    """`app.command(name)`, with UsageError reported as one line and exit 2."""

    def register(function: Function) -> Function:
        @functools.wraps(function)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return function(*args, **kwargs)
            except UsageError as error:
                raise fail(str(error)) from None
            except (typer.Exit, typer.Abort, typer.TyperException, KeyboardInterrupt):
                raise
            except Exception as error:  # the last net: whatever a repository holds, never a traceback
                if os.environ.get("REPO_READER_DEBUG"):
                    raise
                raise fail(internal_error_message(error), ExitCode.INTERNAL) from None

        app.command(name, **options)(guarded)
        return function

    return register


def warn(message: str) -> None:
    """One line on stderr: `repo-reader: warning: message`."""
    print(f"repo-reader: warning: {message}", file=sys.stderr)


def internal_error_message(error: Exception) -> str:
    if isinstance(error, MemoryError):
        return "out of memory (the repository is too large for this machine)"
    return (f"internal error ({type(error).__name__}: {str(error)[:200]}); please report it, with "
            "REPO_READER_DEBUG=1 for the traceback")


def main() -> None:
    for stream in (sys.stdout, sys.stderr):  # a terminal that cannot show a character gets an escape
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        with signals_interrupt():
            app()
    except UsageError as error:  # raised outside a command (should not happen; never a traceback)
        print(f"repo-reader: error: {one_line(str(error))}", file=sys.stderr)
        sys.exit(int(ExitCode.USAGE))
    except (Interrupted, KeyboardInterrupt):
        print("repo-reader: interrupted", file=sys.stderr)
        sys.exit(EXIT_CODE)
