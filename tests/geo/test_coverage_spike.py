"""A coverage polygon with a near-degenerate spike keeps its area when densified.

GEOS 3.14's segmentize re-validates a polygon by ``buffer(0)``: for a valid polygon whose
vertex lies within rounding of the edge back from a spike's tip it returned a sliver (the
zone of commit 9c1612e, see ``tests/geo/test_edges.py``). The same polygon mapped exactly to
lon/lat (powers of two and a translation: no rounding) is a 300 m x 1.7 km district piece;
``shapely.segmentize`` at DENSIFY_DEG kept 1.5e-14 of it. Oracle: the polygon's vertices
projected by pyproj (the densified edges differ from those chords by far less than 1e-6).
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyproj import CRS, Transformer
from support import spike_lonlat

from qzgeo.geo.coverage import DENSIFY_DEG, Coverage, coverage_in

EXTENT = (107.9, 20.9, 108.1, 21.1)


def test_segmentize_loses_the_spike_polygon() -> None:
    """The hazard itself (GEOS 3.14.1): if GEOS is fixed this may pass vacuously."""
    p = spike_lonlat()
    assert p.is_valid
    if shapely.segmentize(p, DENSIFY_DEG).area > 0.5 * p.area:
        pytest.skip("this GEOS keeps the polygon")


@pytest.mark.parametrize("epsg", [4545, 4524, 4490])
def test_coverage_in_keeps_a_spike_polygon(epsg: int) -> None:
    p = spike_lonlat()
    cov = Coverage(extent=EXTENT, wkb=shapely.to_wkb(p), layer="districts")
    crs = CRS.from_epsg(epsg)
    got = coverage_in(crs.to_wkt(), cov)
    t = Transformer.from_crs(4490, crs, always_xy=True)
    want = shapely.transform(p, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))
    assert got.is_valid
    assert got.area == pytest.approx(want.area, rel=1e-6)
