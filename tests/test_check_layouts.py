"""A finding must not depend on how a repository is laid out (issue 14: "the same line flagged in one
repository and not in an identical one, because the training loop was recognised in one only").

Every rule example with helper functions (functions without a loop) is checked as a one-file
repository and again with those helpers moved into `helpers.py`, each file importing what it uses
from the other. Both layouts must give exactly the example's findings: the lines marked `# expect`
for an INVALID example, none for a VALID one. The rules' own examples also hold the same loop with
and without an earlier function that reaches its helpers through a longer chain first (RR203, RR401).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from repo_reader.lint.registry import all_rules
from repo_reader.lint.rule import Rule, expected_lines
from repo_reader.lint.run import check_repository

Place = tuple[str, int]  # (file, line)


def _top_level_names(nodes: list[ast.stmt]) -> list[str]:
    return [node.name for node in nodes if isinstance(node, (ast.FunctionDef, ast.ClassDef))]


def split_helpers(snippet: str) -> tuple[dict[str, str], dict[int, Place]] | None:
    """The snippet as `train.py` + `helpers.py` (the loop-free top-level functions), and where each of
    its lines went; None when it has no helper to move or nothing would stay behind."""
    tree = ast.parse(snippet)
    lines = snippet.splitlines(keepends=True)
    imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    helpers = [node for node in tree.body if isinstance(node, ast.FunctionDef)
               and not any(isinstance(child, (ast.For, ast.While)) for child in ast.walk(node))]
    stays = [node for node in tree.body if node not in imports and node not in helpers]
    if not helpers or not _top_level_names(stays):
        return None
    head = "".join(lines[node.lineno - 1] for node in imports)
    moved = _top_level_names(helpers)  # type: ignore[arg-type]
    texts = {"helpers.py": head + f"from train import {', '.join(_top_level_names(stays))}\n",
             "train.py": head + f"from helpers import {', '.join(moved)}\n"}
    where: dict[int, Place] = {}
    for node in tree.body:
        if node in imports:
            continue
        file = "helpers.py" if node in helpers else "train.py"
        start = min([node.lineno] + [decorator.lineno for decorator in getattr(node, "decorator_list", [])])
        base = texts[file].count("\n")
        texts[file] += "".join(lines[start - 1:node.end_lineno])
        where |= {line: (file, base + line - start + 1) for line in range(start, (node.end_lineno or start) + 1)}
    return texts, where


def _cases() -> list[object]:
    cases = []
    for rule in all_rules():
        for kind, snippets in (("valid", rule.VALID), ("invalid", rule.INVALID)):
            for index, snippet in enumerate(snippets):
                if split_helpers(snippet) is not None:
                    cases.append(pytest.param(rule, snippet, id=f"{rule.code}-{kind}-{index}"))
    return cases


CASES = _cases()


def test_the_layouts_cover_both_kinds_of_example() -> None:
    ids = [case.id for case in CASES]  # type: ignore[attr-defined]
    assert {"RR202-valid-1", "RR202-invalid-2", "RR203-valid-5", "RR203-invalid-1", "RR204-valid-3",
            "RR401-valid-4", "RR406-invalid-0"} <= set(ids)
    assert len(ids) >= 15


def _findings(root: Path, rule: type[Rule]) -> set[tuple[str, int, str]]:
    report = check_repository(root, [rule.code], use_cache=False, show_all=True)
    return {(finding.path, finding.line, finding.code) for finding in report.findings}


@pytest.mark.parametrize(("rule", "snippet"), CASES)
def test_an_example_gives_the_same_findings_in_one_file_and_split_in_two(
        tmp_path: Path, rule: type[Rule], snippet: str) -> None:
    split = split_helpers(snippet)
    assert split is not None
    texts, where = split
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    (one / "train.py").write_text(snippet, encoding="utf-8")
    for name, text in texts.items():
        (two / name).write_text(text, encoding="utf-8")
    expected = {("train.py", line, rule.code) for line in expected_lines(snippet)}
    assert _findings(one, rule) == expected
    assert _findings(two, rule) == {(*where[line], code) for _, line, code in expected}
