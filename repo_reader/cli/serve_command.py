"""`repo-reader lsp` and `repo-reader mcp`: the language server and the MCP server, on stdio.

pygls and mcp are an optional extra (`repo-reader[serve]`), imported only when the command runs.
"""

from __future__ import annotations

from repo_reader.cli.app import UsageError, command

INSTALL = "pip install 'repo-reader[serve]'"


@command("lsp")
def lsp_command() -> None:
    """A language server on stdio: shapes as inlay hints, layer hovers, go to forward, callers, lenses, check."""
    try:
        from repo_reader.serve.lsp import serve
    except ImportError as error:
        raise UsageError(_missing("lsp", "pygls", error)) from None
    serve()


@command("mcp")
def mcp_command() -> None:
    """An MCP server on stdio: map, goto, callers, callees, tour, trace, show and check as tools for agents."""
    try:
        from repo_reader.serve.mcp import serve
    except ImportError as error:
        raise UsageError(_missing("mcp", "mcp", error)) from None
    serve()


def _missing(name: str, package: str, error: ImportError) -> str:
    missing = (error.name or package).split(".")[0]
    if missing not in (package, "lsprotocol", "pygls", "mcp"):
        raise error  # not the extra: a real fault, reported as an internal error
    return f"repo-reader {name} needs {package}: {INSTALL}"
