"""Fixtures: the minipack with hostile zone names, 2 000 Voronoi parcels, analysed once."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _parcels_helpers import Analysed, analyse, hostile_pack


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> Analysed:
    return analyse(hostile_pack(tmp_path_factory.mktemp("pp") / "pack"))


@pytest.fixture(scope="module")
def analysed_public(tmp_path_factory: pytest.TempPathFactory) -> Analysed:
    return analyse(hostile_pack(tmp_path_factory.mktemp("pp") / "pack", public=True))
