"""Shared fixtures: the small hand-made pack under tests/data/minipack."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
MINIPACK = DATA / "minipack"


@pytest.fixture
def minipack(tmp_path: Path) -> Path:
    """A private copy of the minipack that a test may edit."""
    dst = tmp_path / "minipack"
    shutil.copytree(MINIPACK, dst)
    return dst
