"""The static check on fixture repos: every planted fault found at its line, clean twins silent."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from repo_reader.lint.registry import all_rules
from repo_reader.lint.run import check_repository
from repo_reader.model import CheckReport

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PLANTED = re.compile(r"#\s*planted:\s*((?:RR\d{3}\s*)+)")


@cache
def report_of(name: str) -> CheckReport:
    return check_repository(FIXTURES / name, use_cache=False)


def planted(name: str) -> set[tuple[str, int, str]]:
    found = set()
    for file in sorted((FIXTURES / name).rglob("*.py")):
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
            match = PLANTED.search(line)
            if match:
                for code in match.group(1).split():
                    found.add((file.relative_to(FIXTURES / name).as_posix(), number, code))
    return found


def test_every_planted_fault_is_found_and_nothing_else() -> None:
    found = {(f.path, f.line, f.code) for f in report_of("check_static").findings}
    assert found == planted("check_static")


def test_every_static_rule_is_planted() -> None:
    assert {code for _, _, code in planted("check_static")} == {rule.code for rule in all_rules()}


def test_columns_point_at_the_code() -> None:
    for finding in report_of("check_static").findings:
        line = (FIXTURES / "check_static" / finding.path).read_text().splitlines()[finding.line - 1]
        assert finding.col == len(line) - len(line.lstrip()) + 1 or not line[finding.col - 1].isspace()
    columns = {(f.path, f.code): f.col for f in report_of("check_static").findings}
    assert columns[("models.py", "RR101")] == 23  # the list comprehension, after `self.blocks = `
    assert columns[("optim.py", "RR401")] == 9


def test_noqa_in_a_fixture_is_honoured() -> None:
    assert not any(f.path == "data.py" and f.line == 19 for f in report_of("check_static").findings)


@pytest.mark.parametrize("name", ["check_clean", "dynamic_clean", "gpt_project", "lightning_project"])
def test_clean_repositories_are_silent(name: str) -> None:
    if not (FIXTURES / name).exists():
        pytest.skip(f"fixture {name} not present")
    report = report_of(name)
    assert report.files_checked > 0
    assert [f"{f.path}:{f.line} {f.code}" for f in report.findings] == []


def test_dynamic_faults_static_side() -> None:
    """The planted faults a static reader can see in the dynamic fixture (the rest need --dynamic)."""
    found = {(f.path, f.line, f.code) for f in report_of("dynamic_faults").findings}
    # F.dropout(training=True) at line 31 is explicit, so only --dynamic reports it (RR251).
    assert found == {("model.py", 19, "RR105"), ("model.py", 34, "RR102")}


@pytest.mark.parametrize("name", ["flat_scripts", "package_layout", "registry_config", "messy", "trace_zoo"])
def test_other_fixtures_do_not_crash(name: str) -> None:
    if not (FIXTURES / name).exists():
        pytest.skip(f"fixture {name} not present")
    report = report_of(name)
    for finding in report.findings:
        assert finding.line >= 1 and finding.col >= 1 and finding.code.startswith("RR")
