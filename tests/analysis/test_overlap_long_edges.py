"""The land two parcels drawn in GK share is measured along their edges in that plane.

Found by out21: a parcel duplicated in a file (a 10 km square 140 km east of 108°E, in
EPSG:4545) was said to share 99 948 083.58 m² with its copy, while each copy's area_m2 is
99 948 063.04: the shared land was measured between its vertices only (geodesics), the
parcels along their straight GK edges, so `total - overlap_m2`, the land's area as the
README says, came out 20.5 m² short. Oracle: pyproj.Geod on the square's edges cut every
10 m in EPSG:4545 (tests/data/real_shaped/oracles.py).
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from qzgeo.analysis.parcel_overlaps import shared_m2
from tests.data.real_shaped.oracles import projected_polygon_m2

X0, Y0 = 640_000.0, 2_420_000.0  # EPSG:4545: 140 km east of its central meridian, 21.9°N


@pytest.mark.parametrize("side", [1_000.0, 10_000.0])
def test_a_duplicated_parcel_shares_its_own_area(side: float) -> None:
    ring = [(X0, Y0), (X0 + side, Y0), (X0 + side, Y0 + side), (X0, Y0 + side)]
    square = shapely.Polygon(ring)
    want = projected_polygon_m2(ring, crs="EPSG:4545")
    got = shared_m2(np.array([square], dtype=object), np.array([square], dtype=object), "EPSG:4545")
    assert got[0] == pytest.approx(want, abs=0.01)


def test_half_of_a_parcel_over_its_neighbour() -> None:
    a = shapely.box(X0, Y0, X0 + 10_000.0, Y0 + 10_000.0)
    b = shapely.box(X0 + 5_000.0, Y0, X0 + 15_000.0, Y0 + 10_000.0)
    half = [(X0 + 5_000.0, Y0), (X0 + 10_000.0, Y0), (X0 + 10_000.0, Y0 + 10_000.0)]
    want = projected_polygon_m2([*half, (X0 + 5_000.0, Y0 + 10_000.0)], crs="EPSG:4545")
    got = shared_m2(np.array([a], dtype=object), np.array([b], dtype=object), "EPSG:4545")
    assert got[0] == pytest.approx(want, abs=0.01)
