"""An outsider's files from other producers against check, analyze and convert (round 9a).

Each case is a file as another tool writes it: a GeoPackage layer declared "Geometry Z", a
layer with arcs, a DBF with 19-digit parcel codes in an ``N(19,0)`` field, an Excel CSV in GBK,
a GeoJSON of Gauss-Krüger metres without a ``"crs"`` member. Areas are compared with
pyproj.Geod on the rings (GRS80 = the CGCS2000 ellipsoid), which shares no code with qzgeo.
"""

from __future__ import annotations

import math
import sqlite3
import struct
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio.raw
import pytest
import shapely
from _cli import assert_exit2, check_json, qzgeo, warnings_of
from pyproj import Geod, Transformer

GEOD = Geod(ellps="GRS80")
TO_LL = Transformer.from_crs(4545, 4490, always_xy=True)

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


def _circle_gpkg(path: Path, radius: float) -> Path:
    """A GeoPackage of one CURVEPOLYGON (a full circle of two arcs), as ArcGIS exports a
    parcel with true curves; its WKB is written by hand (shapely cannot hold curves)."""
    pts = [(X0, Y0), (X0 + 2 * radius, Y0), (X0, Y0)]  # a closed CIRCULARSTRING: a circle
    arc = struct.pack("<BII", 1, 8, len(pts)) + b"".join(struct.pack("<dd", *p) for p in pts)
    wkb = struct.pack("<BII", 1, 10, 1) + arc  # CurvePolygon with one ring
    pyogrio.raw.write(
        path,
        geometry=np.array([wkb], dtype=object),
        field_data=[np.array(["圆形地块"], dtype=object)],
        fields=["名称"],
        geometry_type="Unknown",
        crs="EPSG:4545",
        driver="GPKG",
        layer="sites",
    )
    return path


def _geod_circle_m2(radius: float, n: int = 20_000) -> float:
    """The circle's area on the ellipsoid, its GK outline sampled at ``n`` points."""
    t = np.linspace(0.0, 2 * math.pi, n, endpoint=False)
    lon, lat = TO_LL.transform(X0 + radius + radius * np.cos(t), Y0 + radius * np.sin(t))
    return abs(GEOD.polygon_area_perimeter(lon, lat)[0])


def test_curved_parcel_is_read_as_segments_with_the_area_of_the_arc(tmp_path: Path) -> None:
    src = _circle_gpkg(tmp_path / "弧形宗地.gpkg", radius=200.0)
    _, sites = check_json(src)  # was exit 2: "Nonlinear geometry types ... may be corrupt"
    expected = _geod_circle_m2(200.0)
    assert sites[0]["area_m2"] == pytest.approx(expected, rel=3e-5), (sites[0], expected)
    assert "curves (arcs)" in warnings_of(sites)  # in the JSON, not only on stderr
    out = tmp_path / "out"
    res = qzgeo("analyze", "--parcels", src, "--out", out)
    assert res.exit_code == 0, res.output
    got = gpd.read_file(out / "internal" / "parcels.gpkg")
    assert got["area_m2"].iloc[0] == pytest.approx(expected, rel=3e-5)
    report = (out / "internal" / "parcels_report.json").read_text(encoding="utf-8")
    assert "curves (arcs)" in report


CODES = [4507020010010000001, 4507020010010000002]  # 19-digit 宗地代码, one apart


def test_19_digit_codes_in_a_dbf_n19_field_stay_exact(tmp_path: Path) -> None:
    """GDAL writes an int64 column as a DBF ``N(19,0)`` field and read it back as floats:
    both codes came out of analyze and convert as 4.50702001001e+18."""
    src = tmp_path / "宗地.shp"
    boxes = [shapely.box(X0 + 1000 * i, Y0, X0 + 1000 * i + 300, Y0 + 300) for i in range(2)]
    gpd.GeoDataFrame({"ZDDM": CODES}, geometry=boxes, crs=4545).to_file(src)
    dbf = (tmp_path / "宗地.dbf").read_bytes()
    assert dbf[32 + 11 : 32 + 12] == b"N" and dbf[32 + 16] == 19  # the field as GDAL wrote it
    out = tmp_path / "out"
    res = qzgeo("analyze", "--parcels", src, "--out", out)
    assert res.exit_code == 0, res.output
    got = pyogrio.read_dataframe(out / "internal" / "parcels.gpkg")
    assert got["ZDDM"].tolist() == CODES
    res = qzgeo("convert", src, tmp_path / "宗地.gpkg")
    assert res.exit_code == 0, res.output
    assert pyogrio.read_dataframe(tmp_path / "宗地.gpkg")["ZDDM"].tolist() == CODES
    _, sites = check_json(src, "--label-field", "ZDDM")
    assert [s["site"] for s in sites] == [str(c) for c in CODES]


