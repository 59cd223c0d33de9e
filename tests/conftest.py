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


def pytest_sessionstart(session: pytest.Session) -> None:
    """In CI the browser tests must run: a missing Chromium fails the run instead of skipping."""
    import os

    from qzgeo.publish.browser import CHROMIUM, chromium_available

    required = os.environ.get("QZGEO_REQUIRE_BROWSER") == "1" or os.environ.get("CI")
    if required and not chromium_available():
        msg = f"browser tests need Chromium at {CHROMIUM}: apt-get install chromium"
        raise pytest.UsageError(msg)
