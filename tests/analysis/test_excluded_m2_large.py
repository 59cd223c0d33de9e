"""The exclusion-covered m² of a parcel's part outside the pack's extent, for wide parts.

``excluded_m2`` scaled each covered piece at its centroid: 5e-6 off for a 50 km piece, so
``area_m2 = available + constrained + unchecked`` drifted from the overlay's corrected
figures. Oracle: ``support.geod_planar_m2`` (100 m-densified GK rings, ``pyproj.Geod``).
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyproj import CRS
from shapely import box
from support import geod_planar_m2

from qzgeo.analysis.overlay import plan_overlay
from qzgeo.analysis.overlay_plan import ConstraintClass
from qzgeo.analysis.parcel_extent import excluded_m2

GK = "EPSG:4524"
X0, Y0 = 36_600_000.0, 3_000_000.0  # ~109°E, 27°N


@pytest.mark.parametrize("size", [20_000.0, 50_000.0])
def test_excluded_m2_of_a_wide_piece(size: float) -> None:
    piece = box(X0, Y0, X0 + size, Y0 + size)
    red = shapely.MultiPolygon(
        [
            box(X0 - 1, Y0 - 1, X0 + 0.6 * size, Y0 + size + 1),
            box(X0 + 0.8 * size, Y0, X0 + 2 * size, Y0 + 0.5 * size),
        ]
    )
    plan = plan_overlay([ConstraintClass("l", "red", "exclusion", "internal", red)])
    got = excluded_m2(np.array([piece], dtype=object), plan, CRS.from_user_input(GK))[0]
    want = geod_planar_m2(shapely.intersection(piece, red), GK)
    assert got == pytest.approx(want, rel=1e-7 if size <= 20_000 else 1e-6)
