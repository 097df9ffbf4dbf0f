"""`repo-reader lsp` and `repo-reader mcp`: the language server and the MCP server, on stdio.

pygls and mcp are an optional extra (`repo-reader[serve]`), imported only when the command runs.
"""

from __future__ import annotations

from repo_reader.cli.app import UsageError, command

INSTALL = "pip install 'repo-reader[serve]'"


@command("lsp")
def lsp_command() -> None:
    """A language server on stdio: shapes as inlay hints, layer hovers, go to forward, callers, lenses, check."""
    _serve("lsp", "pygls")


@command("mcp")
def mcp_command() -> None:
    """An MCP server on stdio: map, goto, callers, callees, tour, trace, show and check as tools for agents."""
    _serve("mcp", "mcp")


def _serve(name: str, package: str) -> None:
    """Run `repo_reader.serve.<name>.serve()`; a missing extra is one line."""
    import importlib

    try:
        server = importlib.import_module(f"repo_reader.serve.{name}")
    except ImportError as error:
        missing = (error.name or package).split(".")[0]
        if missing not in (package, "lsprotocol", "pygls", "mcp"):
            raise  # not the extra: a real fault, reported as an internal error
        raise UsageError(f"repo-reader {name} needs {package}: {INSTALL}") from None
    server.serve()
