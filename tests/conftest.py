"""Shared fixtures: the small hand-made pack under tests/data/minipack."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support import MINIPACK


@pytest.fixture
def minipack(tmp_path: Path) -> Path:
    """A private copy of the minipack that a test may edit."""
    dst = tmp_path / "minipack"
    shutil.copytree(MINIPACK, dst)
    return dst


_CACHE_DIR = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    """The session caches prepared packs in a folder of its own, never in the user's cache
    (~/.cache/qzgeo): every qzgeo call of a test, and every process it starts, inherits it."""
    import os
    import tempfile

    folder = tempfile.mkdtemp(prefix="qzgeo-test-cache-")
    config.stash[_CACHE_DIR] = folder
    os.environ["QZGEO_CACHE_DIR"] = folder


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = config.stash.get(_CACHE_DIR, None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def pytest_sessionstart(session: pytest.Session) -> None:
    """In CI the browser tests must run: a missing Chromium fails the run instead of skipping."""
    import os

    from qzgeo.publish.browser import CHROMIUM, chromium_available

    required = os.environ.get("QZGEO_REQUIRE_BROWSER") == "1" or os.environ.get("CI")
    if required and not chromium_available():
        msg = f"browser tests need Chromium at {CHROMIUM}: apt-get install chromium"
        raise pytest.UsageError(msg)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The one skip mechanism for browser tests: marked ``browser``, skipped without Chromium.

    (In CI a missing Chromium already stopped the session in :func:`pytest_sessionstart`.)
    """
    from qzgeo.publish.browser import CHROMIUM, chromium_available

    if chromium_available():
        return
    skip = pytest.mark.skip(reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """qzgeo's cache folder for this test alone (``$QZGEO_CACHE_DIR``), cache on."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("QZGEO_CACHE_DIR", str(folder))
    monkeypatch.delenv("QZGEO_NO_CACHE", raising=False)
    return folder
