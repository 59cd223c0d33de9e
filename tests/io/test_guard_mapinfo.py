"""A MapInfo .tab (another bureau's data, GDAL reads it) is refused by the driver allow-list:
the message said "Convert the data to GeoPackage" but not how, and qzgeo convert refuses the
.tab too; README and convert --help said "any format GDAL reads"."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import shapely

from tests.cli._cli import assert_exit2, qzgeo

X0, Y0 = 564_000.0, 2_429_500.0  # CGCS2000 GK CM 108E (EPSG:4545), no prefix


def test_mapinfo_tab_refused_with_the_command_that_converts_it(tmp_path: Path) -> None:
    src = tmp_path / "选址.tab"
    box = shapely.box(X0, Y0, X0 + 100, Y0 + 100)
    gpd.GeoDataFrame({"name": ["a"]}, geometry=[box], crs=4545).to_file(src, driver="MapInfo File")
    res = qzgeo("check", src)
    assert_exit2(res, "选址.tab", "'.tab' is not accepted", "ogr2ogr -f GPKG")
    res = qzgeo("convert", src, tmp_path / "选址.gpkg")
    assert_exit2(res, "选址.tab", "ogr2ogr -f GPKG")
