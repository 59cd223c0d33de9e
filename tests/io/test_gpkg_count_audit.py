"""qzgeo.io.gpkg_count: the stale-count warning says how many features GDAL read twice.

Oracle: GDAL's unfiltered Arrow read (its row count) against SQLite's ``count(*)``.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import geopandas as gpd
import pyogrio
import shapely

from qzgeo.io.vector import read_layer
from qzgeo.notices import notices_of

N = 12


def test_the_warning_counts_the_features_read_twice(tmp_path: Path) -> None:
    boxes = [shapely.box(36_564_000 + 500 * i, 2_399_000, 36_564_300 + 500 * i, 2_399_300)
             for i in range(N)]  # fmt: skip
    path = tmp_path / "parcels.gpkg"
    gpd.GeoDataFrame({"pid": range(N)}, geometry=boxes, crs="EPSG:4524").to_file(
        path, driver="GPKG", layer="parcels"
    )
    with contextlib.closing(sqlite3.connect(path)) as con:
        con.execute("DROP TRIGGER trigger_delete_feature_count_parcels")
        con.execute("DELETE FROM parcels WHERE fid IN (3, 7)")  # the count stays N
        con.commit()
        rows = con.execute("SELECT count(*) FROM parcels").fetchone()[0]
    gdal_rows = pyogrio.read_arrow(path, columns=["pid"], read_geometry=False)[1].num_rows
    twice = gdal_rows - rows
    assert twice == 2  # GDAL's artifact as it stands (3.12): the last two rows again
    gdf = read_layer(path)
    assert len(gdf) == rows
    (said,) = [m for m in notices_of(gdf).messages() if "gpkg_ogr_contents" in m]
    assert f"returned {twice} feature(s) twice" in said, said
    assert f"says {N} features, the table holds {rows} " in said, said
