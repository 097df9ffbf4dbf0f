"""Shared test fixtures: the fixture mini-repos and snapshot comparison (`pytest --update-snapshots`)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"


def pytest_configure(config: pytest.Config) -> None:
    """Hypothesis keeps its examples and caches in a temporary folder, not in `.hypothesis/` here."""
    try:
        from hypothesis.configuration import set_hypothesis_home_dir
    except ImportError:
        return
    set_hypothesis_home_dir(tempfile.mkdtemp(prefix="repo-reader-hypothesis-"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-snapshots", action="store_true", default=False,
                     help="rewrite tests/snapshots/ from the current output instead of comparing")


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture
def snapshot(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    """`snapshot("map/flat_scripts.json", text)`: compare with the stored file, or rewrite it."""
    update = request.config.getoption("--update-snapshots")

    def check(name: str, text: str) -> None:
        path = SNAPSHOTS / name
        if update or not path.exists():
            if not update:
                pytest.fail(f"no snapshot {path}; run pytest --update-snapshots and review the diff")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        expected = path.read_text(encoding="utf-8")
        assert text == expected, f"output differs from {path}; if intended, run pytest --update-snapshots"

    return check