def test_integers_a_float_rounds_and_int64_cannot_hold_are_said(tmp_path: Path) -> None:
    """A 20-digit number in an ``N(20,0)`` field fits no integer type: GDAL reads the field as
    floats, and the JSON says so (it was silent)."""
    src = tmp_path / "宗地.shp"
    box = shapely.box(X0, Y0, X0 + 300, Y0 + 300)
    codes = gpd.GeoDataFrame({"ZDDM": ["45070200100100000021"]}, geometry=[box], crs=4545)
    codes.to_file(src, layer_options={"RESIZE": "YES"})  # a C(20) field
    dbf = bytearray((tmp_path / "宗地.dbf").read_bytes())
    assert dbf[32 + 11 : 32 + 12] == b"C" and dbf[32 + 16] == 20
    dbf[32 + 11 : 32 + 12] = b"N"  # the same 20 ASCII digits, as a numeric field
    (tmp_path / "宗地.dbf").write_bytes(bytes(dbf))
    _, sites = check_json(src)
    assert "field 'ZDDM' holds integers too long for 64 bits" in warnings_of(sites)


SQUARE_WKT = f"POLYGON(({X0} {Y0},{X0 + 300} {Y0},{X0 + 300} {Y0 + 300},{X0} {Y0 + 300},{X0} {Y0}))"


def _gbk_csv(path: Path, header: str) -> Path:
    """An Excel "CSV (逗号分隔)" of Chinese Windows: GBK text, CRLF, a WKT column."""
    text = f'{header}\r\n钦州市某某公司,"{SQUARE_WKT}"\r\n'
    path.write_bytes(text.encode("gbk"))
    return path


@pytest.mark.parametrize("header", ["权利人,WKT", "NAME,WKT"])
def test_excel_gbk_csv_is_refused_with_the_encoding_fix(tmp_path: Path, header: str) -> None:
    """Chinese headers: the message spoke of a DBF and a .cpg. ASCII headers over GBK values:
    analyze wrote the GBK bytes into parcels.gpkg as if UTF-8, check --label-field crashed."""
    src = _gbk_csv(tmp_path / "宗地.csv", header)
    label = header.split(",")[0]
    for args in (
        ["check", src, "--crs", "EPSG:4545", "--label-field", label],
        ["analyze", "--parcels", src, "--crs", "EPSG:4545", "--out", tmp_path / "out"],
        ["convert", src, tmp_path / "宗地.gpkg", "--crs", "EPSG:4545"],
    ):
        res = qzgeo(*args)
        assert_exit2(res, "宗地.csv", "not valid utf-8", "--encoding GBK", "'CSV UTF-8'")
        assert "DBF" not in res.output and ".cpg" not in res.output, res.output
    assert not (tmp_path / "out").exists() and not (tmp_path / "宗地.gpkg").exists()
    _, sites = check_json(src, "--crs", "EPSG:4545", "--label-field", label, "--encoding", "GBK")
    assert sites[0]["site"] == "钦州市某某公司"


