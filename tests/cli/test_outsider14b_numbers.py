"""An outsider's parcel files against ``analyze``'s numbers and columns (round 14b).

Areas are compared with pyproj.Geod on the rings (GRS80 = the CGCS2000 ellipsoid), which
shares no code with qzgeo.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from _cli import qzgeo
from pyproj import Geod, Transformer

GEOD = Geod(ellps="GRS80")
TO_LL = Transformer.from_crs(4545, 4490, always_xy=True)

X0, Y0 = 570244.0, 2428420.0  # EPSG:4545 metres inside 钦州高新区 (108.68E, 21.95N)


def _geod_square_m2(x: float, y: float, side: float) -> float:
    lon, lat = TO_LL.transform([x, x + side, x + side, x], [y, y, y + side, y + side])
    return abs(GEOD.polygon_area_perimeter(lon, lat)[0])


def test_parcels_columns_named_like_results_in_another_case_are_kept(tmp_path: Path) -> None:
    """A Shapefile's upper-case AREA_M2, CONFLICT, ZONE_NAME (ArcGIS writes field names in
    capitals) clash with the results' area_m2... in a GeoPackage, whose column names ignore
    case: analyze stopped with exit 2 "cannot write parcels.gpkg ... is the disk full?".
    They are kept as *_input, as the same names in lower case are."""
    src = tmp_path / "宗地.shp"
    box = shapely.box(X0, Y0, X0 + 300, Y0 + 300)
    own = {"AREA_M2": [12345.0], "CONFLICT": ["是"], "ZONE_NAME": ["甲"], "area_m2_in": [1.0]}
    gpd.GeoDataFrame(own, geometry=[box], crs=4545).to_file(src, encoding="UTF-8")
    out = tmp_path / "out"
    res = qzgeo("analyze", "--parcels", src, "--out", out)
    assert res.exit_code == 0, res.output
    got = gpd.read_file(out / "internal" / "parcels.gpkg").iloc[0]
    assert (got["AREA_M2_input"], got["CONFLICT_input"], got["ZONE_NAME_input"]) == (
        12345.0,
        "是",
        "甲",
    )
    assert got["area_m2"] == pytest.approx(_geod_square_m2(X0, Y0, 300.0), abs=0.02)
    assert not got["conflict"]
