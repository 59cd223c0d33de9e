"""Outside a coverage, two exclusion classes that overlap each other (a red line on
farmland) count once: the known (constrained) part is their union, the rest unchecked. The
pack and the oracle (shapely in lon/lat, ``pyproj.Geod``) are those of
``test_unchecked_coverage``; its parcels touch RED ∩ FARM outside the districts nowhere, and a
mutant summing the classes instead of uniting them passed the suite."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import shapely
from shapely import box

# the sibling test module, by path (the tests run in importlib mode: no package to import from)
_SPEC = importlib.util.spec_from_file_location(
    "_unchecked_coverage", Path(__file__).with_name("test_unchecked_coverage.py")
)
assert _SPEC is not None and _SPEC.loader is not None
cov = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(cov)


def test_overlapping_exclusions_outside_the_coverage_count_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # across the districts' east edge; outside them, RED (y 21.645-21.66) and FARM (y < 21.65)
    # overlap, and neither covers y > 21.66: their sum would exceed their union, not the piece
    geom = box(108.655, 21.646, 108.675, 21.665)
    overlap_out = cov.RED.intersection(cov.FARM).intersection(geom).difference(cov.COVERAGE)
    assert overlap_out.area > 1e-5  # the case: ~5e-5 square degrees
    monkeypatch.setitem(cov.PARCELS, "red_farm_out", geom)
    result, _, _ = cov.analyze(tmp_path)
    row = result.loc["red_farm_out"]
    want = cov.oracle(shapely.segmentize(geom, cov.STEP))
    for col, value in want.items():
        assert row[col] == pytest.approx(value, rel=1e-6, abs=0.05), col