def test_gbk_values_under_a_lying_utf8_cpg_are_refused(tmp_path: Path) -> None:
    """ASCII field names over GBK text with a .cpg copied from a UTF-8 export: check crashed
    (pyarrow 'Wrapping ... failed'), analyze wrote the GBK bytes into its GeoPackage."""
    src = tmp_path / "宗地.shp"
    box = shapely.box(X0, Y0, X0 + 300, Y0 + 300)
    named = gpd.GeoDataFrame({"NAME": ["钦州市某某公司"]}, geometry=[box], crs=4545)
    named.to_file(src, encoding="gbk")
    (tmp_path / "宗地.cpg").write_text("UTF-8")
    res = qzgeo("check", src, "--label-field", "NAME")
    assert_exit2(res, "宗地.shp", "its .cpg says 'UTF-8'", "--encoding GBK")
    res = qzgeo("analyze", "--parcels", src, "--out", tmp_path / "out")
    assert_exit2(res, "宗地.shp", "its .cpg says 'UTF-8'", "--encoding GBK")
    _, sites = check_json(src, "--label-field", "NAME", "--encoding", "GBK")
    assert sites[0]["site"] == "钦州市某某公司"


def _gk_geojson(path: Path, *, crs_member: bool) -> Path:
    """A GeoJSON of CGCS2000 GK zone 36 metres (no prefix), as a script writes it."""
    ring = [[X0, Y0], [X0 + 300, Y0], [X0 + 300, Y0 + 300], [X0, Y0 + 300], [X0, Y0]]
    crs = '"crs": {"type": "name", "properties": {"name": "EPSG:4545"}}, ' if crs_member else ""
    path.write_text(
        f'{{"type": "FeatureCollection", {crs}"features": [{{"type": "Feature", '
        f'"properties": {{"名称": "乙"}}, "geometry": {{"type": "Polygon", '
        f'"coordinates": [{ring}]}}}}]}}',
        encoding="utf-8",
    )
    return path


def test_geojson_of_gk_metres_without_crs_member_takes_the_crs_option(tmp_path: Path) -> None:
    """GDAL calls every such file WGS84: refused as lying at lon 570244, and --crs (which the
    message advised) was "ignored" for a CRS the file never declared: no way to read it."""
    src = _gk_geojson(tmp_path / "宗地.geojson", crs_member=False)
    res = qzgeo("check", src)
    assert_exit2(res, "宗地.geojson has no CRS", 'no "crs" member', "--crs")
    _, sites = check_json(src, "--crs", "EPSG:4545")
    lon, lat = TO_LL.transform([X0, X0 + 300, X0 + 300, X0, X0], [Y0, Y0, Y0 + 300, Y0 + 300, Y0])
    expected = abs(GEOD.polygon_area_perimeter(lon, lat)[0])
    assert sites[0]["area_m2"] == pytest.approx(expected, abs=0.02)
    assert "ignored" not in warnings_of(sites)


def test_geojson_that_declares_its_crs_keeps_it(tmp_path: Path) -> None:
    """The file's own "crs" member still wins over --crs, and lon/lat GeoJSON stays lon/lat."""
    src = _gk_geojson(tmp_path / "宗地.geojson", crs_member=True)
    _, sites = check_json(src, "--crs", "EPSG:4490")
    assert "declares its CRS (EPSG:4545)" in warnings_of(sites)


@pytest.mark.parametrize("column", ["wkt_geom", "SHAPE"])
def test_csv_with_wkt_under_another_name_says_which_column_to_rename(
    tmp_path: Path, column: str
) -> None:
    """QGIS's attribute-table export names the column wkt_geom: the message asked for "a CSV
    with a WKT column", which the user believed they had given."""
    src = tmp_path / "宗地.csv"
    src.write_text(f'权利人,{column}\n张三,"{SQUARE_WKT}"\n', encoding="utf-8")
    res = qzgeo("check", src, "--crs", "EPSG:4545")
    assert_exit2(res, "宗地.csv", f"rename '{column}' to WKT")


