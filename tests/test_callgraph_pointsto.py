"""The points-to pass's limits: a set that grows past its cap becomes unknown and the call is left to
the name-based resolver; a spent budget stops propagation without a hang."""

from __future__ import annotations

import time
from pathlib import Path

from repo_reader.api import build_map
from repo_reader.index import pointsto


def _edges(root: Path) -> dict[tuple[str, str], bool]:
    return {(edge.caller, edge.callee): edge.resolved for edge in build_map(root, use_cache=False).edges}


def test_too_many_candidates_become_unresolved_not_a_guess(tmp_path: Path) -> None:
    count = pointsto.MAX_VALUES + 8
    lines = [f"def f{index}():\n    pass\n" for index in range(count)]
    lines.append("def run(fn):\n    fn()\n")
    lines += [f"run(f{index})" for index in range(count)]
    (tmp_path / "main.py").write_text("\n".join(lines) + "\n")
    edges = _edges(tmp_path)
    assert ("main.run", "fn") in edges and edges[("main.run", "fn")] is False
    assert not any(caller == "main.run" and callee.startswith("main.f") for caller, callee in edges)


def test_a_small_set_of_candidates_is_resolved(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text(
        "def f0():\n    pass\n\ndef f1():\n    pass\n\ndef run(fn):\n    fn()\n\nrun(f0)\nrun(f1)\n")
    edges = _edges(tmp_path)
    assert edges[("main.run", "main.f0")] and edges[("main.run", "main.f1")]


def test_a_long_chain_of_aliases_ends_within_the_budget(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(pointsto, "BUDGET_PER_ITEM", 1)
    length = 1500  # more rounds than 1 evaluation per item (+ the fixed allowance) can pay for
    # written backwards, so that each round moves the function one alias further
    lines = ["def work():\n    pass\n", *(f"a{index} = a{index - 1}" for index in range(length, 0, -1)), "a0 = work",
             f"a{length}()"]
    (tmp_path / "main.py").write_text("\n".join(lines) + "\n")
    started = time.perf_counter()
    edges = _edges(tmp_path)
    assert time.perf_counter() - started < 30
    assert ("main", "main.work") not in edges  # the budget ran out before the function got there
    assert [resolved for (caller, _), resolved in edges.items() if caller == "main"] == [False]


def test_the_same_chain_with_the_full_budget_is_resolved(tmp_path: Path) -> None:
    length = 60
    lines = ["def work():\n    pass\n", *(f"a{index} = a{index - 1}" for index in range(length, 0, -1)), "a0 = work",
             f"a{length}()"]
    (tmp_path / "main.py").write_text("\n".join(lines) + "\n")
    assert _edges(tmp_path)[("main", "main.work")] is True
