"""README.md's examples are real: the map of the bundled example byte for byte, the tour, trace and
check outputs it shows, and every `repo-reader ...` command it gives runs."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from repo_reader.cli import app

ROOT = Path(__file__).resolve().parent.parent


def test_the_readme_example_is_what_map_prints() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = re.search(r"`repo-reader map fixtures/flat_scripts`.*?```text\n(.*?)```", readme, re.DOTALL)
    assert shown is not None
    previous = os.getcwd()
    os.chdir(ROOT)
    try:
        result = CliRunner().invoke(app, ["map", "fixtures/flat_scripts", "--no-cache"], env={"COLUMNS": "100"})
    finally:
        os.chdir(previous)
    assert result.exit_code == 0
    assert result.output == shown.group(1)


README = (ROOT / "README.md").read_text(encoding="utf-8")
PLACEHOLDERS = {"./repo": "fixtures/flat_scripts"}  # the README's stand-in for "your repository"


def readme_commands() -> list[str]:
    """Every `repo-reader ...` the README shows: the lines of its bash blocks (comments and the `pip`
    part of `pip ... && repo-reader ...` left out) and its inline examples; a syntax line with
    upper-case placeholders (`repo-reader map PATH`) is not an example."""
    found: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", README, re.DOTALL):
        for line in block.splitlines():
            for part in line.split("  #", 1)[0].split("&&"):
                if part.strip().startswith("repo-reader "):
                    found.append(part.strip())
    for inline in re.findall(r"`(repo-reader [^`]+)`", README.replace("\n", " ")):
        if not re.search(r"\b[A-Z]{3,}\b", inline):
            found.append(re.sub(r"\s+", " ", inline))
    return list(dict.fromkeys(found))


def _argv(command: str, outputs: Path) -> list[str]:
    words = shlex.split(command)[1:]
    words = [PLACEHOLDERS.get(word, word) for word in words]
    for index, word in enumerate(words[:-1]):
        if word in ("-o", "--output"):
            words[index + 1] = str(outputs / words[index + 1])  # never into this checkout
    return words


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Result]:
    """Each README example run once, from the repository's root as the README's outputs are."""
    outputs = tmp_path_factory.mktemp("readme-outputs")
    previous = os.getcwd()
    os.chdir(ROOT)
    try:
        return {command: CliRunner().invoke(app, _argv(command, outputs), env={"COLUMNS": None})
                for command in readme_commands()}
    finally:
        os.chdir(previous)


def test_the_readme_shows_the_examples_this_test_runs() -> None:
    commands = readme_commands()
    for expected in ("repo-reader map fixtures/flat_scripts", "repo-reader check fixtures/dynamic_faults --dynamic",
                     "repo-reader trace fixtures/flat_scripts", "repo-reader goto fixtures/gpt_project GPT.forward",
                     "repo-reader map ./repo --format html -o repo-map.html",
                     "repo-reader tour fixtures/flat_scripts --max-stops 5 --lines 3"):
        assert expected in commands
    assert not any("PATH" in command for command in commands)


def test_every_readme_example_runs(ran: dict[str, Result]) -> None:
    for command, result in ran.items():
        expected = 1 if command.startswith("repo-reader check") else 0  # check exits 1 when it finds something
        assert result.exit_code == expected, (command, result.output[-2000:])
        assert "error" not in result.stderr.lower() and "Traceback" not in result.output, command


def test_the_readme_outputs_are_what_the_examples_print(ran: dict[str, Result]) -> None:
    tour = _shown("`repo-reader tour fixtures/flat_scripts --max-stops 5 --lines 3`")
    printed = [line.rstrip() for line in ran["repo-reader tour fixtures/flat_scripts --max-stops 5 --lines 3"].stdout.splitlines()]
    assert printed == tour
    printed = [line.rstrip() for line in ran["repo-reader trace fixtures/flat_scripts"].stdout.splitlines()
               if not line.startswith("Isolation:")]  # depends on whether bubblewrap works here
    shown = [line for line in _shown("`repo-reader trace fixtures/flat_scripts`") if not line.startswith("Isolation:")]
    start, end = shown[: shown.index("...")], shown[shown.index("...") + 1:]
    assert printed[: len(start)] == start and printed[-len(end):] == end
    checked = ran["repo-reader check fixtures/dynamic_faults --dynamic"].stdout.splitlines()
    for line in _shown("`repo-reader check fixtures/dynamic_faults --dynamic`"):
        assert any(found.startswith(line.removesuffix("...")) for found in checked), line


def test_the_option_tables_examples_run() -> None:
    """Values the tables give as examples: `--select`'s codes must name rules that exist."""
    row = re.search(r"^\| `--select CODES`.*\(`([^`]+)`\) \|$", README, re.MULTILINE)
    assert row is not None
    result = CliRunner().invoke(app, ["check", str(ROOT / "fixtures" / "check_static"), "--select", row.group(1),
                                      "--ignore", row.group(1), "--no-cache"])
    assert result.exit_code == 0 and result.stdout.startswith("All checks passed"), result.output


