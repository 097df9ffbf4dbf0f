"""The typer app object, the user-facing error type, and `main()` which turns errors into exit codes."""

from __future__ import annotations

import sys

import typer

from repo_reader.model import ExitCode

app = typer.Typer(
    name="repo-reader",
    help="Reads a PyTorch repository for you: map, shape trace, reading tour and pitfall checks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class UsageError(Exception):
    """A mistake the user can fix (bad path, bad option): one line on stderr, exit 2."""


def fail(message: str, code: ExitCode = ExitCode.USAGE) -> typer.Exit:
    """Print `repo-reader: error: message` on stderr and return the Exit to raise."""
    print(f"repo-reader: error: {message}", file=sys.stderr)
    return typer.Exit(int(code))


def main() -> None:
    try:
        app()
    except UsageError as error:
        print(f"repo-reader: error: {error}", file=sys.stderr)
        sys.exit(int(ExitCode.USAGE))
    except KeyboardInterrupt:
        print("repo-reader: interrupted", file=sys.stderr)
        sys.exit(130)
