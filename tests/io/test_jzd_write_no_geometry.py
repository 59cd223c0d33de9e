"""A 界址点 output of a layer with features that have no geometry (a GeoPackage or DBF row
whose shape was deleted in QGIS/ArcGIS, a CSV cell that did not parse).

Every feature without one: the zone of the data's centre was taken from NaN bounds, a
``ValueError`` traceback. Some without one: "feature 0 is empty" without the file or the fix.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from tests.cli._cli import assert_exit2, qzgeo

X0, Y0 = 564_000.0, 2_429_500.0  # CGCS2000 GK CM 108E (EPSG:4545), no prefix


@pytest.mark.parametrize("with_one", [False, True])
def test_features_without_geometry_are_named_with_the_fix(tmp_path: Path, with_one: bool) -> None:
    geoms = [None, shapely.box(X0, Y0, X0 + 100, Y0 + 100) if with_one else None, None]
    src = tmp_path / "宗地.gpkg"
    gpd.GeoDataFrame({"地块名称": ["甲", "乙", "丙"]}, geometry=geoms, crs=4545).to_file(src)
    out = tmp_path / "界址点.txt"
    res = qzgeo("convert", src, out)
    # named by their feature ids, as the reader names them (GeoPackage fids from 1)
    assert_exit2(res, "界址点.txt", "no geometry", "features 1, 3" if with_one else "1, 2, 3")
    assert ".gpkg" in res.output  # the fix: a format that keeps them
    assert not out.exists()
