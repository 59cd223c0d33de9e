"""A "Custom" CRS without an EPSG code: the PostGIS writer's fix is the command-line one.

``qzgeo convert custom.shp postgresql://...`` was refused with "use to_crs('EPSG:4490')", a
Python call a command-line user cannot make. The refusal now names ``--to-crs`` and the
CGCS2000 GK zone whose parameters the CRS has, which is never taken without being asked:
the datum is the user's to know. With ``--to-crs`` of that zone the coordinates are written
as they are in the file (the oracle: the file read by pyogrio, the table by PostGIS).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner

from qzgeo.cli.main import cli

pytestmark = pytest.mark.postgis
Sql = Callable[..., list[tuple[object, ...]]]

CUSTOM = (
    'PROJCS["Custom",GEOGCS["GCS_Custom",DATUM["D_Custom",SPHEROID["CGCS2000",6378137.0,'
    '298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],'
    'PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",'
    '0.0],PARAMETER["Central_Meridian",108.0],PARAMETER["Scale_Factor",1.0],'
    'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'
)


def _custom_shp(tmp_path: Path) -> Path:
    """Two parcels near 108.6°E, 21.7°N in a .prj of CGCS2000 GK CM 108E over ``D_Custom``."""
    boxes = [
        shapely.box(564000.5, 2399000.25, 564150, 2399100),
        shapely.box(564200, 2399000, 564350, 2399100),
    ]
    path = tmp_path / "custom.shp"
    pyogrio.write_dataframe(gpd.GeoDataFrame({"名称": ["a", "b"]}, geometry=boxes), path)
    path.with_suffix(".prj").write_text(CUSTOM, encoding="utf-8")
    return path


def test_refusal_gives_the_command_line_fix(pg_uri: str, pg_schema: str, tmp_path: Path) -> None:
    shp = _custom_shp(tmp_path)
    res = CliRunner().invoke(cli, ["convert", str(shp), f"{pg_uri}?table={pg_schema}.p"])
    assert res.exit_code == 2 and "Traceback" not in res.output, res.output
    assert "to_crs(" not in res.output
    assert "--to-crs EPSG:4490" in res.output and "'Custom'" in res.output
    assert "--to-crs EPSG:4545" in res.output and "datum" in res.output


def test_to_crs_of_its_zone_writes_the_coordinates_as_they_are(
    pg_uri: str, pg_schema: str, pg_sql: Sql, tmp_path: Path
) -> None:
    shp = _custom_shp(tmp_path)
    uri = f"{pg_uri}?table={pg_schema}.p&geom=geom"
    res = CliRunner().invoke(cli, ["convert", str(shp), uri, "--to-crs", "EPSG:4545"])
    assert res.exit_code == 0, res.output
    src = pyogrio.read_dataframe(shp)
    rows = dict(pg_sql(f'SELECT "名称", ST_AsText(geom) FROM {pg_schema}.p'))
    [(srid,)] = pg_sql(f"SELECT DISTINCT ST_SRID(geom) FROM {pg_schema}.p")
    assert srid == 4545
    for name, geom in zip(src["名称"], src.geometry, strict=True):
        got = shapely.from_wkt(str(rows[name]))
        assert shapely.get_coordinates(got) == pytest.approx(
            shapely.get_coordinates(shapely.MultiPolygon([geom])), abs=1e-6
        )