def test_geojson_of_swapped_lat_lon_is_still_called_swapped(tmp_path: Path) -> None:
    """Degrees with latitude first stay degrees (not "a file without a CRS")."""
    src = tmp_path / "宗地.geojson"
    ring = [[21.95, 108.68], [21.95, 108.683], [21.953, 108.683], [21.953, 108.68], [21.95, 108.68]]
    src.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, '
        f'"geometry": {{"type": "Polygon", "coordinates": [{ring}]}}}}]}}',
        encoding="utf-8",
    )
    assert_exit2(qzgeo("check", src), "swapped X/Y")


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("选址.kml", '<kml xmlns="http://www.opengis.net/kml/2.2"><Document></Document></kml>'),
        ("选址.gml", '<gml:FeatureCollection xmlns:gml="http://www.opengis.net/gml"/>'),
    ],
)
def test_kml_or_gml_without_a_layer_is_exit_2_not_a_traceback(
    tmp_path: Path, name: str, text: str
) -> None:
    """An empty 奥维 or Google Earth folder export: pyogrio's default layer raised IndexError."""
    src = tmp_path / name
    src.write_text(f'<?xml version="1.0" encoding="UTF-8"?>{text}', encoding="utf-8")
    for args in (
        ["check", src],
        ["analyze", "--parcels", src, "--out", tmp_path / "out"],
        ["convert", src, tmp_path / "out.geojson"],
    ):
        assert_exit2(qzgeo(*args), name, "holds no layer")


