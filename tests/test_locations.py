"""Every text output names a place the same way: `path:line:col` relative to the current directory,
first on its line (notebooks: `nb.ipynb cell 4, line 5`); JSON and SARIF stay root-relative; on a
terminal a location is a hyperlink whose target follows `--link-format` / REPO_READER_LINK_FORMAT."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from repo_reader.cli import app
from repo_reader.lint.run import check_repository
from repo_reader.render.check_text import print_check
from repo_reader.render.locations import LinkFormatError, Locator, parse_link_format

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
runner = CliRunner()
LOCATION = re.compile(r"^(\S+):(\d+):(\d+)")


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run from a folder beside none of the fixtures; returns how the fixtures folder looks from there."""
    monkeypatch.chdir(tmp_path)
    return os.path.relpath(FIXTURES, tmp_path)


def test_check_prints_locations_relative_to_the_current_directory(elsewhere: str) -> None:
    result = runner.invoke(app, ["check", str(FIXTURES / "check_static"), "--no-cache"])
    assert result.exit_code == 1
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"{elsewhere}/check_static/data.py:16:13: RR301 DataLoader gets both")
    assert (Path(elsewhere) / "check_static" / "data.py").is_file()  # the printed path opens from here
    assert "\x1b" not in result.stdout  # piped: no colour
    data = json.loads(runner.invoke(app, ["check", str(FIXTURES / "check_static"), "-f", "json"]).stdout)
    assert (data["findings"][0]["path"], data["findings"][0]["line"]) == ("data.py", 16)  # JSON: root-relative
    sarif = json.loads(runner.invoke(app, ["check", str(FIXTURES / "check_static"), "-f", "sarif"]).stdout)
    location = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "data.py", "uriBaseId": "%SRCROOT%"}


def test_check_is_coloured_on_a_terminal_in_ruffs_layout(tmp_path: Path) -> None:
    report = check_repository(FIXTURES / "check_static", use_cache=False)
    console = Console(force_terminal=True, color_system="standard", width=300, soft_wrap=True, highlight=False)
    locator = Locator.for_root(FIXTURES / "check_static", hyperlinks=True, cwd=FIXTURES,
                               link_format="vscode://file/{path}:{line}:{col}")
    with console.capture() as captured:
        print_check(report, console, locator)
    first = captured.get().splitlines()[0]
    target = f"vscode://file/{(FIXTURES / 'check_static' / 'data.py').as_posix()}:16:13"
    assert first.startswith(f"\x1b]8;id=")  # the location is a link ...
    assert f";{target}\x1b\\" in first  # ... to its line and column
    assert "\x1b[36mcheck_static/data.py:16:13\x1b[0m" in first  # location cyan
    assert ": \x1b[1;31mRR301\x1b[0m DataLoader gets both" in first  # code bold red, then the message
    assert re.sub(r"\x1b\[[0-9;]*m|\x1b]8;[^\x1b]*\x1b\\", "", first).startswith("check_static/data.py:16:13: RR301 ")