def _shown(introduction: str) -> list[str]:
    block = re.search(re.escape(introduction) + r"[^\n]*\n+```text\n(.*?)```", README, re.DOTALL)
    assert block is not None, introduction
    return [line.rstrip() for line in block.group(1).splitlines()]


def _help_texts() -> dict[tuple[str, str], str]:
    import typer

    group = typer.main.get_command(app)
    return {(name, param.name or ""): getattr(param, "help", None) or ""
            for name, command in group.commands.items() for param in command.params}  # type: ignore[attr-defined]


FIXTURE = str(ROOT / "fixtures")
SMALL_CNN = ["trace", f"{FIXTURE}/trace_zoo", "--model", "small_cnn.SmallCNN", "--device", "meta", "--route", "static"]
# (command, parameter) whose --help gives an example → the example, taken from the help text, run
HELP_EXAMPLES = {
    ("check", "select"): lambda example: ["check", f"{FIXTURE}/check_static", "--select", example, "--no-cache"],
    ("check", "explain"): lambda example: ["check", "--explain", example],
    ("goto", "symbol"): lambda example: ["goto", f"{FIXTURE}/{_defines(example)}", example],
    ("callers", "symbol"): lambda example: ["callers", f"{FIXTURE}/{_defines(example)}", example],
    ("callees", "symbol"): lambda example: ["callees", f"{FIXTURE}/{_defines(example)}", example],
    ("trace", "inputs"): lambda example: [*SMALL_CNN, "--input", example.replace("[name=]", "x=").replace("[:dtype]", ":float32")],
    ("trace", "link_format"): lambda example: [*SMALL_CNN, "--link-format", example],
    ("show", "inputs"): lambda example: ["show", f"{FIXTURE}/line_shapes", "SmallCNN.forward", "--model", "cnn.SmallCNN",
                                         "--route", "static", "--input",
                                         example.replace("[name=]", "images=").replace("[:dtype]", ":float32")],
    **{(name, "link_format"): (lambda name: lambda example: [name, f"{FIXTURE}/flat_scripts", "--link-format", example,
                                                             *(["train.main"] if name in ("goto", "callers", "callees") else [])])(name)
       for name in ("map", "calls", "tour", "goto", "callers", "callees", "check")},
}
NOT_EXAMPLES = {("trace", "init")}  # `key=value` is the syntax, not a value to run
EXAMPLE_IN_HELP = re.compile(r"e\.g\. (\S+)|: ([\w.]+(?:, ?[\w.]+)*)\.?$|(\S*\dx\d\S*?);")


def _defines(symbol: str) -> str:
    return "gpt_project" if symbol.startswith("GPT") else "flat_scripts"


def _examples(help_text: str) -> list[str]:
    """The example values a help text gives: after `e.g.`, a list closing it after a colon
    (`: GPT.forward, train.main.`), or a shape such as `2x3x224x224`."""
    found = []
    for match in EXAMPLE_IN_HELP.finditer(help_text):
        text = next(group for group in match.groups() if group)
        found += [part.rstrip(".") for part in re.split(r", ?", text)]
    return [part for part in found if re.search(r"[A-Z]{2}\d|\w\.\w|\dx\d|\{path\}", part)]


def test_every_help_example_is_run_by_this_test() -> None:
    with_examples = {key for key, text in _help_texts().items() if _examples(text)}
    assert with_examples - NOT_EXAMPLES == set(HELP_EXAMPLES)
    assert _examples(_help_texts()[("check", "select")]) == ["RR1", "RR304"]
    assert _examples(_help_texts()[("goto", "symbol")]) == ["GPT.forward", "train.main"]


@pytest.mark.parametrize("key", sorted(HELP_EXAMPLES))
def test_help_examples_run(key: tuple[str, str]) -> None:
    text = _help_texts()[key]
    examples = _examples(text)
    if key == ("check", "select"):
        examples = [",".join(examples)]  # one comma-separated value
    assert examples, text
    for example in examples:
        result = CliRunner().invoke(app, HELP_EXAMPLES[key](example))
        assert result.exit_code in (0, 1), (key, example, result.output[-1500:])
        assert "error" not in result.stderr.lower(), (key, example, result.stderr)