def _write_shp(stem: Path, parts: list[list[tuple[float, float]]]) -> Path:
    """A one-polygon shapefile with its rings written as given (GDAL would rewind them)."""
    pts = [p for ring in parts for p in ring]
    box = (min(p[0] for p in pts), min(p[1] for p in pts))
    box += (max(p[0] for p in pts), max(p[1] for p in pts))
    starts, k = [], 0
    for ring in parts:
        starts.append(k)
        k += len(ring)
    rec = struct.pack("<i4dii", 5, *box, len(parts), len(pts))
    rec += struct.pack(f"<{len(parts)}i", *starts)
    rec += b"".join(struct.pack("<2d", *p) for p in pts)

    def header(words: int) -> bytes:
        return struct.pack(">7i", 9994, 0, 0, 0, 0, 0, words) + struct.pack(
            "<2i8d", 1000, 5, *box, 0, 0, 0, 0
        )

    shp = struct.pack(">2i", 1, len(rec) // 2) + rec
    stem.with_suffix(".shp").write_bytes(header((100 + len(shp)) // 2) + shp)
    stem.with_suffix(".shx").write_bytes(header(54) + struct.pack(">2i", 50, len(rec) // 2))
    dbf = struct.pack("<4BIHH20x", 3, 126, 1, 1, 1, 65, 11)
    dbf += b"NAME".ljust(11, b"\0") + b"C" + bytes(4) + bytes([10, 0]) + bytes(14) + b"\r"
    stem.with_suffix(".dbf").write_bytes(dbf + b" " + b"p0".ljust(10) + b"\x1a")
    stem.with_suffix(".prj").write_text(gpd.GeoSeries([], crs=4545).crs.to_wkt("WKT1_ESRI"))
    return stem.with_suffix(".shp")


def _square(x: float, y: float, side: float, *, clockwise: bool) -> list[tuple[float, float]]:
    ring = [(x, y), (x + side, y), (x + side, y + side), (x, y + side), (x, y)]
    return ring[::-1] if clockwise else ring


def _geod_square_m2(x: float, y: float, side: float) -> float:
    lon, lat = TO_LL.transform([x, x + side, x + side, x], [y, y, y + side, y + side])
    return abs(GEOD.polygon_area_perimeter(lon, lat)[0])


OUTER, HOLE, ISLAND = (X0, Y0, 400.0), (X0 + 100, Y0 + 100, 100.0), (X0 + 1000, Y0, 200.0)


@pytest.mark.parametrize(
    "windings",
    [
        (False, True),  # both against the rule: the parcel was dropped
        (False, False),  # all counter-clockwise: the hole counted as land
        (True, True),  # all clockwise: the hole counted as land
        (False, True, False),  # with an island: only the island was kept
    ],
    ids=["outer-ccw-hole-cw", "all-ccw", "all-cw", "with-island"],
)
def test_shapefile_rings_wound_against_the_rule_keep_their_holes(
    tmp_path: Path, windings: tuple[bool, ...]
) -> None:
    squares = [OUTER, HOLE, ISLAND][: len(windings)]
    rings = [_square(*sq, clockwise=cw) for sq, cw in zip(squares, windings, strict=True)]
    src = _write_shp(tmp_path / "宗地", rings)
    m2 = [_geod_square_m2(*sq) for sq in squares]
    oracle = m2[0] - m2[1] + sum(m2[2:])  # outer - hole (+ island)
    _, sites = check_json(src)
    assert sites[0]["area_m2"] == pytest.approx(oracle, abs=0.05), (sites, oracle)
    assert "rings wound against the shapefile rule" in warnings_of(sites)
    out = tmp_path / "out"
    res = qzgeo("analyze", "--parcels", src, "--out", out)
    assert res.exit_code == 0, res.output
    got = gpd.read_file(out / "internal" / "parcels.gpkg")
    assert got["area_m2"].tolist() == pytest.approx([oracle], abs=0.05)


@pytest.mark.parametrize("bulge", [1.0, -1.0])
@pytest.mark.parametrize("mirrored", [False, True])
def test_dxf_arc_area_is_the_circles_within_the_flattening(
    tmp_path: Path, bulge: float, mirrored: bool
) -> None:
    """A CAD parcel bounded by a half circle (an LWPOLYLINE bulge of ±1, radius 200 m): its
    arc went through Bezier curves 5 cm outside the circle, +16 m² (0.025 %), although
    arcs are flattened "to 0.01 drawing units". Mirrored: extrusion (0, 0, -1), x negated."""
    ezdxf = pytest.importorskip("ezdxf")
    x0, r = X0 + 36_000_000, 200.0  # zone-prefixed eastings, as CAD drawings carry them
    doc = ezdxf.new()
    sign = -1.0 if mirrored else 1.0
    attribs = {"extrusion": (0, 0, -1)} if mirrored else {}
    doc.modelspace().add_lwpolyline(
        [(sign * x0, Y0, 0, 0, bulge), (sign * (x0 + 2 * r), Y0, 0, 0, 0)],
        format="xyseb",
        close=True,
        dxfattribs=attribs,
    )
    src = tmp_path / "宗地.dxf"
    doc.saveas(src)
    # The half disc on the ellipsoid: its GK outline sampled finely, on the side the arc
    # bulges to (a positive bulge turns counter-clockwise: below this eastward chord).
    below = (bulge > 0) != mirrored
    t = np.linspace(0.0, math.pi, 20_001)
    ys = Y0 - r * np.sin(t) if below else Y0 + r * np.sin(t)
    lon, lat = TO_LL.transform(X0 + r + r * np.cos(t), ys)
    expected = abs(GEOD.polygon_area_perimeter(lon, lat)[0])
    _, sites = check_json(src, "--crs", "EPSG:4524")
    # Flattened inside the circle by at most 0.01 m: (2/3) * 0.01 m * 628 m ≈ 4.2 m² short.
    assert expected - 6.0 < sites[0]["area_m2"] <= expected, (sites[0]["area_m2"], expected)


def test_parcels_own_columns_named_like_results_are_kept(tmp_path: Path) -> None:
    """A surveyed area_m2 and an earlier conflict column were replaced by the results without
    a word; they are kept as *_input, and parcels_report.json says so."""
    src = tmp_path / "宗地.gpkg"
    box = shapely.box(X0, Y0, X0 + 300, Y0 + 300)
    own = {"宗地代码": ["A"], "area_m2": [12345.0], "conflict": ["是"], "source_fid": [77]}
    gpd.GeoDataFrame(own, geometry=[box], crs=4545).to_file(src)
    out = tmp_path / "out"
    res = qzgeo("analyze", "--parcels", src, "--out", out)
    assert res.exit_code == 0, res.output
    got = gpd.read_file(out / "internal" / "parcels.gpkg").iloc[0]
    assert (got["area_m2_input"], got["conflict_input"], got["source_fid_input"]) == (
        12345.0,
        "是",
        77,
    )
    assert got["area_m2"] == pytest.approx(_geod_square_m2(X0, Y0, 300.0), abs=0.02)
    report = (out / "internal" / "parcels_report.json").read_text(encoding="utf-8")
    assert "are kept as source_fid_input, area_m2_input, conflict_input" in report


@pytest.mark.parametrize("chunked", [False, True])
def test_analyze_its_own_output_again(tmp_path: Path, chunked: bool) -> None:
    """Last year's parcels.gpkg analyzed again holds area_m2 and area_m2_input both: the
    second became a duplicate column name and a pandas traceback. Now area_m2_input2."""
    src = tmp_path / "宗地.gpkg"
    boxes = [shapely.box(X0 + 1000 * i, Y0, X0 + 1000 * i + 300, Y0 + 300) for i in range(2)]
    gpd.GeoDataFrame({"area_m2": [12345, 678]}, geometry=boxes, crs=4545).to_file(src)
    more = ["--chunk-rows", "1", "--workers", "1"] if chunked else []
    first, second = tmp_path / "first", tmp_path / "second"
    assert qzgeo("analyze", "--parcels", src, "--out", first, *more).exit_code == 0
    res = qzgeo("analyze", "--parcels", first / "internal" / "parcels.gpkg", "--out", second, *more)
    assert res.exit_code == 0, (res.output, res.exception)
    got = gpd.read_file(second / "internal" / "parcels.gpkg")
    assert got["area_m2_input"].tolist() == [12345, 678]  # the surveyed areas, kept twice
    assert got["area_m2_input2"].tolist() == pytest.approx(got["area_m2"].tolist(), abs=1e-6)
    expected = [_geod_square_m2(X0 + 1000 * i, Y0, 300.0) for i in range(2)]
    assert got["area_m2"].tolist() == pytest.approx(expected, abs=0.05)


@pytest.mark.parametrize("chunked", [False, True])
def test_kept_integer_column_keeps_its_declared_type(tmp_path: Path, chunked: bool) -> None:
    """An integer area_m2 with a null reads as floats; its declared type follows it to
    area_m2_input (it was looked up under area_m2, the results' float column)."""
    src = tmp_path / "宗地.gpkg"
    boxes = [shapely.box(X0 + 1000 * i, Y0, X0 + 1000 * i + 300, Y0 + 300) for i in range(2)]
    own = {"area_m2": pd.array([None, 12345], dtype="Int64")}  # the first chunk all null
    gpd.GeoDataFrame(own, geometry=boxes, crs=4545).to_file(src)
    out = tmp_path / "out"
    more = ["--chunk-rows", "1", "--workers", "1"] if chunked else []
    res = qzgeo("analyze", "--parcels", src, "--out", out, *more)
    assert res.exit_code == 0, res.output
    info = pyogrio.read_info(out / "internal" / "parcels.gpkg")
    types = dict(zip(info["fields"], info["dtypes"], strict=True))
    assert (types["area_m2_input"], types["area_m2"]) == ("int64", "float64")


@pytest.mark.parametrize(
    ("srs_id", "name"), [(-1, "Undefined Cartesian SRS"), (0, "Undefined geographic SRS")]
)
def test_gpkg_with_an_undefined_srs_takes_the_crs_option(
    tmp_path: Path, srs_id: int, name: str
) -> None:
    """What QGIS writes for CAD data without a CRS: srs_id -1 was a pyproj traceback, srs_id
    0 a dead end (--crs "ignored" for a CRS the file never had)."""
    src = tmp_path / "宗地.gpkg"
    box = shapely.box(X0, Y0, X0 + 300, Y0 + 300)
    gpd.GeoDataFrame({"名称": ["乙"]}, geometry=[box], crs=4545).to_file(src)
    with sqlite3.connect(src) as con:
        con.execute("UPDATE gpkg_geometry_columns SET srs_id = ?", (srs_id,))
        con.execute("UPDATE gpkg_contents SET srs_id = ?", (srs_id,))
    con.close()
    assert_exit2(qzgeo("check", src), "宗地.gpkg has no CRS", repr(name), "--crs")
    _, sites = check_json(src, "--crs", "EPSG:4545")
    assert sites[0]["area_m2"] == pytest.approx(_geod_square_m2(X0, Y0, 300.0), abs=0.02)
    assert "ignored" not in warnings_of(sites)
    out = tmp_path / "out"
    res = qzgeo("analyze", "--parcels", src, "--crs", "EPSG:4545", "--out", out)
    assert res.exit_code == 0, res.output
    assert pyogrio.read_info(out / "internal" / "parcels.gpkg")["crs"] == "EPSG:4545"


@pytest.mark.parametrize(
    ("prj", "said"),
    [
        ('PROJCS["Gauss-Kruger (zone 36)"]', "its .prj cannot be understood (missing CONVERSION"),
        ("西安80 36带", "its .prj is not a CRS GDAL can read"),
    ],
)
def test_unreadable_prj_is_named(tmp_path: Path, prj: str, said: str) -> None:
    """A hand-written .prj: 'the file may be corrupt or truncated' (the data were fine), or
    'has no CRS' beside the .prj the user sees."""
    src = tmp_path / "宗地.shp"
    box = shapely.box(X0, Y0, X0 + 300, Y0 + 300)
    gpd.GeoDataFrame({"NAME": ["a"]}, geometry=[box], crs=4545).to_file(src)
    (tmp_path / "宗地.prj").write_text(prj, encoding="utf-8")
    assert_exit2(qzgeo("check", src), "宗地.shp", said, "--crs")
    assert "corrupt" not in qzgeo("check", src).output


def test_analyze_of_a_layer_whose_every_feature_is_dropped_names_them(tmp_path: Path) -> None:
    """A CSV whose WKT is cut off and a line: "has no features", of a file with two."""
    src = tmp_path / "宗地.csv"
    src.write_text(
        'WKT,名称\n"POLYGON((1 2, 3 4",甲\n"LINESTRING(108.6 21.9,108.7 21.9)",乙\n',
        encoding="utf-8",
    )
    res = qzgeo("analyze", "--parcels", src, "--crs", "EPSG:4490", "--out", tmp_path / "o")
    assert_exit2(
        res, "宗地.csv: none of its 2 feature(s)", "null or empty", "LineString", "polygon layer"
    )


def test_local_file_with_a_colon_in_its_name_is_told_how_to_read_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "v2:final.gpkg" looks like a GDAL PREFIX: source and is refused, rightly; the message
    said to "give a plain local path", which the user believed they had."""
    src = tmp_path / "v2:final.gpkg"
    box = shapely.box(X0, Y0, X0 + 300, Y0 + 300)
    gpd.GeoDataFrame({"名称": ["乙"]}, geometry=[box], crs=4545).to_file(src)
    monkeypatch.chdir(tmp_path)
    res = qzgeo("analyze", "--parcels", "v2:final.gpkg", "--out", tmp_path / "out")
    assert_exit2(res, f"give its absolute path ({src})")
    _, sites = check_json(src)  # as told
    assert sites[0]["area_m2"] == pytest.approx(_geod_square_m2(X0, Y0, 300.0), abs=0.02)


def test_dbf_from_another_export_than_the_shp_is_refused(tmp_path: Path) -> None:
    """A .dbf of three records beside a .shp/.shx of two shapes (copied from another export):
    GDAL read two parcels, with the first two rows' attributes, and said nothing."""
    boxes = [shapely.box(X0 + 1000 * i, Y0, X0 + 1000 * i + 300, Y0 + 300) for i in range(3)]
    names = {"名称": ["甲", "乙", "丙"]}
    gpd.GeoDataFrame(names, geometry=boxes, crs=4545).to_file(tmp_path / "新.shp")
    old = gpd.GeoDataFrame({"名称": ["甲", "乙"]}, geometry=boxes[:2], crs=4545)
    old.to_file(tmp_path / "宗地.shp")
    (tmp_path / "宗地.dbf").write_bytes((tmp_path / "新.dbf").read_bytes())
    for args in (
        ["check", tmp_path / "宗地.shp"],
        ["convert", tmp_path / "宗地.shp", tmp_path / "o.gpkg"],
    ):
        assert_exit2(qzgeo(*args), "宗地.shp", "indexes 2 shapes but its .dbf holds 3 records")


@pytest.mark.parametrize("cut_at", [32_767, 300])
def test_csv_wkt_that_does_not_parse_is_said_so(tmp_path: Path, cut_at: int) -> None:
    """Excel cuts a cell at 32 767 characters: the parcel was "skipped: no geometry" while
    its cell plainly held a WKT."""
    t = np.linspace(0.0, 2 * math.pi, 2_000, endpoint=False)
    ring = shapely.Polygon(np.c_[X0 + 150 * np.cos(t), Y0 + 150 * np.sin(t)])
    long_wkt = shapely.to_wkt(ring, rounding_precision=6)
    assert len(long_wkt) > cut_at
    src = tmp_path / "宗地.csv"
    src.write_text(f'名称,WKT\n甲,"{SQUARE_WKT}"\n乙,"{long_wkt[:cut_at]}"\n', encoding="utf-8-sig")
    _, sites = check_json(src, "--crs", "EPSG:4545")
    said = warnings_of(sites)
    assert f"feature 2: its WKT does not parse ({cut_at} characters" in said, said
    assert ("Excel's limit for a cell" in said) == (cut_at == 32_767)


def test_constraint_file_warning_names_the_file_once(tmp_path: Path) -> None:
    """'红线.shp: 红线.shp: no .cpg file; ...': the file's name was put before its own notice."""
    red = tmp_path / "红线.shp"
    box = shapely.box(X0 - 100, Y0 - 100, X0 + 150, Y0 + 400)
    eco = gpd.GeoDataFrame({"DLMC": ["生态保护红线"]}, geometry=[box], crs=4545)
    eco.to_file(red, encoding="gbk")
    (tmp_path / "红线.cpg").unlink()
    site = _gk_geojson(tmp_path / "选址.geojson", crs_member=True)
    _, sites = check_json(site, "--no-pack", "--constraint", red)
    said = warnings_of(sites)
    assert "红线.shp: no .cpg file" in said and "红线.shp: 红线.shp" not in said, said
    assert sites[0]["conflicts"][0]["class"] == "生态保护红线"


def test_latin_cpg_over_gbk_text_shows_the_files_own_text(tmp_path: Path) -> None:
    """The note showed a fixed example ('ÓÃµØÐÔÖÊ', 用地性质), not the file's text."""
    src = tmp_path / "宗地.shp"
    box = shapely.box(X0, Y0, X0 + 300, Y0 + 300)
    gpd.GeoDataFrame({"权利人": ["张三"]}, geometry=[box], crs=4545).to_file(src, encoding="gbk")
    (tmp_path / "宗地.cpg").write_text("1252", encoding="ascii")
    _, sites = check_json(src)
    mojibake = "权利人".encode("gbk").decode("cp1252", "replace")
    assert f"'权利人' reads as {mojibake!r}" in warnings_of(sites), warnings_of(sites)
    assert "ÓÃµØÐÔÖÊ" not in warnings_of(sites)


def test_check_of_a_csv_whose_only_wkt_does_not_parse_says_why(tmp_path: Path) -> None:
    """'has no polygon features (found: no geometry)', of a CSV whose cell holds a WKT."""
    src = tmp_path / "选址.csv"
    src.write_text('名称,WKT\n甲,"POLYGON((1 2, 3 4"\n', encoding="utf-8")
    assert_exit2(qzgeo("check", src, "--crs", "EPSG:4490"), "feature 1: its WKT does not parse")


@pytest.mark.parametrize("declared", ["GBK", "GB2312"])
def test_kml_declaring_gbk_is_refused_with_the_fix(tmp_path: Path, declared: str) -> None:
    """A KML in GBK that says so: GDAL's 'unknown encoding ... may be corrupt'. The fix the
    message gives makes it read."""
    body = (
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>钦州甲</name>'
        "<Polygon><outerBoundaryIs><LinearRing><coordinates>108.68,21.95 108.683,21.95 "
        "108.683,21.953 108.68,21.953 108.68,21.95</coordinates></LinearRing>"
        "</outerBoundaryIs></Polygon></Placemark></Document></kml>"
    )
    src = tmp_path / "选址.kml"
    src.write_bytes(f'<?xml version="1.0" encoding="{declared}"?>{body}'.encode("gbk"))
    res = qzgeo("check", src)
    assert_exit2(res, "选址.kml", f"declares encoding '{declared}'", "iconv", 'encoding="UTF-8"')
    assert "corrupt" not in res.output
    fixed = tmp_path / "fixed.kml"
    fixed.write_text(f'<?xml version="1.0" encoding="UTF-8"?>{body}', encoding="utf-8")
    _, sites = check_json(fixed)
    assert sites[0]["site"] == "钦州甲"
