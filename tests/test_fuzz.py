"""Property-based fuzzing of the static side: generated Python (hypothesmith), notebooks, .gitignore
and pyproject.toml files never make an exception escape, never run past a time limit, and never make
repo-reader read a file outside the root. The budget is bounded (this file takes well under a minute; REPO_READER_FUZZ_SCALE=10 runs ten times
as many inputs); `--hypothesis-show-statistics` reports how many inputs each property tried."""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

import hypothesmith
import pathspec
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from helpers import report_strings
from rich.console import Console

from helpers import reads_recorded

from repo_reader.api import Analysis, RepoError, analyse
from repo_reader.lint.run import check_repository
from repo_reader.navigate.api import tour_of
from repo_reader.navigate.sources import Sources
from repo_reader.passes.commands import find_console_scripts, toml_problems
from repo_reader.render.html import render_html
from repo_reader.render.locations import Locator
from repo_reader.render.map_json import render_map_json
from repo_reader.render.map_rich import render_map_rich
from repo_reader.render.tour_rich import render_tour_rich
from repo_reader.scan.ignore import is_ignored, parse_gitignore
from repo_reader.scan.source import Unreadable, read_source

CANARY = "canary-outside-the-root"
SCALE = int(os.environ.get("REPO_READER_FUZZ_SCALE", "1"))  # more examples for a longer run: 10, 100
FUZZ = settings(max_examples=200 * SCALE, deadline=timedelta(seconds=20), database=None,  # nothing written into the checkout
                phases=[Phase.explicit, Phase.generate, Phase.shrink],  # no .hypothesis/patches either
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
QUICK = settings(FUZZ, max_examples=300 * SCALE, deadline=timedelta(seconds=2))

json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                           max_leaves=30)
sources = st.one_of(st.text(max_size=200), st.lists(st.text(max_size=40), max_size=5), json_values)
cells = st.fixed_dictionaries({"cell_type": st.sampled_from(["code", "markdown", "raw", 3]), "source": sources})
notebooks = st.one_of(
    st.builds(lambda cells_, extra: json.dumps({"cells": cells_, **extra}), st.lists(cells, max_size=4),
              st.dictionaries(st.sampled_from(["nbformat", "metadata"]), json_values, max_size=2)),
    st.builds(json.dumps, json_values),
    st.builds(lambda depth: "[" * depth + "]" * depth, st.integers(0, 6000)),
    st.text(max_size=100),
)
GLOB = ["a", "b", "ab", "*", "**", "?", "/", "[", "]", "!", "-", "\\", "[a-b]", "[!a]", "[z-a]", "[:alpha:]", " ", "#"]
gitignores = st.lists(st.lists(st.sampled_from(GLOB), max_size=10).map("".join), max_size=8).map("\n".join)
TOML = ["[tool]", "[project]", "[project.scripts]", "[tool.poetry.scripts]", "poetry = 5", "scripts = 'x'",
        "a = 'pkg.mod:main'", "b = [", "]", "{", "}", "=", "\"", "x = 1", "[[a]]", "\n"]
tomls = st.one_of(st.lists(st.sampled_from(TOML), max_size=12).map("\n".join),
                  st.builds(lambda depth: "a = " + "[" * depth + "]" * depth, st.integers(0, 6000)))
NAMES = ["Net", "Block", "Data", "main", "train", "f0", "f1", "model", "pkg.f0", "pkg.f1", "x"]
TORCH_LIKE = [  # statements whose names refer to each other across files: models, loops, entries, imports
    "import torch\nfrom torch import nn\n", "from {m} import {a}\n", "import {m} as {b}\n",
    "class {a}(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.{b} = {c}()\n"
    "    def forward(self, x):\n        return self.{b}(x)\n",
    "class {a}({b}):\n    pass\n", "class {a}(torch.utils.data.Dataset):\n    def __getitem__(self, i):\n"
    "        return {b}(i)\n",
    "def {a}(model, loader, opt):\n    for x in loader:\n        loss = model(x).sum()\n        loss.backward()\n"
    "        opt.step()\n    {b}({c})\n",
    "{a} = {b}()\n", "{a} = {b}\n", "if __name__ == '__main__':\n    {a}({b}(), None, None)\n",
    "parser.add_argument('--{a}', default={b}, help='{c}')\n", "with torch.no_grad():\n    {a}.eval()\n",
    "{a}.{b} = {c}\n", "for {a} in {b}:\n    {c}({a})\n",
]
torch_like = st.lists(st.builds(lambda template, a, b, c, m: template.format(a=a, b=b, c=c, m=m),
                                st.sampled_from(TORCH_LIKE), *[st.sampled_from(NAMES)] * 3,
                                st.sampled_from(["pkg", "pkg.f0", "pkg.f1", "train", "torch"])),
                      max_size=12).map("".join)
python_files = st.lists(st.one_of(torch_like, torch_like, hypothesmith.from_grammar(auto_target=False),
                                  hypothesmith.from_node(auto_target=False), st.text(max_size=300)), min_size=1, max_size=3)


