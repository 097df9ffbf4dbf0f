"""Point 2: the walk honours .gitignore and excludes, reads every file robustly, and never crashes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import analysis_of

from repo_reader.scan.ignore import is_ignored, parse_gitignore
from repo_reader.scan.load import PARALLEL_THRESHOLD, scan_repository
from repo_reader.scan.source import decode_python


def warnings_of(name: str) -> dict[str, str]:
    return {w.path: w.message for w in analysis_of(name).repo_map.warnings}


def test_messy_repo_reports_each_bad_file_as_a_warning() -> None:
    warnings = warnings_of("messy")
    assert "Python 2 syntax at line 5" in warnings["legacy_py2.py"]
    assert "'(' was never closed" in warnings["broken_syntax.py"]
    assert warnings["binary_blob.py"].startswith("binary file")
    assert "over the 1024 KiB limit" in warnings["huge_generated.py"]
    assert warnings["data/loop"].startswith("symlink loop")
    assert "not valid UTF-8" in warnings["latin1_no_cookie.py"]
    assert "latin1_cookie.py" not in warnings and "bom_file.py" not in warnings


def test_files_with_a_bom_or_a_cookie_or_bad_bytes_are_still_analysed() -> None:
    paths = {f.path for f in analysis_of("messy").repo_map.files}
    assert {"bom_file.py", "latin1_cookie.py", "latin1_no_cookie.py", "exploration.ipynb"} <= paths
    models = {m.qualname for m in analysis_of("messy").repo_map.models}
    assert "bom_file.TinyHead" in models


def test_decoding_follows_the_cookie_and_strips_the_bom() -> None:
    assert decode_python("# -*- coding: latin-1 -*-\nx = 'é'\n".encode("latin-1"))[0].endswith("x = 'é'\n")
    assert decode_python(b"\xef\xbb\xbfx = 1\n") == ("x = 1\n", None)
    text, note = decode_python(b"x = '\xe9'\n")
    assert "\ufffd" in text and note is not None


def test_notebook_locations_point_at_the_cell() -> None:
    repo_map = analysis_of("messy").repo_map
    net = next(m for m in repo_map.models if m.qualname == "exploration.NotebookNet")
    assert (net.path, net.line) == ("exploration.ipynb#cell3", 1)  # the 3rd cell (1-based), its first line
    entry = next(e for e in repo_map.entry_points if e.name == "exploration")
    assert entry.path == "exploration.ipynb#cell4"


def test_gitignore_and_usual_excludes(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("generated/\n*_tmp.py\n!keep_tmp.py\n")
    for name in ["a.py", "generated/b.py", "x_tmp.py", "keep_tmp.py", ".venv/lib/c.py", "build/d.py",
                 "node_modules/e.py", "sub/__pycache__/f.py", "sub/g.py"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x = 1\n")
    (tmp_path / "sub" / ".gitignore").write_text("g.py\n")
    scanned = {facts.path for facts in scan_repository(tmp_path, use_cache=False).modules}
    assert scanned == {"a.py", "keep_tmp.py"}


def test_gitignore_patterns() -> None:
    rules, problems = parse_gitignore("*.py[cod]\n/data/\nlogs/\nfoo/**/bar\n", "")
    assert problems == []
    assert is_ignored("x/a.pyc", False, rules) and not is_ignored("a.py", False, rules)
    assert is_ignored("data", True, rules) and not is_ignored("sub/data", True, rules)
    assert is_ignored("a/logs", True, rules) and is_ignored("foo/a/b/bar", False, rules)


def test_notebook_magics_and_invalid_notebooks(tmp_path: Path) -> None:
    cells = [{"cell_type": "code", "source": ["%matplotlib inline\n", "!pip install x\n", "import torch\n"]}]
    (tmp_path / "ok.ipynb").write_text(json.dumps({"cells": cells, "nbformat": 4}))
    (tmp_path / "bad.ipynb").write_text("{not json")
    scan = scan_repository(tmp_path, use_cache=False)
    assert [facts.path for facts in scan.modules] == ["ok.ipynb"]
    assert scan.warnings[0][0] == "bad.ipynb" and "not a valid Jupyter notebook" in scan.warnings[0][1]


def test_many_files_are_parsed_in_parallel_with_the_same_result(tmp_path: Path) -> None:
    for index in range(80):
        (tmp_path / f"m{index}.py").write_text(f"import torch\nclass M{index}(torch.nn.Module):\n    pass\n")
    scan = scan_repository(tmp_path, use_cache=False)
    assert len(scan.modules) == 80
    assert scan.modules[0].definitions[0].bases == ("torch.nn.Module",)


def test_a_notebook_with_large_outputs_is_still_read(tmp_path: Path) -> None:
    image = "A" * (2 * 1024 * 1024)  # a 2 MB embedded plot
    cells = [{"cell_type": "code", "source": "import torch.nn as nn\nclass Net(nn.Module):\n    pass\n",
              "outputs": [{"data": {"image/png": image}}]}]
    (tmp_path / "big.ipynb").write_text(json.dumps({"cells": cells, "nbformat": 4}))
    scan = scan_repository(tmp_path, use_cache=False)
    assert [facts.path for facts in scan.modules] == ["big.ipynb"] and not scan.warnings


def test_a_worker_pool_that_cannot_start_means_parsing_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import multiprocessing.context

    def no_pool(*args: object, **kwargs: object) -> None:
        raise BlockingIOError("Resource temporarily unavailable")

    monkeypatch.setattr(multiprocessing.context.ForkContext, "Pool", no_pool)
    for number in range(PARALLEL_THRESHOLD + 6):
        (tmp_path / f"m{number}.py").write_text(f"def f{number}():\n    return {number}\n")
    scan = scan_repository(tmp_path, use_cache=False)
    assert len(scan.modules) == PARALLEL_THRESHOLD + 6 and not scan.warnings
