"""The GeoPackages qzgeo writes declare MultiPolygon layers, whatever rows a run has.

GDAL typed a layer by the rows it got: check.gpkg's conflict_patches of a clear site was
"GEOMETRY" (Unknown), analysis.gpkg's layers Polygon in one run and MultiPolygon in the next,
which QGIS and scripts reading a layer by its type met differently. The oracle is the
GeoPackage's own gpkg_geometry_columns table, read with sqlite3.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import geopandas as gpd
import shapely
from packs import all_output, run_cli


def _declared(gpkg: Path) -> dict[str, str]:
    with sqlite3.connect(gpkg) as con:
        rows = con.execute("SELECT table_name, geometry_type_name FROM gpkg_geometry_columns")
        return {str(t): str(k) for t, k in rows}


def test_a_clear_sites_conflict_patches_are_multipolygons(tmp_path: Path) -> None:
    site = tmp_path / "site.gpkg"
    clear = shapely.box(108.62, 21.69, 108.621, 21.691)  # 适箱产业区, inside the boundary
    gpd.GeoDataFrame({"名称": ["甲"]}, geometry=[clear], crs=4490).to_file(site)
    r = run_cli("check", site, "--format", "gpkg", "--out", tmp_path / "out")
    assert r.exit_code == 0, all_output(r)
    got = _declared(tmp_path / "out" / "internal" / "check.gpkg")
    assert got == {"sites": "MULTIPOLYGON", "conflict_patches": "MULTIPOLYGON"}


def test_analysis_layers_are_multipolygons(minipack: Path, tmp_path: Path) -> None:
    r = run_cli("publish", "--pack", minipack, "--out", tmp_path / "out", "--no-maps")
    assert r.exit_code == 0, all_output(r)
    got = _declared(tmp_path / "out" / "internal" / "analysis.gpkg")
    assert got == dict.fromkeys(("available_land", "conflicts", "zone_summary"), "MULTIPOLYGON")
