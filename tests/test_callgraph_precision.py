"""The call-graph micro-benchmark (fixtures/callgraph/): precision and recall per category, against
the targets of issue 13. `python tests/callgraph_score.py --misses` prints every wrong and missed edge.

Baseline before the points-to resolution: precision 0.965, recall 0.582 overall.
"""

from __future__ import annotations

import pytest

from callgraph_score import CASES, EXPECTED, Score, score_all

OVERALL_PRECISION = 0.98
OVERALL_RECALL = 0.95
CATEGORY_FLOOR = 0.9


@pytest.fixture(scope="module")
def scores() -> dict[str, Score]:
    return score_all()


def test_benchmark_has_enough_cases_each_with_its_answer() -> None:
    cases = [case for category in CASES.iterdir() for case in category.iterdir()]
    assert len(cases) >= 150
    assert all((EXPECTED / case.parent.name / f"{case.name}.json").is_file() for case in cases)
    assert len({case.parent.name for case in cases}) == 9


def test_overall_precision_and_recall(scores: dict[str, Score]) -> None:
    overall = scores["overall"]
    assert overall.precision >= OVERALL_PRECISION, overall.wrong
    assert overall.recall >= OVERALL_RECALL, overall.missed


@pytest.mark.parametrize("category", sorted(path.name for path in CASES.iterdir()))
def test_no_category_below_the_floor(scores: dict[str, Score], category: str) -> None:
    score = scores[category]
    assert score.precision >= CATEGORY_FLOOR, score.wrong
    assert score.recall >= CATEGORY_FLOOR, score.missed


def test_scorer_counts_a_wrong_and_a_missed_edge() -> None:
    score = Score()
    score.add("case", {("main", "main.f"), ("main", "main.g")}, {("main", "main.f"), ("main", "main.h")})
    assert (score.precision, score.recall) == (0.5, 0.5)
    assert score.wrong == [("case", ("main", "main.g"))] and score.missed == [("case", ("main", "main.h"))]

