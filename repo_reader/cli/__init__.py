"""The typer application: thin commands that parse options, call `api`, render, and exit.

Each command lives in its own module; importing them here registers them on `app`.
"""

from __future__ import annotations

from repo_reader.cli.app import app, main
from repo_reader.cli import map_command  # noqa: F401  (registers `map` and `calls`)
from repo_reader.cli import trace_command  # noqa: F401
from repo_reader.cli import navigate_command  # noqa: F401  (tour, goto, callers, callees)
from repo_reader.cli import check_command  # noqa: F401
from repo_reader.cli import show_command  # noqa: F401
from repo_reader.cli import serve_command  # noqa: F401  (lsp, mcp)

__all__ = ["app", "main"]
