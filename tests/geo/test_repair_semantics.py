"""How an invalid polygon is repaired: shells minus holes (``make_valid`` "structure"), not
the even-odd rule of "linework", which turns the part of a hole outside its shell into land.
Oracle: GEOS's difference of the shell and the hole as separate valid polygons. The test
failed on a mutant the rest of the suite let through."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from shapely import Polygon, box
from support import geod_ring_area

from qzgeo.geo.repair import RepairReport, repair_layer, valid_polygonal


def test_a_hole_reaching_outside_its_shell_is_subtracted_not_added() -> None:
    shell, hole = box(0, 0, 10, 10), box(5, 5, 15, 15)
    bad = Polygon(shell.exterior.coords, [hole.exterior.coords])
    assert not bad.is_valid
    want = shapely.difference(shell, hole)  # 75 m²; even-odd would give 150
    assert valid_polygonal(bad).area == pytest.approx(want.area, rel=1e-12)
    assert valid_polygonal(bad).equals(want)
    rep = RepairReport()
    out = repair_layer(gpd.GeoDataFrame(geometry=[bad], crs="EPSG:4545"), layer_id="t", report=rep)
    assert out.geometry.iloc[0].area == pytest.approx(75.0, rel=1e-12)
    (rec,) = rep.records
    assert rec.action == "repaired"
    lonlat = gpd.GeoSeries([want], crs="EPSG:4545").to_crs("EPSG:4490").iloc[0]
    assert rec.area_after_m2 == pytest.approx(geod_ring_area(lonlat), rel=1e-9)
