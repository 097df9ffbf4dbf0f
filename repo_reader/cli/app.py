"""The typer app object, the user-facing error type, and `main()`.

Commands register with `@command("name")`, which turns a `UsageError` into one line on stderr and
exit code 2, and any other exception into one line and exit code 3: never a traceback. Click's own
usage errors (an unknown option, a missing argument, a bad choice) are one line too. Ctrl-C,
SIGTERM and SIGHUP end the run with "interrupted", exit 130.

Start-up is a feature: this module and the command modules import only typer and the standard
library at module level; each command imports what it needs when it runs.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

import typer
import typer.core

try:  # newer typer carries its own copy of click
    from typer._click.exceptions import ClickException, NoArgsIsHelpError
except ImportError:  # older typer: click itself
    from click.exceptions import ClickException, NoArgsIsHelpError  # type: ignore[no-redef]

from repo_reader import __version__
from repo_reader.cli.interrupt import EXIT_CODE, Interrupted, signals_interrupt
from repo_reader.model import ExitCode
from repo_reader.render.safe_text import one_line


class OneLineErrors(typer.core.TyperGroup):
    """The command group, with click's usage errors (raised while parsing the group's options or a
    command's) printed as one `repo-reader: error:` line, exit 2, instead of typer's boxes."""

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        with click_errors_on_one_line():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: Any) -> Any:
        with click_errors_on_one_line():
            return super().invoke(ctx)


@contextmanager
def click_errors_on_one_line() -> Iterator[None]:
    try:
        yield
    except NoArgsIsHelpError:  # `repo-reader` alone prints the help
        raise
    except ClickException as error:
        raise fail(click_error_message(error)) from None


def click_error_message(error: ClickException) -> str:
    """`map: no such option: --frmat (Possible options: --format); see repo-reader map --help`."""
    message = " ".join(error.format_message().replace("Value error, ", "").split()).rstrip(".")
    message = message[:1].lower() + message[1:]
    context = getattr(error, "ctx", None)
    names = context.command_path.split()[1:] if context is not None else []  # without the program's name
    if not names:
        return f"{message}; see repo-reader --help"
    return f"{' '.join(names)}: {message}; see repo-reader {' '.join(names)} --help"


app = typer.Typer(
    name="repo-reader",
    help="Reads a PyTorch repository for you: map, shape trace, reading tour and pitfall checks.",
    cls=OneLineErrors,
    rich_markup_mode=None,  # click's plain help: typer's rich help imports rich.markdown, pygments and attrs (0.2 s)
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        print(f"repo-reader {__version__}")
        raise typer.Exit(int(ExitCode.OK))


@app.callback()
def options(
    version: Annotated[bool, typer.Option("--version", "-V", callback=_print_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    pass

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

        summary = (function.__doc__ or "").strip().split("\n", 1)[0]  # whole in --help's list, not cut at 45 characters
        app.command(name, **({"short_help": summary} | options))(guarded)
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
