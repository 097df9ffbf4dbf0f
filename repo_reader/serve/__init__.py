"""The servers: `lsp` (pygls) and `mcp` (the `mcp` package), thin like the CLI: protocol in, `api` call,
render out. pygls and mcp are imported only by `serve.lsp` and `serve.mcp`, which only their commands import."""
