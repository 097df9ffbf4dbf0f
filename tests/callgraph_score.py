"""The call-graph micro-benchmark's scorer: each case under `fixtures/callgraph/<category>/<case>/` is
mapped, and its resolved edges are compared with `tests/snapshots/callgraph/<category>/<case>.json`.

    python tests/callgraph_score.py            # the per-category table
    python tests/callgraph_score.py --misses   # and every missed or wrong edge

An edge is a (caller, callee) pair as `repo-reader calls --format json` names them. Only resolved
edges count as answers: an unresolved edge is the tool saying it does not know, neither right nor wrong.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from repo_reader.api import build_map

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "fixtures" / "callgraph"
EXPECTED = Path(__file__).resolve().parent / "snapshots" / "callgraph"
Edge = tuple[str, str]


@dataclass
class Score:
    cases: int = 0
    right: int = 0  # edges produced and expected
    produced: int = 0
    expected: int = 0
    wrong: list[tuple[str, Edge]] = field(default_factory=list)  # (case, edge) produced, not expected
    missed: list[tuple[str, Edge]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.right / self.produced if self.produced else 1.0

    @property
    def recall(self) -> float:
        return self.right / self.expected if self.expected else 1.0

    def add(self, case: str, produced: set[Edge], expected: set[Edge]) -> None:
        self.cases += 1
        self.right += len(produced & expected)
        self.produced += len(produced)
        self.expected += len(expected)
        self.wrong += [(case, edge) for edge in sorted(produced - expected)]
        self.missed += [(case, edge) for edge in sorted(expected - produced)]


def produced_edges(case: Path) -> set[Edge]:
    repo_map = build_map(case, use_cache=False)
    return {(edge.caller, edge.callee) for edge in repo_map.edges if edge.resolved}


def expected_edges(category: str, name: str) -> set[Edge]:
    data = json.loads((EXPECTED / category / f"{name}.json").read_text())
    return {(caller, callee) for caller, callees in data.items() for callee in callees}


def score_all() -> dict[str, Score]:
    """Category → score, plus "overall"."""
    scores: dict[str, Score] = {}
    overall = Score()
    for category in sorted(path.name for path in CASES.iterdir() if path.is_dir()):
        score = scores[category] = Score()
        for case in sorted(path for path in (CASES / category).iterdir() if path.is_dir()):
            produced, expected = produced_edges(case), expected_edges(category, case.name)
            score.add(f"{category}/{case.name}", produced, expected)
            overall.add(f"{category}/{case.name}", produced, expected)
    scores["overall"] = overall
    return scores


def table(scores: dict[str, Score]) -> str:
    lines = [f"{'category':<12} {'cases':>5} {'precision':>9} {'recall':>6}"]
    lines += [f"{name:<12} {score.cases:>5} {score.precision:>9.3f} {score.recall:>6.3f}" for name, score in scores.items()]
    return "\n".join(lines)


if __name__ == "__main__":
    found = score_all()
    print(table(found))
    if "--misses" in sys.argv:
        for score in found["overall"], :
            for case, (caller, callee) in score.wrong:
                print(f"wrong   {case}: {caller} -> {callee}")
            for case, (caller, callee) in score.missed:
                print(f"missed  {case}: {caller} -> {callee}")
