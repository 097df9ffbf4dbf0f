"""Every rule's own VALID/INVALID examples and FIXES become tests (Fixit style); rule metadata is sound."""

from __future__ import annotations

import re

import pytest

from repo_reader.lint.engine import lint_source
from repo_reader.lint.fix import apply_fixes
from repo_reader.lint.registry import SelectionError, all_rules, rule_by_code, select_rules
from repo_reader.lint.rule import Rule, expected_lines
from repo_reader.model import LOW_CONFIDENCE, RuleFamily

RULES = all_rules()
VALID = [pytest.param(rule, snippet, id=f"{rule.code}-valid-{i}") for rule in RULES
         for i, snippet in enumerate(rule.VALID)]
INVALID = [pytest.param(rule, snippet, id=f"{rule.code}-invalid-{i}") for rule in RULES
           for i, snippet in enumerate(rule.INVALID)]
QUIET = [pytest.param(rule, snippet, id=f"{rule.code}-quiet-{i}") for rule in RULES
         for i, snippet in enumerate(rule.QUIET)]
FIXES = [pytest.param(rule, before, after, id=f"{rule.code}-fix-{i}") for rule in RULES
         for i, (before, after) in enumerate(rule.FIXES)]


@pytest.mark.parametrize(("rule", "snippet"), VALID)
def test_valid_examples_are_silent(rule: type[Rule], snippet: str) -> None:
    assert lint_source(snippet, [rule]) == []


@pytest.mark.parametrize(("rule", "snippet"), INVALID)
def test_invalid_examples_fire_on_marked_lines(rule: type[Rule], snippet: str) -> None:
    findings = lint_source(snippet, [rule])
    assert expected_lines(snippet), "an INVALID example must mark the lines it expects with `# expect`"
    assert sorted(finding.line for finding in findings) == expected_lines(snippet)
    assert {finding.code for finding in findings} == {rule.code}
    assert all(finding.confidence >= LOW_CONFIDENCE for finding in findings), "an INVALID example is shown by default"
    for finding in findings:
        line = snippet.splitlines()[finding.line - 1]
        assert 1 <= finding.col <= len(line) and not line[finding.col - 1].isspace()


@pytest.mark.parametrize(("rule", "snippet"), QUIET)
def test_quiet_examples_are_found_below_the_confidence_cut(rule: type[Rule], snippet: str) -> None:
    findings = lint_source(snippet, [rule])
    assert findings and {finding.code for finding in findings} == {rule.code}
    assert all(finding.confidence < LOW_CONFIDENCE for finding in findings)


@pytest.mark.parametrize(("rule", "before", "after"), FIXES)
def test_fixes_rewrite_and_silence(rule: type[Rule], before: str, after: str) -> None:
    findings = lint_source(before, [rule])
    fixes = [finding.fix for finding in findings if finding.fix is not None]
    assert fixes and all(fix.kind == rule.fix_kind for fix in fixes)
    fixed, applied = apply_fixes(before, fixes)
    assert fixed == after and applied == len(fixes)
    assert lint_source(fixed, [rule]) == []


def test_every_rule_has_examples_and_a_ruff_style_docstring() -> None:
    for rule in RULES:
        assert rule.VALID and rule.INVALID, rule.code
        text = rule.explanation()
        for section in ("## What it does", "## Why is this bad", "## Example", "## Use instead"):
            assert section in text, (rule.code, section)
        assert (rule.fix_kind is not None) == bool(rule.FIXES), rule.code


def test_codes_names_and_families() -> None:
    codes = [rule.code for rule in RULES]
    names = [rule.name for rule in RULES]
    assert len(set(codes)) == len(codes) and len(set(names)) == len(names)
    families = {"1": RuleFamily.STRUCTURE, "2": RuleFamily.MODE, "3": RuleFamily.DATA,
                "4": RuleFamily.OPTIMISATION, "5": RuleFamily.PERFORMANCE}
    for rule in RULES:
        assert re.fullmatch(r"RR[1-5]\d\d", rule.code) and re.fullmatch(r"[a-z]+(-[a-z]+)+", rule.name)
        assert rule.family() == families[rule.code[2]]
        module = rule.__module__.split(".")[3]  # repo_reader.lint.rules.<family>[.<concept>]
        assert module == {"1": "structure", "2": "mode", "3": "data", "4": "optimisation", "5": "performance"}[
            rule.code[2]]
    assert len(RULES) >= 20


def test_selection_by_prefix() -> None:
    chosen = [rule.code for rule in select_rules(["RR1", "RR3"], ["RR305", "RR303"])]
    assert chosen == ["RR101", "RR102", "RR103", "RR104", "RR105", "RR106", "RR301", "RR302", "RR304"]
    assert [rule.code for rule in select_rules(None, ["RR"])] == []
    with pytest.raises(SelectionError):
        select_rules(["RR9"])
    assert rule_by_code("rr101") is rule_by_code("plain-container-layers") is not None


def test_noqa_silences_a_code_or_prefix_and_only_that() -> None:
    snippet = "from torch.utils.data import DataLoader\nDataLoader(ds)  # noqa: RR303\nDataLoader(ds)  # noqa: RR1\n" \
              "DataLoader(ds)  # noqa\nDataLoader(ds)  # the word noqa in prose\n"
    findings = lint_source(snippet, select_rules(["RR303"]))
    assert [finding.line for finding in findings] == [3, 5]
