"""Fixtures: the minipack with hostile zone names, 2 000 Voronoi parcels, analyzed once."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _parcels_helpers import Analysed, analyze, hostile_pack


@pytest.fixture(scope="module")
def analyzed(tmp_path_factory: pytest.TempPathFactory) -> Analysed:
    return analyze(hostile_pack(tmp_path_factory.mktemp("pp") / "pack"))


@pytest.fixture(scope="module")
def analyzed_public(tmp_path_factory: pytest.TempPathFactory) -> Analysed:
    return analyze(hostile_pack(tmp_path_factory.mktemp("pp") / "pack", public=True))
