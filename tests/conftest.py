"""Shared fixtures: paths of the repo, the example segments and real data."""

from __future__ import annotations

from pathlib import Path

import shutil

import pytest

from workbench.library import Library

REPO = Path(__file__).resolve().parents[1]
SEGMENTS = REPO / "data" / "segments"
REAL_DATA = REPO.parent / "shared" / "data" / "real"


@pytest.fixture(scope="session")
def real_data() -> Path:
    if not REAL_DATA.is_dir():
        pytest.skip(f"the real datasets are expected beside the repo, at {REAL_DATA}")
    return REAL_DATA


@pytest.fixture(scope="module")
def lib(tmp_path_factory) -> Library:
    """A writable copy of the example segments, one per test module."""
    folder = tmp_path_factory.mktemp("segments")
    for path in SEGMENTS.glob("*.json"):
        shutil.copy(path, folder / path.name)
    return Library(folder)
