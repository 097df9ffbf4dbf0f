"""check's outputs and command line: ruff-style text, JSON, SARIF 2.1.0 (schema-validated), exit codes,
--explain, --select/--ignore, and --fix rewriting a copy of a fixture."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from repo_reader.cli import app
from repo_reader.lint.run import check_repository
from repo_reader.render.check_json import render_check_json
from repo_reader.render.check_sarif import check_to_sarif
from repo_reader.render.check_text import render_check_text

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SCHEMA = Path(__file__).resolve().parent / "snapshots" / "check" / "sarif-schema-2.1.0.json"
runner = CliRunner()


@pytest.fixture(scope="module")
def report():  # type: ignore[no-untyped-def]
    return check_repository(FIXTURES / "check_static", use_cache=False)


def test_text_snapshot(report, snapshot: Callable[[str, str], None]) -> None:  # type: ignore[no-untyped-def]
    text = render_check_text(report)
    assert text.splitlines()[0] == "data.py:16:13: RR301 DataLoader gets both `sampler` and `shuffle=True`: they " \
                                   "are mutually exclusive (ValueError); let the sampler shuffle"
    assert text.endswith("Found 22 problems in 6 files (3 fixable with --fix).\n")
    snapshot("check/check_static.txt", text)


def test_json_snapshot(report, snapshot: Callable[[str, str], None]) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(render_check_json(report))
    assert data["schema_version"] == 2 and data["summary"]["findings"] == 22 and data["summary"]["hidden"] == 0
    assert data["summary"]["by_code"]["RR101"] == 1
    first = data["findings"][0]
    assert (first["path"], first["line"], first["col"], first["code"]) == ("data.py", 16, 13, "RR301")
    data["root"] = "fixtures/check_static"
    snapshot("check/check_static.json", json.dumps(data, indent=2) + "\n")


def test_sarif_validates_against_the_official_schema(report) -> None:  # type: ignore[no-untyped-def]
    sarif = check_to_sarif(report)
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validate(sarif, schema, cls=jsonschema.Draft4Validator)
    run = sarif["runs"][0]
    assert len(run["results"]) == 22 and len(run["tool"]["driver"]["rules"]) == 22
    result = run["results"][0]
    assert result["ruleId"] == "RR301" and result["level"] == "error"
    assert result["locations"][0]["physicalLocation"]["region"] == {"startLine": 16, "startColumn": 13,
                                                                     "endLine": 16}
    rules = run["tool"]["driver"]["rules"]
    assert rules[result["ruleIndex"]]["id"] == "RR301"


def test_sarif_schema_rejects_a_broken_log(report) -> None:  # type: ignore[no-untyped-def]
    sarif = check_to_sarif(report)
    del sarif["runs"][0]["tool"]["driver"]["name"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(sarif, json.loads(SCHEMA.read_text()), cls=jsonschema.Draft4Validator)


def test_exit_codes() -> None:
    found = runner.invoke(app, ["check", str(FIXTURES / "check_static"), "--no-cache"])
    assert found.exit_code == 1 and "models.py:21:23: RR101 " in found.stdout
    clean = runner.invoke(app, ["check", str(FIXTURES / "check_clean"), "--no-cache"])
    assert clean.exit_code == 0 and clean.stdout.startswith("All checks passed")
    missing = runner.invoke(app, ["check", str(FIXTURES / "nope")])
    assert missing.exit_code == 2 and missing.stderr.startswith("repo-reader: error:")
    assert "Traceback" not in missing.stderr
    bad = runner.invoke(app, ["check", str(FIXTURES / "check_static"), "--select", "XX1"])
    assert bad.exit_code == 2 and "no rule code starts with 'XX1'" in bad.stderr


def test_select_and_ignore_from_the_command_line() -> None:
    result = runner.invoke(app, ["check", str(FIXTURES / "check_static"), "--select", "RR1,RR3", "--ignore",
                                 "RR305,RR106", "--format", "json", "--no-cache"])
    codes = sorted({finding["code"] for finding in json.loads(result.stdout)["findings"]})
    assert result.exit_code == 1
    assert codes == ["RR101", "RR102", "RR103", "RR104", "RR105", "RR301", "RR302", "RR303", "RR304"]


def test_sarif_from_the_command_line() -> None:
    result = runner.invoke(app, ["check", str(FIXTURES / "check_static"), "--format", "sarif", "--no-cache"])
    sarif = json.loads(result.stdout)
    jsonschema.validate(sarif, json.loads(SCHEMA.read_text()), cls=jsonschema.Draft4Validator)


def test_explain_prints_the_docstring() -> None:
    result = runner.invoke(app, ["check", "--explain", "RR201"])
    assert result.exit_code == 0
    assert result.stdout.startswith("RR201 (functional-dropout-mode)")
    assert "## Why is this bad" in result.stdout and "training=self.training" in result.stdout
    unknown = runner.invoke(app, ["check", "--explain", "RR999"])
    assert unknown.exit_code == 2 and "no rule 'RR999'" in unknown.stderr


def test_fix_rewrites_a_copy(tmp_path: Path, snapshot: Callable[[str, str], None]) -> None:
    copy = tmp_path / "repo"
    shutil.copytree(FIXTURES / "check_static", copy)
    result = runner.invoke(app, ["check", str(copy), "--fix", "--no-cache"])
    assert result.exit_code == 1  # the faults without a safe fix remain
    assert "Fixed 3 problems." in result.stdout
    remaining = {line.split(": ")[1].split()[0] for line in result.stdout.splitlines() if ": RR" in line}
    assert not remaining & {"RR101", "RR201", "RR501"}
    for name in ("models.py", "train.py"):
        snapshot(f"check/fix/{name}.after", (copy / name).read_text(encoding="utf-8"))
    before = (FIXTURES / "check_static" / "data.py").read_text()
    assert (copy / "data.py").read_text() == before  # files without fixes are untouched


def test_static_check_never_imports_torch() -> None:
    import ast

    package = Path(__file__).resolve().parent.parent / "repo_reader"
    for folder in ("lint", "render"):
        for file in (package / folder).rglob("*.py"):
            tree = ast.parse(file.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                assert not any(name.split(".")[0] == "torch" or name.startswith("repo_reader.trace")
                               for name in names), file


TEMPLATE = '''from torch import nn


class FooModel(nn.Module):
    def __init__(self, config):
        self.head = nn.Linear(4, 2)  # before super().__init__(): the converter moves it
        super().__init__()
'''
GENERATED = '''#                🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨
#           This file was automatically generated from models/foo/modular_foo.py.
#               Do NOT edit this file manually as any edits will be overwritten.
from torch import nn


class FooModel(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.head = nn.Linear(4, 2)
'''


def test_code_generation_templates_are_not_checked_and_say_so(tmp_path: Path) -> None:
    folder = tmp_path / "models" / "foo"
    folder.mkdir(parents=True)
    (folder / "modular_foo.py").write_text(TEMPLATE, encoding="utf-8")
    (folder / "modeling_foo.py").write_text(GENERATED, encoding="utf-8")
    report = check_repository(tmp_path, use_cache=False)
    assert report.findings == () and report.templates_skipped == ("models/foo/modular_foo.py",)
    assert report.files_checked == 1
    assert json.loads(render_check_json(report))["templates_skipped"] == ["models/foo/modular_foo.py"]
    assert render_check_text(report).splitlines()[-1] == (
        "Not checked: 1 code-generation template (modular_*.py; the files generated from them are checked).")
    (folder / "modeling_foo.py").write_text(GENERATED.replace("modular_foo.py", "something_else.py"), encoding="utf-8")
    report = check_repository(tmp_path, use_cache=False)  # no generated sibling: checked like any file
    assert [(f.path, f.line, f.code) for f in report.findings] == [("models/foo/modular_foo.py", 6, "RR103")]
    assert report.templates_skipped == ()


def test_text_output_names_what_was_not_checked() -> None:
    text = render_check_text(check_repository(FIXTURES / "messy", use_cache=False))
    lines = text.splitlines()
    summary = next(i for i, line in enumerate(lines) if line.startswith(("Found ", "All checks passed")))
    assert "warning: legacy_py2.py:5: does not parse as Python 3 (Python 2 syntax at line 5); skipped" in lines[summary:]
    assert "warning: binary_blob.py: binary file (contains NUL bytes); skipped" in lines[summary:]
