"""A FileGDB (the ``.gdb`` folder ArcGIS and many bureaus hand out) is read like any file.

GDAL's OpenFileGDB driver writes one here; the oracle is GeographicLib (pyproj) on the
oriented lon/lat rings, sharing no code with qzgeo.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from _cli import MINIPACK, check_json
from oracles import projected_polygon_m2
from shapely.geometry import Polygon

X0, Y0 = 36_564_000.0, 2_399_000.0


@pytest.mark.skipif(
    "OpenFileGDB" not in pyogrio.list_drivers(write=True), reason="GDAL cannot write FileGDB"
)
def test_check_reads_a_filegdb_layer_with_a_hole(tmp_path: Path) -> None:
    shell = [(X0 + 100, Y0 + 100), (X0 + 460, Y0 + 120), (X0 + 430, Y0 + 390), (X0 + 90, Y0 + 410)]
    hole = [(X0 + 200, Y0 + 200), (X0 + 260, Y0 + 200), (X0 + 260, Y0 + 260), (X0 + 200, Y0 + 260)]
    gdf = gpd.GeoDataFrame(
        {"宗地名称": ["试验宗地"]}, geometry=[Polygon(shell, [hole])], crs="EPSG:4524"
    )
    gdb = tmp_path / "宗地.gdb"
    gdf.to_file(gdb, layer="zongdi", driver="OpenFileGDB", engine="pyogrio")
    assert gdb.is_dir()
    want = projected_polygon_m2(shell, [hole], crs="EPSG:4524")
    _, [site] = check_json(f"{gdb}:zongdi", "--pack", MINIPACK)
    assert site["area_m2"] == pytest.approx(want, abs=0.011)
    assert 0 < want < 0.36 * 0.3 * 1e6  # a sane parcel: the hole subtracted, not added
