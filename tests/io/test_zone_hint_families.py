"""Data surveyed in the 3-degree zone of CM 108E whose .prj names the 6-degree zone of CM 111E
(``CGCS2000_GK_CM_111E`` picked for ``CGCS2000_3_Degree_GK_CM_108E`` in ArcGIS's list): they
lie 3° east, outside the pack. A neighbour zone of the same family was offered when it put
them in the extent; the other family's zone, 3° off, never was."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from tests.cli._cli import assert_exit2, qzgeo

X0, Y0 = 564_000.0, 2_429_500.0  # CGCS2000 3-degree GK CM 108E (EPSG:4545) metres


def _prj(cm: int, six: bool) -> str:
    name = f"CGCS2000_GK_CM_{cm}E" if six else f"CGCS2000_3_Degree_GK_CM_{cm}E"
    return (
        f'PROJCS["{name}",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",'
        'DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],'
        'PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],'
        'PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],'
        'PARAMETER["False_Northing",0.0],'
        f'PARAMETER["Central_Meridian",{cm}.0],PARAMETER["Scale_Factor",1.0],'
        'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'
    )


@pytest.mark.parametrize(("cm", "six"), [(111, True), (111, False)])
def test_zone_of_the_other_family_is_offered(tmp_path: Path, cm: int, six: bool) -> None:
    src = tmp_path / "宗地.shp"
    box = shapely.box(X0, Y0, X0 + 200, Y0 + 150)
    gpd.GeoDataFrame({"name": ["a"]}, geometry=[box]).to_file(src, engine="pyogrio")
    src.with_suffix(".prj").write_text(_prj(cm, six))
    res = qzgeo("check", src)
    assert_exit2(res, "宗地.shp", "outside the pack extent", "EPSG:4545 (CM 108E)")
