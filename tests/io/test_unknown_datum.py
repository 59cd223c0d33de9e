"""A CRS whose datum qzgeo does not know is read as CGCS2000, and says so.

A CAD or survey export's .prj often names no datum (ESRI ``D_unknown`` on GRS 1980; EPSG:4019
"Not specified (based on GRS 1980 ellipsoid)"). qzgeo read such data as CGCS2000 without a
word: the right guess for a CGCS2000 export, a silent one for a city's local datum. The
warning travels with the result (check's JSON); the area is held against pyproj.Geod on the
file's own coordinates, unprojected by pyproj with the same parameters.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from packs import all_output, run_cli
from pyproj import CRS, Geod, Transformer

ESRI_UNKNOWN = (
    'PROJCS["unknown",GEOGCS["GCS_unknown",DATUM["D_unknown",SPHEROID["GRS_1980",6378137.0,'
    '298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],'
    'PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",500000.0],'
    'PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",108.0],'
    'PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'
)
SQUARE = shapely.box(564_000.0, 2_399_000.0, 564_500.0, 2_399_600.0)  # on the bundled pack


def _warnings(site: Path) -> tuple[list[str], float]:
    r = run_cli("check", site, "--format", "json")
    assert r.exit_code in (0, 1), all_output(r)
    (one,) = json.loads(r.stdout)
    return list(one["warnings"]), float(one["area_m2"])


def _geod_m2(crs: CRS) -> float:
    lonlat = Transformer.from_crs(crs, CRS.from_epsg(4490), always_xy=True)
    ring = shapely.segmentize(SQUARE, 10.0).exterior.coords
    lon, lat = zip(*(lonlat.transform(x, y) for x, y in ring), strict=True)
    return abs(Geod(ellps="GRS80").polygon_area_perimeter(lon, lat)[0])


def test_an_esri_prj_with_d_unknown_is_said(tmp_path: Path) -> None:
    site = tmp_path / "cad_export.shp"
    gpd.GeoDataFrame({"名称": ["甲"]}, geometry=[SQUARE], crs=4545).to_file(site)
    site.with_suffix(".prj").write_text(ESRI_UNKNOWN, encoding="ascii")
    warnings, m2 = _warnings(site)
    (said,) = [w for w in warnings if "datum" in w]
    assert said.startswith("cad_export.shp: its CRS names datum 'unknown' (on GRS 1980)"), said
    assert "read as CGCS2000 with no datum shift" in said and "local" in said, said
    assert m2 == pytest.approx(_geod_m2(CRS.from_wkt(ESRI_UNKNOWN)), abs=0.05)


def test_epsg_4019_is_said(tmp_path: Path) -> None:
    site = tmp_path / "grs80.gpkg"
    lonlat = shapely.box(108.65, 21.70, 108.655, 21.705)
    gpd.GeoDataFrame(geometry=[lonlat], crs=4490).set_crs(4019, allow_override=True).to_file(site)
    warnings, _ = _warnings(site)
    assert [w for w in warnings if "'Not specified (based on GRS 1980 ellipsoid)'" in w]


@pytest.mark.parametrize(
    "crs",
    [
        "EPSG:4545",
        "EPSG:32649",  # WGS 84 / UTM 49N
        "+proj=tmerc +lon_0=108 +k=1 +x_0=500000 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m",
    ],
)
def test_cgcs2000_wgs84_and_a_given_shift_are_quiet(tmp_path: Path, crs: str) -> None:
    site = tmp_path / "site.gpkg"
    geom = gpd.GeoSeries([SQUARE], crs=4545).to_crs(crs)
    gpd.GeoDataFrame(geometry=geom, crs=crs).to_file(site)
    warnings, _ = _warnings(site)
    assert not [w for w in warnings if "datum" in w], warnings
