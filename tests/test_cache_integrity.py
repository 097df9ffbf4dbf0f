"""The caches hold data, not code: a flipped bit, a wrong-typed entry or a planted pickle is a miss
and the cache is rebuilt; a relative XDG_CACHE_HOME is ignored; other users' files are not read."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
from helpers import FIXTURES

from repo_reader.api import build_map
from repo_reader.cache_format import Mismatch, decoder, encoder, seal, unseal
from repo_reader.model import RepoMap
from repo_reader.scan import cache
from repo_reader.scan.load import scan_repository


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())


def test_a_flipped_bit_anywhere_is_caught_and_the_cache_rebuilt(cache_home: Path) -> None:
    fresh = build_map(FIXTURES / "flat_scripts", use_cache=False)
    build_map(FIXTURES / "flat_scripts")
    for path in _files(cache_home):
        data = bytearray(path.read_bytes())
        for position in range(0, len(data), max(1, len(data) // 40)):  # 40 positions through each file
            flipped = bytearray(data)
            flipped[position] ^= 1 << (position % 8)
            assert unseal(bytes(flipped)) is None
        data[len(data) // 2] ^= 0x10
        path.write_bytes(bytes(data))
    assert build_map(FIXTURES / "flat_scripts") == fresh
    assert scan_repository(FIXTURES / "flat_scripts").cache_hits == 5  # rebuilt by the map above


def test_a_wrong_typed_entry_is_a_miss(cache_home: Path) -> None:
    repo = cache_home.parent / "repo"
    repo.mkdir()
    (repo / "a.py").write_text("def f():\n    return 1\n")
    scan_repository(repo)
    pack = _files(cache_home)[0]
    entries = unseal(pack.read_bytes())
    assert isinstance(entries, dict) and len(entries) == 1
    key = next(iter(entries))
    for forged in [42, ("a.py", None), ("a.py", (1,) * 19, None), ("a.py", None, ("warning", "line 3"))]:
        pack.write_bytes(seal({key: forged}))  # a valid digest over data of the wrong shape
        scan = scan_repository(repo)
        assert scan.cache_hits == 0 and [facts.module for facts in scan.modules] == ["a"]


def test_the_decoder_checks_every_value() -> None:
    repo_map = build_map(FIXTURES / "flat_scripts", use_cache=False)
    plain = encoder(RepoMap)(repo_map)
    assert decoder(RepoMap)(plain) == repo_map
    edges = list(plain)
    edges[6] = (edges[6][0], edges[6][1], edges[6][2], edges[6][3][:-1] + ("1",), *edges[6][4:])  # a line number as text
    with pytest.raises(Mismatch):
        decoder(RepoMap)(tuple(edges))


def test_a_planted_pickle_is_never_loaded(cache_home: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, (f"touch {marker}",))

    build_map(FIXTURES / "flat_scripts")
    for path in _files(cache_home):
        path.write_bytes(pickle.dumps(Payload()))
    assert build_map(FIXTURES / "flat_scripts") == build_map(FIXTURES / "flat_scripts", use_cache=False)
    assert not marker.exists()


def test_a_relative_cache_home_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", "relative-cache")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.cache_folder() == tmp_path / "home" / ".cache" / "repo-reader" / f"facts-{cache.FACTS_VERSION}"
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "a.py").write_text("x = 1\n")
    build_map(tmp_path / "repo")
    assert not (tmp_path / "relative-cache").exists() and (tmp_path / "home" / ".cache" / "repo-reader").is_dir()


def test_a_fifo_in_the_cache_folder_does_not_block(cache_home: Path) -> None:
    build_map(FIXTURES / "flat_scripts")
    for path in _files(cache_home):
        path.unlink()
        os.mkfifo(path)
    assert scan_repository(FIXTURES / "flat_scripts").cache_hits == 0  # would block forever on open()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="giving a file away needs root")
def test_a_file_owned_by_someone_else_is_not_read(cache_home: Path) -> None:
    build_map(FIXTURES / "flat_scripts")
    for path in _files(cache_home):
        os.chown(path, 12345, 12345)
    assert scan_repository(FIXTURES / "flat_scripts").cache_hits == 0
