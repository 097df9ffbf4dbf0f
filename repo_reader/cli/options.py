"""Command-line options that several commands share, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

# readable=False: the api checks the folder itself and reports one line, not typer's boxed error.
PathArgument = Annotated[Path, typer.Argument(help="The repository's root folder.", show_default=False, readable=False)]
NoCache = Annotated[bool, typer.Option("--no-cache", help="Re-parse every file; ignore the on-disk cache.")]
Output = Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")]
Force = Annotated[bool, typer.Option("--force", help="Overwrite the --output file if it exists.")]
LinkFormat = Annotated[str | None, typer.Option(
    "--link-format", envvar="REPO_READER_LINK_FORMAT", show_default=False,
    help="Terminal hyperlink target for locations, e.g. vscode://file/{path}:{line}:{col} (default: file://{path}).")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Show no progress on stderr (shown only on a terminal).")]


def check_repository_path(path: Path) -> None:
    """Before any work: the repository's root must be a readable folder. One wording for every
    command (the api's), as a UsageError."""
    from repo_reader.api import RepoError, check_root
    from repo_reader.cli.app import UsageError

    try:
        check_root(path)
    except RepoError as error:
        raise UsageError(str(error)) from None
