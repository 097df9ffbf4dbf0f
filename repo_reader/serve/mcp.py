"""`repo-reader mcp`: the map, look-ups, tour, trace, show and check as MCP tools on stdio, for coding agents.

Thin: each tool takes the repository's path (and the symbol or target), calls the api the CLI calls,
and returns the JSON the CLI's `--format json` prints, from the same render functions. Imports the
`mcp` package, so only `repo-reader mcp` imports this module.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from repo_reader import __version__
from repo_reader.api import Analysis, RepoError, analyse, build_map, check_root
from repo_reader.model import Lookup, TraceDevice

server = MCPServer("repo-reader", version=__version__, instructions=(
    "Reads a PyTorch repository: map (roles, entry points, models), goto/callers/callees (the call graph), "
    "tour (a reading order), check (static pitfalls), and trace/show, which import and run the "
    "repository's code in a child process to record tensor shapes. Give the repository's root folder."))

Tool = TypeVar("Tool", bound=Callable[..., str])


def tool(name: str) -> Callable[[Tool], Tool]:
    """Registered as the CLI command `name`; a mistake (bad path, unknown symbol, bad option) is the tool's
    error message, one line."""
    def register(function: Tool) -> Tool:
        @wraps(function)
        def guarded(*args: Any, **kwargs: Any) -> str:
            try:
                return function(*args, **kwargs)
            except (RepoError, LookupError, ValueError) as error:
                raise ToolError(str(error)) from None

        server.tool(name, structured_output=False)(guarded)
        return function

    return register


@tool("map")
def map_tool(path: str) -> str:
    """The static map: file roles, entry points and their options, models, datasets, call chains. Runs nothing."""
    from repo_reader.render.map_json import render_map_json

    return render_map_json(build_map(Path(path)))


@tool("goto")
def goto_tool(path: str, symbol: str) -> str:
    """Where a function, method or class is defined (full or partial name: GPT.forward); every candidate."""
    from repo_reader.navigate.api import lookup
    from repo_reader.render.lookup_json import render_lookup_json

    found = lookup(_analysis(path), Path(path).resolve(), symbol)
    return render_lookup_json(_found(found))


@tool("callers")
def callers_tool(path: str, symbol: str, depth: int = 1) -> str:
    """Who calls this function or method, each call site with its place (the map's call graph)."""
    return _walk(path, symbol, "callers", depth)


@tool("callees")
def callees_tool(path: str, symbol: str, depth: int = 1) -> str:
    """What this function or method calls; `self.layer(x)` leads to the layer's forward."""
    return _walk(path, symbol, "callees", depth)


@tool("tour")
def tour_tool(path: str, max_stops: int = 20) -> str:
    """A numbered reading order: README, entry point, config, data, model, optimizer, loop, evaluation."""
    from repo_reader.navigate.api import tour_of
    from repo_reader.render.tour_markdown import render_tour_json

    return render_tour_json(tour_of(_analysis(path), max_stops))


@tool("trace")
def trace_tool(path: str, models: list[str] | None = None, inputs: list[str] | None = None, init: list[str] | None = None,
          device: str = "auto", timeout: float = 120.0) -> str:
    """Shapes through the model(s): every module's input/output shapes, parameters, FLOPs and flags.
    Imports and runs the repository's code, in a child process. inputs: `[name=]2x3x224x224[:dtype]`."""
    from repo_reader.render.trace_json import render_trace_json
    from repo_reader.trace.api import trace_repository

    return render_trace_json(trace_repository(check_root(Path(path)), _options(models, inputs, init, device, timeout)))


@tool("show")
def show_tool(path: str, target: str, models: list[str] | None = None, inputs: list[str] | None = None,
         init: list[str] | None = None, device: str = "auto", timeout: float = 120.0) -> str:
    """A function's (GPT.forward) or a file's (models/gpt.py) source, each line with the shapes it produced in
    the traced forward. Imports and runs the repository's code, in a child process."""
    from repo_reader.navigate.annotated import annotate_target, repository_file, show_report, shown_definitions
    from repo_reader.navigate.sources import Sources
    from repo_reader.render.show_json import render_show_json
    from repo_reader.trace.api import trace_repository

    analysis, root = _analysis(path), Path(path).resolve()
    file = repository_file(analysis.repo_map, root, target)
    found, chosen = shown_definitions(analysis.repo_map, target) if file is None else (None, ())
    if found is not None:
        _found(found)
    options = _options(models, inputs, init, device, timeout, record_lines=True)
    shapes = trace_repository(root, options, analysis.repo_map)
    functions = annotate_target(file, chosen, analysis.repo_map, shapes, Sources(root))
    return render_show_json(show_report(target, functions, shapes))


@tool("check")
def check_tool(path: str, select: str = "", ignore: str = "") -> str:
    """PyTorch pitfalls found statically (never runs the code): unregistered layers, evaluation in training
    mode, DataLoader conflicts, ... select/ignore: codes or prefixes, `RR1,RR304`."""
    from repo_reader.lint.registry import parse_codes
    from repo_reader.lint.run import check_repository
    from repo_reader.render.check_json import render_check_json

    return render_check_json(check_repository(check_root(Path(path)), parse_codes(select or None),
                                              parse_codes(ignore or None)))


def _walk(path: str, symbol: str, direction: str, depth: int) -> str:
    from repo_reader.navigate.api import walks
    from repo_reader.render.lookup_json import render_walks_json

    found, walked = walks(_analysis(path), Path(path).resolve(), symbol, direction, max(1, min(depth, 10)))
    _found(found)
    return render_walks_json(walked)


def _analysis(path: str) -> Analysis:
    return analyse(Path(path))


def _found(found: Lookup) -> Lookup:
    if not found.matches:
        closest = f"; closest names: {', '.join(found.suggestions)}" if found.suggestions else ""
        raise LookupError(f"no definition named {found.query!r}{closest}")
    return found


def _options(models: list[str] | None, inputs: list[str] | None, init: list[str] | None, device: str, timeout: float,
             record_lines: bool = False) -> Any:
    from repo_reader.trace.api import TraceOptions, parse_inputs
    from repo_reader.trace.targets import parse_init

    parse_inputs(tuple(inputs or ()))  # TargetError (a ValueError) before anything runs
    parse_init(tuple(init or ()))
    return TraceOptions(models=tuple(models or ()), inputs=tuple(inputs or ()), init=tuple(init or ()),
                        device=TraceDevice(device), timeout=timeout, record_lines=record_lines)


def serve() -> None:
    server.run("stdio")
