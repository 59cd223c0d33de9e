"""Fixtures for the publish tests: a synthetic pack built in a temporary folder."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _publish_helpers import Built, write_pack


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Built:
    monkeypatch.delenv("QZGEO_TIANDITU_KEY", raising=False)
    return write_pack(tmp_path / "pack")
