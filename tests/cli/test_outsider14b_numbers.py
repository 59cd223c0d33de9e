"""An outsider's parcel files against ``analyze``'s numbers and columns (round 14b).

Areas are compared with pyproj.Geod on the rings (GRS80 = the CGCS2000 ellipsoid), which
shares no code with qzgeo.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from _cli import assert_exit2, qzgeo
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


@pytest.mark.parametrize(("ext", "chunked"), [(".geojson", False), (".fgb", True)])
def test_parcels_columns_differing_only_in_case_are_both_kept(
    tmp_path: Path, ext: str, chunked: bool
) -> None:
    """A GeoJSON or FlatGeobuf may hold ``name`` and ``NAME``; a GeoPackage layer cannot:
    analyze measured every parcel, then stopped with exit 2 "cannot write parcels.gpkg ... is
    the disk full?". The second is kept as NAME_2, with a warning."""
    src = tmp_path / f"宗地{ext}"
    boxes = [shapely.box(X0 + 1000 * i, Y0, X0 + 1000 * i + 300, Y0 + 300) for i in range(2)]
    own = {"name": ["甲", "乙"], "NAME": ["A", "B"]}
    gpd.GeoDataFrame(own, geometry=boxes, crs=4545).to_file(src)
    out = tmp_path / "out"
    more = ["--chunk-rows", "1", "--workers", "1"] if chunked else []
    res = qzgeo("analyze", "--parcels", src, "--out", out, *more)
    assert res.exit_code == 0, res.output
    got = gpd.read_file(out / "internal" / "parcels.gpkg")  # FGB: in Hilbert order
    assert set(zip(got["name"], got["NAME_2"], strict=True)) == {("甲", "A"), ("乙", "B")}
    expected = {n: _geod_square_m2(X0 + 1000 * i, Y0, 300.0) for i, n in enumerate("甲乙")}
    for n, m2 in zip(got["name"], got["area_m2"], strict=True):
        assert m2 == pytest.approx(expected[n], abs=0.02)
    report = (out / "internal" / "parcels_report.json").read_text(encoding="utf-8")
    assert "NAME are kept as NAME_2" in report


@pytest.mark.parametrize(("ext", "kind"), [(".shp", "Shapefile"), (".gpkg", "GeoPackage")])
def test_convert_refuses_columns_differing_only_in_case(
    tmp_path: Path, ext: str, kind: str
) -> None:
    """``name`` and ``NAME`` of a GeoJSON into a Shapefile: GDAL renamed the second NAME_1 (a
    RuntimeWarning on stderr, nothing in the result); into a GeoPackage: GDAL's bare "field
    already exists". Both are refused naming the two columns and the fix."""
    src = tmp_path / "宗地.geojson"
    box = shapely.box(X0, Y0, X0 + 300, Y0 + 300)
    gpd.GeoDataFrame({"name": ["甲"], "NAME": ["A"]}, geometry=[box], crs=4545).to_file(src)
    res = qzgeo("convert", src, tmp_path / f"out{ext}")
    assert_exit2(res, f"out{ext}", "'name' and 'NAME'", kind, ".fgb")
    assert not (tmp_path / f"out{ext}").exists()
    res = qzgeo("convert", src, tmp_path / "out.fgb")  # keeps both
    assert res.exit_code == 0, res.output
    assert gpd.read_file(tmp_path / "out.fgb")[["name", "NAME"]].values.tolist() == [["甲", "A"]]
