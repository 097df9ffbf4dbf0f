"""`repo-reader mcp` driven by the `mcp` client over stdio: each of the eight tools called once on the
line_shapes fixture, its JSON checked against what the CLI's `--format json` prints or exact values."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

from mcp import Client  # noqa: E402
from mcp.client.stdio import StdioServerParameters  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from repo_reader.cli import app  # noqa: E402

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "line_shapes"
ROOT = str(FIXTURE)
GPT = {"models": ["gpt.GPT"], "inputs": ["2x8:int64"], "device": "meta"}
CALLS: dict[str, dict[str, Any]] = {
    "map": {"path": ROOT}, "goto": {"path": ROOT, "symbol": "Block.forward"},
    "callers": {"path": ROOT, "symbol": "gpt.Block.forward"}, "callees": {"path": ROOT, "symbol": "gpt.GPT.forward"},
    "tour": {"path": ROOT}, "check": {"path": ROOT}, "trace": {"path": ROOT} | GPT,
    "show": {"path": ROOT, "target": "GPT.forward"} | GPT,
    "missing": {"path": ROOT, "symbol": "NoSuchThing"},
}


async def session(cache: Path) -> dict[str, Any]:
    parameters = StdioServerParameters(command=sys.executable, args=["-m", "repo_reader", "mcp"],
                                       env={**os.environ, "XDG_CACHE_HOME": str(cache)})
    found: dict[str, Any] = {}
    async with Client(parameters, mode="legacy") as client:
        found["tools"] = sorted(tool.name for tool in (await client.list_tools()).tools)
        for name, arguments in CALLS.items():
            result = await client.call_tool("goto" if name == "missing" else name, arguments)
            text = result.content[0].text  # type: ignore[union-attr]
            found[name] = text if result.is_error else json.loads(text)
    return found


@pytest.fixture(scope="module")
def tools(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return asyncio.run(session(tmp_path_factory.mktemp("cache")))


def cli_json(*args: str) -> Any:
    result = CliRunner().invoke(app, [*args, "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def test_the_eight_tools_are_listed(tools: dict[str, Any]) -> None:
    assert tools["tools"] == ["callees", "callers", "check", "goto", "map", "show", "tour", "trace"]


def test_static_tools_give_the_cli_json(tools: dict[str, Any]) -> None:
    assert tools["map"] == cli_json("map", ROOT)
    assert tools["tour"] == cli_json("tour", ROOT)
    assert tools["check"] == cli_json("check", ROOT)
    assert tools["goto"] == cli_json("goto", ROOT, "Block.forward")


def test_goto_callers_callees(tools: dict[str, Any]) -> None:
    (match,) = tools["goto"]["matches"]
    assert (match["qualname"], match["path"], match["line"], match["col"]) == ("gpt.Block.forward", "gpt.py", 47, 5)
    (walk,) = tools["callers"]["walks"]
    assert [(step["caller"], step["site"]) for step in walk["steps"]] == \
        [("gpt.GPT.forward", {"path": "gpt.py", "line": 64, "col": 17})]
    (walk,) = tools["callees"]["walks"]
    assert [step["callee"] for step in walk["steps"]][:2] == ["layers.embed_tokens", "gpt.Block.forward"]
    assert tools["callees"] == cli_json("callees", ROOT, "gpt.GPT.forward")


def test_trace_and_show_run_the_model(tools: dict[str, Any]) -> None:
    (model,) = tools["trace"]["models"]
    assert (model["qualname"], model["status"], model["total_params"]) == ("gpt.GPT", "ok", 95664)
    (function,) = tools["show"]["functions"]
    assert (function["qualname"], function["line"], function["model"]) == ("gpt.GPT.forward", 61, "gpt.GPT")
    loop = next(line for line in function["lines"] if line["line"] == 64)
    (run,) = loop["runs"]
    assert run["count"] == 3 and [value["value"]["shape"] for value in run["values"]] == [[2, 8, 48], [2, 8, 48]]


def test_a_mistake_is_the_tools_error_message(tools: dict[str, Any]) -> None:
    assert tools["missing"].startswith("Error executing tool goto: no definition named 'NoSuchThing'")
