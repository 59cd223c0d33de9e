"""The part of a feature outside a coverage polygon with a near-degenerate spike.

``shapely.segmentize`` of such a polygon returned a sliver (GEOS 3.14.1, see
``tests/geo/test_coverage_spike.py``): the coverage vanished and a feature half inside it
was told wholly outside. Oracle: ``pyproj.Geod`` of the feature less the polygon, cut by
GEOS in lon/lat (a 50 m box against the polygon's straight lon/lat edges).
"""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from support import geod_ring_area, spike_lonlat

from qzgeo.geo.coverage import Coverage
from qzgeo.io.input_checks import outside_coverage

EXTENT = (107.9, 20.9, 108.1, 21.1)


def test_a_feature_across_a_spike_polygons_edge_is_partly_outside() -> None:
    p = spike_lonlat()
    cov = Coverage(extent=EXTENT, wkb=shapely.to_wkb(p), layer="districts")
    # A 0.0005° box across the polygon's east edge (x = 108.00610369873039), mid-height.
    x, y = 108.00610369873039, 21.035
    feature = shapely.box(x - 0.00025, y - 0.00025, x + 0.00025, y + 0.00025)
    gdf = gpd.GeoDataFrame(geometry=[feature], crs=4490)
    partly, wholly, cuts = outside_coverage(gdf, cov)
    assert partly.tolist() == [0] and wholly.tolist() == []
    _, out_m2, all_m2 = cuts[0]
    want = geod_ring_area(shapely.difference(feature, p))
    assert out_m2 == pytest.approx(want, rel=1e-6)
    assert out_m2 == pytest.approx(all_m2 / 2, rel=1e-3)
