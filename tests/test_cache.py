"""The on-disk facts cache: outside the repo, keyed by content, bypassed by --no-cache."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import FIXTURES

from repo_reader.api import build_map
from repo_reader.cache_format import unseal
from repo_reader.render.map_json import render_map_json
from repo_reader.scan.load import scan_repository


def test_warm_map_equals_cold_map_and_notices_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "model.py").write_text("import torch.nn as nn\nclass Net(nn.Module):\n    pass\n")
    cold = render_map_json(build_map(repo))
    warm = render_map_json(build_map(repo))
    assert cold == warm
    assert any((tmp_path / "cache" / "repo-reader").rglob("*"))
    (repo / "model.py").write_text("import torch.nn as nn\nclass Other(nn.Module):\n    pass\n")
    changed = build_map(repo)
    assert [m.qualname for m in changed.models] == ["model.Other"]


def test_no_cache_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "a.py").write_text("x = 1\n")
    build_map(repo, use_cache=False)
    assert not (tmp_path / "cache").exists()


def test_a_corrupt_cache_entry_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "a.py").write_text("def f():\n    return 1\n")
    build_map(repo)
    for entry in (tmp_path / "cache").rglob("*"):
        if entry.is_file():
            entry.write_bytes(b"garbage")
    assert [d.qualname for d in build_map(repo).definitions if d.kind == "function"] == ["a.f"]


def test_the_cached_map_is_the_map(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    fresh = build_map(FIXTURES / "gpt_project", use_cache=False)
    build_map(FIXTURES / "gpt_project")  # stores
    cached = build_map(FIXTURES / "gpt_project")  # loads
    assert cached == fresh and cached.edges and cached.definitions
    assert any((tmp_path / "cache" / "repo-reader").glob("maps-*/*/*"))


def test_one_pack_per_repository_and_an_edited_file_misses_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in "abc":
        (repo / f"{name}.py").write_text(f"def {name}():\n    return 1\n")
    assert scan_repository(repo).cache_hits == 0
    packs = list((tmp_path / "cache").rglob("*.pack"))
    assert len(packs) == 1 and [p for p in (tmp_path / "cache").rglob("*") if p.is_file()] == packs
    assert scan_repository(repo).cache_hits == 3
    (repo / "b.py").write_text("def b2():\n    return 2\n")
    (repo / "c.py").unlink()
    scan = scan_repository(repo)
    assert scan.cache_hits == 1 and sorted(d.qualname for m in scan.modules for d in m.definitions) == ["a", "b2"]
    assert len(unseal(packs[0].read_bytes())) == 2  # only the latest map's entries are kept


def test_an_unwritable_cache_costs_nothing_but_speed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "cache").write_text("a file where the cache folder should be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "a.py").write_text("def f():\n    return 1\n")
    assert [d.qualname for d in build_map(repo).definitions if d.kind == "function"] == ["a.f"]
    assert scan_repository(repo).cache_hits == 0


def test_the_garbage_collector_is_paused_during_analysis_and_restored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    from repo_reader.passes import callgraph  # imported by the analysis when it runs (start-up)

    seen: list[bool] = []
    real = callgraph.build_graph
    monkeypatch.setattr(callgraph, "build_graph", lambda *args: seen.append(gc.isenabled()) or real(*args))
    (tmp_path / "a.py").write_text("def f():\n    return 1\n")
    assert gc.isenabled()
    build_map(tmp_path, use_cache=False)
    assert seen == [False] and gc.isenabled()
    gc.disable()
    try:
        build_map(tmp_path, use_cache=False)
        assert not gc.isenabled()  # restored as it was, not switched on
    finally:
        gc.enable()


def test_a_cached_check_of_an_identical_copy_names_the_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check cache is keyed by content (and the folder's name), so two clones share an entry; the
    report names the folder checked (it named the first clone's path, seen as CI ran in a second clone)."""
    from repo_reader.lint import run

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first, second = tmp_path / "a" / "line_shapes", tmp_path / "b" / "line_shapes"
    for copy in (first, second):
        shutil.copytree(FIXTURES / "line_shapes", copy)
    assert run.check_repository(first).root == str(first)

    def not_again(*args: object) -> None:
        raise AssertionError("the second check should come from the cache")

    monkeypatch.setattr(run, "_check_sources", not_again)
    assert run.check_repository(second).root == str(second)