def _repository(base: Path, python: list[str], notebook: str, gitignore: str, toml: str) -> Path:
    root, outside = base / "repo", base / "outside"
    (root / "pkg").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.py").write_text(f"{CANARY} = 1\n")
    for number, text in enumerate(python):
        (root / "pkg" / f"f{number}.py").write_text(text, encoding="utf-8", errors="surrogatepass")
    (root / "nb.ipynb").write_text(notebook, encoding="utf-8", errors="surrogatepass")
    (root / ".gitignore").write_text(gitignore, encoding="utf-8", errors="surrogatepass")
    (root / "pyproject.toml").write_text(toml, encoding="utf-8", errors="surrogatepass")
    (root / "train.py").write_text("import torch\nfrom pkg import f0\n\nif __name__ == '__main__':\n    f0.main()\n")
    os.symlink(outside, root / "linked")
    os.symlink(outside / "secret.py", root / "secret.py")
    os.symlink(outside / "secret.py", root / "README.md")
    return root


@FUZZ
@given(python=python_files, notebook=notebooks, gitignore=gitignores, toml=tomls)
def test_a_fuzzed_repository_is_mapped_checked_and_rendered(python: list[str], notebook: str, gitignore: str,
                                                            toml: str) -> None:
    base = Path(tempfile.mkdtemp(prefix="repo-reader-fuzz-"))
    try:
        root = _repository(base, python, notebook, gitignore, toml)
        rules, _ = parse_gitignore(gitignore, "")
        with reads_recorded() as opened:
            try:
                analysis = analyse(root, use_cache=False)
            except RepoError as error:  # the .gitignore hid every file: a one-line error
                assert "no Python files or notebooks found" in str(error) and is_ignored("train.py", False, rules)
                return
            check_repository(root, use_cache=False)
            output = _render(root, analysis)
        assert not [path for path in opened if path.startswith(str(base / "outside"))]
        assert CANARY not in output
        warned = {warning.path for warning in analysis.repo_map.warnings}
        for name, is_dir in [("linked", True), ("secret.py", False), ("README.md", False)]:
            assert name in warned or is_ignored(name, is_dir, rules)
    finally:
        shutil.rmtree(base)


def _render(root: Path, analysis: Analysis) -> str:
    """The map and the tour as a terminal, JSON and HTML show them."""
    console = Console(file=io.StringIO(), width=120, color_system=None)
    render_map_rich(analysis.repo_map, console, Locator.for_root(root))
    tour = tour_of(analysis)
    render_tour_rich(tour, console, Locator.for_root(root), Sources(root))
    html = render_html(analysis.repo_map, analysis.graph, tour, Sources(root))
    shown = report_strings(html, everything=True)  # the report's sources and drawings, inflated
    return console.file.getvalue() + render_map_json(analysis.repo_map) + shown  # type: ignore[attr-defined]


@QUICK
@given(text=gitignores, names=st.lists(st.text(st.sampled_from("ab*?[]!-\\ "), min_size=1, max_size=60), max_size=5))
def test_any_gitignore_parses_and_matches_quickly(text: str, names: list[str]) -> None:
    rules, problems = parse_gitignore(text, "")
    assert all(problem.startswith("line ") for problem in problems)
    for name in names:
        is_ignored(name, False, rules)
        is_ignored("/".join(name), True, rules)


SIMPLE_GLOB = ["a", "b", "*", "?", "/", "**/", "/**", "[ab]"]


@QUICK
@given(pattern=st.lists(st.sampled_from(SIMPLE_GLOB), min_size=1, max_size=6).map("".join)
       .filter(lambda pattern: not pattern.endswith("/") and "***" not in pattern),
       path=st.lists(st.sampled_from(["a", "b", "ab", "ba"]), min_size=1, max_size=4).map("/".join))
def test_gitignore_matching_agrees_with_pathspec(pattern: str, path: str) -> None:
    """pathspec's gitwildmatch (a maintained implementation) as the oracle, on inputs small enough for
    its regex; a path counts as ignored when it or a folder above it is, as in a walk. Left out where
    pathspec and git disagree (git is right; tests/test_wildmatch.py holds git's answers): a trailing
    slash (pathspec cannot tell a folder from a file), `***`, and `[!a]`, which pathspec lets match `/`."""
    rules, _ = parse_gitignore(pattern, "")
    parts = path.split("/")
    ours = any(is_ignored("/".join(parts[:end]), True, rules) for end in range(1, len(parts))) \
        or is_ignored(path, False, rules)
    assert ours == pathspec.GitIgnoreSpec.from_lines([pattern]).match_file(path)


@QUICK
@given(notebook=notebooks)
def test_any_notebook_is_read_or_refused_in_one_line(notebook: str) -> None:
    try:
        source = read_source(notebook.encode("utf-8", errors="surrogatepass"), True)
    except Unreadable as error:
        assert "\n" not in str(error)
    else:
        assert isinstance(source.text, str) and len(source.cell_starts) == len(source.cell_numbers)


@QUICK
@given(toml=tomls)
def test_any_pyproject_gives_scripts_or_a_warning(toml: str) -> None:
    texts = {"pyproject.toml": toml}
    scripts = find_console_scripts(texts)
    problems = toml_problems(texts)
    assert not (scripts and problems)
    assert all(message.startswith("not valid TOML") for _, message in problems)
