"""Every pass stays near-linear in the repository's size: generated large inputs under generous limits
(each ran for minutes, or took gigabytes, while a pass was quadratic)."""

from __future__ import annotations

import sys
import time
import tracemalloc
from pathlib import Path

import networkx as nx
import pytest
from typer.testing import CliRunner

from repo_reader.api import analyse
from repo_reader.cli import app
from repo_reader.lint.run import check_repository
from repo_reader.model import DatasetInfo, EntryKind, EntryPoint, EntrySource, Location, ModelInfo
from repo_reader.passes.chains import find_chains

runner = CliRunner()


def _call_chain(root: Path, depth: int, files: int) -> None:
    """`main` → f0 → f1 → ... → f{depth-1} → Net.forward, spread over `files` modules."""
    per = depth // files
    for number in range(files):
        lines = ["import torch", "from torch import nn", ""]
        if number + 1 < files:
            lines.append(f"from mod{number + 1} import f{(number + 1) * per}")
        else:
            lines += ["class Net(nn.Module):", "    def forward(self, x):", "        return x", ""]
        for index in range(number * per, (number + 1) * per):
            body = f"    return f{index + 1}(x)" if index + 1 < depth else "    net = Net()\n    return net(x)"
            lines += [f"def f{index}(x):", body, ""]
        if number == 0:
            lines += ["if __name__ == '__main__':", "    f0(1)", ""]
        (root / f"mod{number}.py").write_text("\n".join(lines))


def test_a_30000_deep_call_chain_maps_in_linear_time_and_memory(tmp_path: Path) -> None:
    _call_chain(tmp_path, 30_000, 6)
    start = time.perf_counter()
    repo_map = analyse(tmp_path, use_cache=False).repo_map
    assert time.perf_counter() - start < 90
    assert [(chain.target, len(chain.calls)) for chain in repo_map.chains] == [("mod5.Net.forward", 30_002)]
    assert repo_map.chains[0].calls[:3] == ("mod0", "mod0.f0", "mod0.f1")
    result = runner.invoke(app, ["map", str(tmp_path), "--no-cache"])
    assert result.exit_code == 0 and "... 29962 more calls ..." in result.stdout
    assert len(result.stdout) < 20_000  # indentation is capped: it was 900 M spaces


def test_chains_keep_one_parent_per_node() -> None:
    depth = 30_000
    graph = nx.DiGraph()
    graph.add_nodes_from((f"m.f{index}" for index in range(depth)), internal=True)
    graph.add_edges_from((f"m.f{index}", f"m.f{index + 1}") for index in range(depth - 1))
    entry = EntryPoint("m.py", 1, 1, "m.f0", EntryKind.TRAIN, 1, EntrySource.MAIN_GUARD, "", (), 90, ())
    model = ModelInfo("m.f29999", "m.py", 1, 1, (), "torch", True, "", (), (), (), None)
    dataset = DatasetInfo("m.f29998", "m.py", 1, 1, (), None, None, ())
    graph.add_edge("m.f29999", "m.f29999.forward")
    graph.nodes["m.f29999.forward"]["internal"] = True
    tracemalloc.start()
    chains = find_chains(graph, (entry,), [model], [dataset])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert [len(chain.calls) for chain in chains] == [depth + 1]
    assert peak < 50 * 1024 * 1024  # one path per node took 3.7 GB


def test_check_on_30000_functions_searches_the_text_once(tmp_path: Path) -> None:
    (tmp_path / "many.py").write_text("\n".join(f"def f{index}(x):\n    return x" for index in range(30_000)))
    start = time.perf_counter()
    report = check_repository(tmp_path, use_cache=False)
    assert time.perf_counter() - start < 60  # 2 minutes when each function searched the whole file
    assert (report.files_checked, report.findings) == (1, ())


def _inheritance_chain(root: Path, depth: int) -> None:
    """C0 <- C1 <- ... each `m{i}` calling `self.m{i-1}` and keeping the result in `self.h`: from the
    deepest instance every lookup climbs the chain (points-to once read the whole chain's `h` fields
    and walked the chain for each method)."""
    lines = ["from torch import nn", "class C0(nn.Module):", "    pass"]
    for index in range(1, depth):
        lines += [f"class C{index}(C{index - 1}):", f"    def m{index}(self):",
                  f"        self.h = self.m{index - 1}()", "        return self.h"]
    last = depth - 1
    (root / "model.py").write_text("\n".join(lines + ["if __name__ == '__main__':", f"    C{last}().m{last}()", ""]))


def test_a_2000_deep_inheritance_chain(tmp_path: Path) -> None:
    _inheritance_chain(tmp_path, 2000)
    analysis = analyse(tmp_path, use_cache=False)
    assert len(analysis.repo_map.models) == 2000
    assert analysis.classes.find_method("model.C1999", "m5") == "model.C5.m5"
    assert analysis.classes.mro("model.C3") == ["model.C3", "model.C2", "model.C1", "model.C0"]
    calls = {(edge.caller, edge.callee) for edge in analysis.repo_map.edges}
    assert ("model.C1999.m1999", "model.C1998.m1998") in calls and ("model.C2.m2", "model.C1.m1") in calls


def _profiler_events(root: Path) -> int:
    """Function calls (Python and C) made by one map: a count of work that no neighbour's load changes."""
    count = 0

    def counted(frame: object, event: str, argument: object) -> None:
        nonlocal count
        count += 1

    sys.setprofile(counted)
    try:
        analyse(root, use_cache=False)
    finally:
        sys.setprofile(None)
    return count


def test_the_work_on_a_deep_inheritance_chain_grows_linearly(tmp_path: Path) -> None:
    (tmp_path / "short").mkdir()
    (tmp_path / "long").mkdir()
    _inheritance_chain(tmp_path / "short", 300)
    _inheritance_chain(tmp_path / "long", 1200)
    ratio = _profiler_events(tmp_path / "long") / _profiler_events(tmp_path / "short")
    assert ratio < 6, ratio  # 4.5 here (4 is linear); 11.4 while every read of `self.h` took the whole chain


@pytest.mark.parametrize("command", [["map"], ["map", "-f", "html"], ["tour"]])
def test_a_2000_deep_nesting_of_models(tmp_path: Path, command: list[str]) -> None:
    lines = ["import torch", "from torch import nn"]
    for index in range(2000):
        inner = f"M{index + 1}()" if index < 1999 else "nn.Linear(2, 2)"
        lines += [f"class M{index}(nn.Module):", "    def __init__(self):", "        super().__init__()",
                  f"        self.inner = {inner}", "    def forward(self, x):", "        return self.inner(x)"]
    (tmp_path / "model.py").write_text("\n".join(lines + ["if __name__ == '__main__':", "    M0()(torch.zeros(2))", ""]))
    result = runner.invoke(app, [*command, str(tmp_path), "--no-cache"])
    assert result.exit_code == 0, result.output[-2000:]
    if command[-1] == "html":
        assert "(deeper levels left out)" in result.stdout