def test_calls_lead_with_the_call_site(elsewhere: str) -> None:
    result = runner.invoke(app, ["calls", str(FIXTURES / "flat_scripts"), "--no-cache"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines and all(LOCATION.match(line) for line in lines)
    prefix = f"{elsewhere}/flat_scripts/"
    assert all(line.startswith(prefix) for line in lines)
    assert f"{prefix}train.py:33:18  train.train_one_epoch -> model.ResNet.forward" in lines
    unresolved = [line for line in lines if line.endswith("(unresolved)")]
    assert unresolved and all(" -> " in line for line in unresolved)


def test_markdown_mermaid_and_dot_locations_are_relative_to_the_current_directory(elsewhere: str) -> None:
    root = FIXTURES / "flat_scripts"
    prefix = f"{elsewhere}/flat_scripts"
    markdown = runner.invoke(app, ["map", str(root), "-f", "markdown", "--no-cache"]).stdout
    assert f"1. `{prefix}/train.py:90:1` **train**" in markdown
    assert f"  - `{prefix}/model.py:57:9` `fc`: torch.nn.Linear" in markdown  # submodules too, not "(line 57)"
    mermaid = runner.invoke(app, ["map", str(root), "-f", "mermaid", "--no-cache"]).stdout
    assert f"- `{prefix}/train.py:56:1` train.main" in mermaid
    assert f"- `{prefix}/model.py:36:1` model.ResNet" in mermaid
    dot = runner.invoke(app, ["map", str(root), "-f", "dot", "--no-cache"]).stdout
    assert f'"train.main" [label="train.main", shape=box, tooltip="{prefix}/train.py:56:1", ' \
           f'URL="{prefix}/train.py#L56"];' in dot


def test_notebook_locations_name_the_notebook_and_the_cell() -> None:
    root = FIXTURES / "notebook_cells"
    locator = Locator.for_root(root, cwd=FIXTURES)
    assert locator.text("fit.ipynb#cell5", 7, 5) == "notebook_cells/fit.ipynb cell 5, line 7"
    assert locator.target("fit.ipynb#cell5", 7, 5) == (root / "fit.ipynb").resolve().as_uri()  # the notebook file
    report = check_repository(root, use_cache=False)
    console = Console(no_color=True, width=300, soft_wrap=True, highlight=False)
    with console.capture() as captured:
        print_check(report, console, locator)
    assert captured.get().splitlines()[0].startswith("notebook_cells/fit.ipynb cell 5, line 7: RR401 ")
    mapped = runner.invoke(app, ["map", str(root), "--no-cache"]).stdout
    assert "fit.ipynb  83%  training loop: backward() at cell 5, line 6 and step()" in mapped  # evidence: which cell
    assert "fit.ipynb cell 5, line 4  train  (module-level)" in mapped
    assert "(its parameters go to SGD at fit.ipynb cell 5, line 2)" in mapped
    assert "#cell" not in mapped


@pytest.mark.parametrize(("text", "message"), [
    ("vscode://file/{file}:{line}", "unknown field {file}; use {path}, {line} and {col}"),
    ("idea://open?line={line}", "has no {path}"),
    ("vscode://file/{path", "expected '}' before end of string"),
])
def test_a_bad_link_format_is_one_usage_line(text: str, message: str) -> None:
    with pytest.raises(LinkFormatError, match=re.escape(message)):
        parse_link_format(text)
    root = str(FIXTURES / "flat_scripts")
    for command in (["check", root], ["map", root], ["map", root, "-f", "dot"], ["calls", root], ["tour", root],
                    ["goto", root, "train.main"], ["callers", root, "train.main"], ["callees", root, "train.main"],
                    ["trace", root]):
        result = runner.invoke(app, [*command, "--link-format", text])
        assert result.exit_code == 2, (command, result.output)
        assert result.stderr.count("\n") == 1 and message in result.stderr
    from_variable = runner.invoke(app, ["map", str(FIXTURES / "flat_scripts")], env={"REPO_READER_LINK_FORMAT": text})
    assert from_variable.exit_code == 2 and message in from_variable.stderr


def test_link_formats_fill_in_the_absolute_path_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "my repo").mkdir()
    file = (tmp_path / "my repo").resolve().as_posix() + "/model.py"
    default = Locator.for_root(tmp_path / "my repo", hyperlinks=True, cwd=tmp_path)
    assert default.target("model.py", 12, 5) == Path(file).as_uri()  # today's link: the file
    vscode = Locator.for_root(tmp_path / "my repo", hyperlinks=True, cwd=tmp_path,
                              link_format="vscode://file/{path}:{line}:{col}")
    assert vscode.target("model.py", 12, 5) == f"vscode://file/{file.replace(' ', '%20')}:12:5"
    idea = Locator.for_root(tmp_path / "my repo", link_format="idea://open?file={path}&line={line}")
    assert idea.target("model.py", 12) == f"idea://open?file={file.replace(' ', '%20')}&line=12"
    assert vscode.text("model.py", 12, 5) == "my repo/model.py:12:5"  # the text shown stays the plain path


def test_goto_links_carry_the_line_with_the_variable_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from repo_reader.cli.output import make_locator

    monkeypatch.setenv("REPO_READER_LINK_FORMAT", "vscode://file/{path}:{line}:{col}")
    console = Console(force_terminal=True, width=200)
    result = runner.invoke(app, ["goto", str(FIXTURES / "flat_scripts"), "train.main", "--lines", "0"])
    assert result.exit_code == 0 and "\x1b]8;" not in result.stdout  # piped: no links
    locator = make_locator(FIXTURES / "flat_scripts", console, os.environ["REPO_READER_LINK_FORMAT"])
    assert locator.hyperlinks and locator.target("train.py", 56, 1).endswith("/flat_scripts/train.py:56:1")
    assert not make_locator(FIXTURES / "flat_scripts", console, None, to_file=True).hyperlinks


def test_warnings_on_stderr_name_files_from_the_current_directory(elsewhere: str) -> None:
    result = runner.invoke(app, ["calls", str(FIXTURES / "messy"), "--no-cache"])
    assert result.exit_code == 0
    assert f"repo-reader: warning: {elsewhere}/messy/binary_blob.py: binary file (contains NUL bytes); skipped" \
        in result.stderr.splitlines()
    assert f"repo-reader: warning: {elsewhere}/messy/legacy_py2.py:5: does not parse as Python 3" in result.stderr


def test_a_file_that_may_define_a_missing_name_is_named_from_here(elsewhere: str) -> None:
    result = runner.invoke(app, ["goto", str(FIXTURES / "messy"), "Broken"])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert f"{elsewhere}/messy/broken_syntax.py:7 may define it but did not parse" in result.stderr
