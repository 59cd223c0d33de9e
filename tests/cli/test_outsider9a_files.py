"""An outsider's files from other producers against check, analyze and convert (round 9a).

Each case is a file as another tool writes it: a GeoPackage layer declared "Geometry Z", a
layer with arcs, a DBF with 19-digit parcel codes in an ``N(19,0)`` field, an Excel CSV in GBK,
a GeoJSON of Gauss-Krüger metres without a ``"crs"`` member. Areas are compared with
pyproj.Geod on the rings (GRS80 = the CGCS2000 ellipsoid), which shares no code with qzgeo.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from _cli import assert_exit2, qzgeo

X0, Y0 = 570244.0, 2428420.0  # EPSG:4545 metres inside 钦州高新区 (108.68E, 21.95N)


def _geometry_z_gpkg(path: Path) -> Path:
    """A GeoPackage whose layer is declared "GEOMETRY" with Z, as 3D CAD exports and PostGIS
    views of mixed types write it (the features themselves are plain Polygon Z)."""
    box = shapely.force_3d(shapely.box(X0, Y0, X0 + 300, Y0 + 300), 5.0)
    gpd.GeoDataFrame({"名称": ["乙"]}, geometry=[box], crs=4545).to_file(path, layer="sites")
    with sqlite3.connect(path) as con:
        con.execute("UPDATE gpkg_geometry_columns SET geometry_type_name = 'GEOMETRY', z = 1")
    con.close()
    return path


@pytest.mark.parametrize("cmd", ["check", "analyze", "convert"])
def test_layer_declared_geometry_z_is_exit_2_not_a_traceback(tmp_path: Path, cmd: str) -> None:
    src = _geometry_z_gpkg(tmp_path / "宗地.gpkg")
    args = {
        "check": ["check", src],
        "analyze": ["analyze", "--parcels", src, "--out", tmp_path / "out"],
        "convert": ["convert", src, tmp_path / "宗地.geojson"],
    }[cmd]
    res = qzgeo(*args)  # was pyogrio.errors.GeometryError: Geometry type is not supported
    assert_exit2(res, "宗地.gpkg", "'Geometry Z'", "ogr2ogr -dim XY")


def test_one_geometry_z_layer_blames_only_itself_in_a_pack(mini: Path) -> None:
    """The other layers of the same GeoPackage still read: one problem, for that layer."""
    with sqlite3.connect(mini / "layers" / "mini.gpkg") as con:
        con.execute(
            "UPDATE gpkg_geometry_columns SET geometry_type_name = 'GEOMETRY', z = 1 "
            "WHERE table_name = 'zones'"
        )
    con.close()
    res = qzgeo("validate", "--pack", mini)
    assert_exit2(res, "1 problem(s)", "layer 'zones'", "'Geometry Z'")
    assert "layer 'control_lines'" not in res.output, res.output
