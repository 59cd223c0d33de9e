"""An outsider's `check` and `convert` on other producers' files and hostile ones (round 5).

Every number is compared with an oracle that shares no code with qzgeo: pyproj.Geod on the
rings (GRS80 = CGCS2000 ellipsoid), shapely for the part outside the pack extent, and hand
arithmetic (1 公顷 = 15 亩 = 10 000 m²).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import shapely
from packs import all_output, assert_no_traceback, run_cli
from pyproj import Geod, Transformer
from support import ROOT

GEOD = Geod(ellps="GRS80")
EXTENT = (107.9, 21.3, 109.9, 23.0)  # the bundled pack's
TO_GK = Transformer.from_crs(4490, 4524, always_xy=True)  # zone 36, prefixed eastings
TO_LL = Transformer.from_crs(4524, 4490, always_xy=True)


def geod_m2(geom: Any) -> float:
    """Shells minus holes, each ring measured unsigned by GeographicLib."""

    def ring(r: Any) -> float:
        x, y = r.coords.xy
        return abs(GEOD.polygon_area_perimeter(list(x)[:-1], list(y)[:-1])[0])

    polys = shapely.get_parts(geom)
    return sum(ring(p.exterior) - sum(ring(h) for h in p.interiors) for p in polys)


def sites(*args: str | Path) -> list[dict[str, Any]]:
    res = run_cli("check", *args, "--format", "json")
    assert_no_traceback(res)
    assert res.exit_code in (0, 1), all_output(res)
    return json.loads(res.stdout)


def refused(res: Any, *needles: str) -> str:
    assert_no_traceback(res)
    text = all_output(res)
    assert res.exit_code == 2, text
    for n in needles:
        assert n in text, (n, text)
    return text


def assert_area(site: dict[str, Any], want_m2: float) -> None:
    assert site["area_m2"] == pytest.approx(want_m2, abs=0.011)
    assert site["area_ha"] == pytest.approx(want_m2 / 1e4, abs=2e-6)
    assert site["area_mu"] == pytest.approx(want_m2 * 15 / 1e4, abs=2e-5)


# -- 1. KML from Google Earth / 奥维: folders, ExtendedData, a folder of points -----------------

BOX_A = shapely.box(108.600, 21.700, 108.605, 21.705)
BOX_B = shapely.box(108.610, 21.700, 108.613, 21.704)


def _placemark(name: str, geom: Any, data: dict[str, str]) -> str:
    ext = "".join(f'<Data name="{k}"><value>{v}</value></Data>' for k, v in data.items())
    if geom.geom_type == "Point":
        shape = f"<Point><coordinates>{geom.x},{geom.y},0</coordinates></Point>"
    else:
        xy = " ".join(f"{x},{y},0" for x, y in geom.exterior.coords)
        shape = f"<Polygon><outerBoundaryIs><LinearRing><coordinates>{xy}</coordinates>"
        shape += "</LinearRing></outerBoundaryIs></Polygon>"
    return f"<Placemark><name>{name}</name><ExtendedData>{ext}</ExtendedData>{shape}</Placemark>"


@pytest.fixture
def kml(tmp_path: Path) -> Path:
    folders = {
        "一期": _placemark("地块A", BOX_A, {"用地性质": "工业"}),
        "二期": _placemark("地块B", BOX_B, {"用地性质": "仓储"}),
        "标注点": _placemark("入口", shapely.Point(108.601, 21.701), {}),
    }
    body = "".join(f"<Folder><name>{k}</name>{v}</Folder>" for k, v in folders.items())
    path = tmp_path / "选址方案.kml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2">'
        f"<Document><name>选址方案</name>{body}</Document></kml>",
        encoding="utf-8",
    )
    return path


def test_kml_folders_never_read_silently_first(kml: Path) -> None:
    refused(run_cli("check", kml), "一期, 二期, 标注点")
    refused(run_cli("convert", kml, kml.with_suffix(".gpkg")), "一期, 二期, 标注点")
    refused(run_cli("check", f"{kml}:标注点"), "no polygon", "Point")


def test_kml_placemark_name_labels_the_site_and_area_matches_geod(kml: Path) -> None:
    a, b = sites(f"{kml}:一期", f"{kml}:二期")
    assert (a["site"], b["site"]) == ("地块A", "地块B")  # was "选址方案.kml:一期:1"
    assert_area(a, geod_m2(BOX_A))
    assert_area(b, geod_m2(BOX_B))


def test_kml_extended_data_chinese_field_names_survive_convert(kml: Path) -> None:
    # GDAL's LIBKML driver reads 用地性质 as '____________'; qzgeo names it from the file
    out = kml.with_name("二期.gpkg")
    assert run_cli("convert", kml, out, "--layer", "二期").exit_code == 0
    assert gpd.read_file(out)["用地性质"].tolist() == ["仓储"]


def test_kml_fields_gdal_merges_are_said_not_lost_silently(tmp_path: Path) -> None:
    data = {"a-b": "1", "a.b": "2", "面积(m2)": "3", "权属单位": "某村"}
    path = tmp_path / "merged.kml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2">'
        f"<Document>{_placemark('甲', BOX_A, data)}</Document></kml>",
        encoding="utf-8",
    )
    out = tmp_path / "merged.gpkg"
    res = run_cli("convert", path, out)
    assert res.exit_code == 0, all_output(res)
    assert "'a-b', 'a.b' all reach GDAL as one column 'a_b'" in all_output(res)
    got = gpd.read_file(out)
    assert got["面积(m2)"].tolist() == ["3"] and got["权属单位"].tolist() == ["某村"]


# -- 2. 界址点坐标 .txt: several parcels, GBK, zone prefix, bad counts, an unclosed ring --------


def _gk(lon: float, lat: float, de: float, dn: float) -> tuple[float, float]:
    e, n = TO_GK.transform(lon, lat)
    return round(e, -1) + de, round(n, -1) + dn


def _rows(ring: list[tuple[float, float]], no: int, first: int, close: bool = True) -> list[str]:
    pts = ring + ring[:1] if close else ring
    return [f"J{first + i % len(ring)},{no},{n:.3f},{e:.3f}" for i, (e, n) in enumerate(pts)]


def _rect(e0: float, n0: float, w: float, h: float) -> list[tuple[float, float]]:
    return [(e0, n0), (e0 + w, n0), (e0 + w, n0 + h), (e0, n0 + h)]


def _ll_poly(shell: list[tuple[float, float]], holes: list[list[tuple[float, float]]]) -> Any:
    def ll(r: list[tuple[float, float]]) -> list[tuple[float, float]]:
        return [TO_LL.transform(e, n) for e, n in r]

    # GK straight edges ~ geodesics at 100 m scale: densify to 5 m in GK instead of trusting it
    poly = shapely.segmentize(shapely.Polygon(shell, holes), 5.0)
    return shapely.Polygon(
        ll(list(poly.exterior.coords)), [ll(list(r.coords)) for r in poly.interiors]
    )


def test_jzd_gbk_three_parcels_against_geod(tmp_path: Path) -> None:
    e0, n0 = _gk(108.60, 21.70, 0, 0)
    a, hole = _rect(e0, n0, 300, 200), _rect(e0 + 100, n0 + 50, 100, 100)
    b = _rect(e0 + 500, n0, 200, 100)
    c = [(e0 + 900, n0), (e0 + 1000, n0), (e0 + 950, n0 + 80)]
    head = [
        "[属性描述]",
        "坐标系=2000国家大地坐标系",
        "几度分带=3",
        "计量单位=米",
        "带号=36",
        "[地块坐标]",
    ]
    lines = [*head, "10,5.0000,001,一号地块,面,F49G001001,工业用地,0601,@"]
    lines += _rows(a, 1, 1) + _rows(hole[::-1], 2, 5)
    lines += ["9,2.0000,002,二号地块,面,,仓储用地,0901,@", *_rows(b, 1, 1)]  # 5 rows, not 9
    lines += ["3,0.4000,003,三号地块,面,,道路用地,1207,@", *_rows(c, 1, 1, close=False)]
    path = tmp_path / "界址点.txt"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))
    s1, s2, s3 = sites(path)
    assert [s["site"] for s in (s1, s2, s3)] == ["一号地块", "二号地块", "三号地块"]
    assert_area(s1, geod_m2(_ll_poly(a, [hole])))
    assert_area(s2, geod_m2(_ll_poly(b, [])))
    assert_area(s3, geod_m2(_ll_poly(c, [])))
    assert any("GBK" in w for w in s1["warnings"])
    assert any("declares 9 points but has 5" in w for w in s2["warnings"]), s2
    assert not any("declares" in w for w in s1["warnings"] + s3["warnings"])
    assert any("closed it" in r for r in s3["repairs"]) and not s1["repairs"]
    # the wrong zone prefix (37, a zone 3° east) is refused, not checked against the plan
    wrong = tmp_path / "错带.txt"
    text = "\r\n".join(lines).replace("带号=36", "带号=37").replace(",365", ",375")
    wrong.write_bytes(text.encode("gbk"))
    refused(run_cli("check", wrong), "wholly outside the pack extent", "zone")
    # --crs that disagrees with 带号 is not silently ignored
    note = "ignored"
    assert any(
        note in w and "EPSG:4545" in w for w in sites(path, "--crs", "EPSG:4545")[0]["warnings"]
    )


# -- 3. CRSs, far away, straddling the pack edge ---------------------------------------------


@pytest.mark.parametrize("epsg", [4326, 4490, 3857, 4524])
def test_site_in_any_crs_same_area(tmp_path: Path, epsg: int) -> None:
    path = tmp_path / f"site_{epsg}.gpkg"
    gpd.GeoDataFrame({"名称": ["s"]}, geometry=[BOX_A], crs=4490).to_crs(epsg).to_file(path)
    (site,) = sites(path)
    gk = list(TO_GK.itransform(list(BOX_A.exterior.coords)[:-1]))
    want = geod_m2(_ll_poly(gk, [])) if epsg == 4524 else geod_m2(BOX_A)  # GK: straight in GK
    assert_area(site, want)


def test_far_site_refused_and_straddling_site_says_what_is_unchecked(tmp_path: Path) -> None:
    far = tmp_path / "杭州.geojson"
    gpd.GeoDataFrame(geometry=[shapely.box(120.15, 30.25, 120.16, 30.26)], crs=4490).to_file(far)
    refused(run_cli("check", far), str(far), "wholly outside", "wrong GK zone")
    # 5/8 inside, 3/8 outside the extent, and wholly outside 钦州's districts (the pack's
    # coverage, whose east edge runs at ~109.57°E there): all of it unchecked
    edge = shapely.box(109.87, 21.90, 109.95, 21.95)
    # across the districts' east edge
    shore = shapely.box(109.55, 21.90, 109.60, 21.95)
    path = tmp_path / "跨界.geojson"
    gpd.GeoDataFrame({"名称": ["跨界", "跨县界"]}, geometry=[edge, shore], crs=4490).to_file(path)
    s_edge, s_shore = sites(path)
    assert_area(s_edge, geod_m2(edge))
    (w,) = [w for w in s_edge["warnings"] if "outside the pack coverage" in w]
    assert "wholly outside" in w and f"{geod_m2(edge):,.2f} m²" in w, w
    assert s_edge["verdict"] == "incomplete" and s_edge["conflicts"] == []
    districts = gpd.read_file(ROOT / "layers" / "qinzhou.gpkg", layer="districts")
    land = shapely.union_all(districts.geometry.values).intersection(shapely.box(*EXTENT))
    # the part outside cut along the districts' edges, straight in lon/lat (densified; the
    # site's own edges stay geodesics between its corners, as its area's)
    outside = shapely.difference(shore, shapely.segmentize(land, 1e-4))
    (w,) = [w for w in s_shore["warnings"] if "outside the pack coverage" in w]
    said = re.search(r"; ([\d,.]+) m², ([\d.]+) % of it\)", w)
    assert "partly outside" in w and said is not None, w
    assert float(said.group(1).replace(",", "")) == pytest.approx(geod_m2(outside), abs=0.05)
    share = 100 * geod_m2(outside) / geod_m2(shore)
    assert float(said.group(2)) == pytest.approx(share, abs=0.006)
    assert 10 < share < 90


# -- 4. GeoJSON MultiPolygons with holes, either winding ---------------------------------------


def test_multipolygons_with_holes_area(tmp_path: Path) -> None:
    hole = shapely.box(108.601, 21.701, 108.603, 21.703)
    cw = shapely.box(108.604, 21.704, 108.605, 21.705, ccw=False)
    p1 = shapely.Polygon(
        shapely.box(108.6, 21.7, 108.606, 21.706).exterior, [hole.exterior, cw.exterior]
    )
    p2 = shapely.box(108.61, 21.70, 108.612, 21.702).difference(
        shapely.box(108.6105, 21.7005, 108.6115, 21.7015)
    )
    cw3 = shapely.box(108.621, 21.701, 108.622, 21.702, ccw=False)  # hole wound like its shell
    p3 = shapely.Polygon(
        shapely.box(108.62, 21.7, 108.623, 21.703, ccw=False).exterior, [cw3.exterior]
    )
    geoms = [shapely.MultiPolygon([p1, p2]), shapely.MultiPolygon([p3])]
    path = tmp_path / "mp.geojson"
    feats = [{"type": "Feature", "properties": {}, "geometry": g.__geo_interface__} for g in geoms]
    fc = {"type": "FeatureCollection", "features": feats}
    path.write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    for site, g in zip(sites(path), geoms, strict=True):
        assert_area(site, geod_m2(g))
        assert site["area_m2"] < geod_m2(
            shapely.MultiPolygon([shapely.Polygon(p.exterior) for p in g.geoms])
        )


# -- 5. convert: GBK Shapefile round trip, PolygonZ --repair, --crs that disagrees -------------


@pytest.fixture
def gbk_shp(tmp_path: Path) -> Path:
    path = tmp_path / "gbk" / "地块.shp"
    path.parent.mkdir()
    geoms = [shapely.Polygon(TO_GK.itransform(list(BOX_A.exterior.coords)))]
    d = gpd.GeoDataFrame({"名称": ["王堃地块"], "用地性质": ["工业"]}, geometry=geoms, crs=4524)
    d.to_file(path, encoding="cp936")
    path.with_suffix(".cpg").write_text("936")
    return path


def test_gbk_shapefile_to_gpkg_keeps_text_and_area(gbk_shp: Path, tmp_path: Path) -> None:
    out = tmp_path / "rt.gpkg"
    res = run_cli("convert", gbk_shp, out)
    assert res.exit_code == 0, all_output(res)
    got = gpd.read_file(out)
    assert got.crs.to_epsg() == 4524 and got["名称"].tolist() == ["王堃地块"]
    assert got["用地性质"].tolist() == ["工业"]


def test_gbk_shapefile_round_trip_back_to_shapefile(gbk_shp: Path, tmp_path: Path) -> None:
    gpkg, back = tmp_path / "rt.gpkg", tmp_path / "back.shp"
    assert run_cli("convert", gbk_shp, gpkg).exit_code == 0
    # 用地性质 is 8 bytes in GBK, 12 in UTF-8: over the DBF's 10-byte limit, so UTF-8 is
    # refused, naming the way out
    res = run_cli("convert", gpkg, back)
    assert res.exit_code == 2 and not back.exists()
    assert "'用地性质' (12 bytes)" in all_output(res) and "--out-encoding GBK" in all_output(res)
    res = run_cli("convert", gpkg, back, "--out-encoding", "gbk")
    assert res.exit_code == 0, all_output(res)
    assert back.with_suffix(".cpg").read_text().strip() == "GBK"
    raw = back.with_suffix(".dbf").read_bytes()
    assert "用地性质".encode("gbk") in raw and "王堃地块".encode("gbk") in raw
    got = gpd.read_file(back)  # GDAL, from the .cpg
    assert got["用地性质"].tolist() == ["工业"] and got["名称"].tolist() == ["王堃地块"]
    assert geod_m2(got.to_crs(4490).geometry[0]) == pytest.approx(geod_m2(BOX_A), rel=1e-9)


def test_text_gbk_cannot_hold_is_refused_not_written_as_question_marks(tmp_path: Path) -> None:
    src = tmp_path / "ext.gpkg"
    # 㐀 (U+3400, CJK extension A) is in GB18030 but not in GBK
    gpd.GeoDataFrame({"名称": ["㐀地块"]}, geometry=[BOX_A], crs=4490).to_file(src)
    out = tmp_path / "ext.shp"
    res = run_cli("convert", src, out, "--out-encoding", "GBK")
    assert res.exit_code == 2 and not out.exists(), all_output(res)
    assert "'㐀'" in all_output(res) and "GB18030" in all_output(res)
    assert_no_traceback(res)
    res = run_cli("convert", src, out, "--out-encoding", "GB18030")
    assert res.exit_code == 0, all_output(res)
    assert gpd.read_file(out)["名称"].tolist() == ["㐀地块"]


@pytest.mark.parametrize(
    ("out", "value", "said"),
    [
        ("a.gpkg", "GBK", "--out-encoding applies to .shp and 界址点 .txt outputs"),
        ("a.shp", "latin-1", "use one of UTF-8, GBK, GB18030"),
    ],
)
def test_bad_encoding_option_exits_2_naming_it(
    tmp_path: Path, out: str, value: str, said: str
) -> None:
    src = tmp_path / "a_in.gpkg"
    gpd.GeoDataFrame({"名称": ["甲"]}, geometry=[BOX_A], crs=4490).to_file(src)
    res = run_cli("convert", src, tmp_path / out, "--out-encoding", value)
    assert res.exit_code == 2 and said in all_output(res), all_output(res)
    assert "--out-encoding" in all_output(res) and not (tmp_path / out).exists()


def test_polygonz_repair_counts_z_and_crs_disagreement_is_said(tmp_path: Path) -> None:
    z = shapely.force_3d(BOX_A, 5.0)
    bow = shapely.Polygon(
        [(108.61, 21.7, 1), (108.615, 21.705, 1), (108.615, 21.7, 1), (108.61, 21.705, 1)]
    )
    src = tmp_path / "z.gpkg"
    gpd.GeoDataFrame({"名称": ["a", "b"]}, geometry=[z, bow], crs=4490).to_file(src)
    out = tmp_path / "z2d.gpkg"
    res = run_cli("convert", src, out, "--repair", "--crs", "EPSG:4524")
    text = all_output(res)
    assert res.exit_code == 0, text
    assert text.count("Z coordinates removed") == 2, text  # one feature made 2D, then repaired
    assert "2 feature(s) repaired, 0 dropped" in text, text
    assert "declares its CRS (EPSG:4490); --crs EPSG:4524" in text, text  # was silent
    got = gpd.read_file(out)
    assert got.crs.to_epsg() == 4490 and not got.has_z.any() and got.is_valid.all()
    assert geod_m2(got.geometry[0]) == pytest.approx(geod_m2(BOX_A), rel=1e-12)


# -- 6. bad input: exit 2 naming the file and the fix ------------------------------------------


def _bad(tmp: Path, kind: str) -> tuple[str, str]:
    """``(argument, a word of the fix)`` for each hostile input."""
    if kind == "missing":
        return str(tmp / "无.geojson"), "does not exist"
    if kind == "empty":
        (tmp / "空.geojson").write_bytes(b"")
        return str(tmp / "空.geojson"), "export it again"
    if kind == "folder":
        (tmp / "文件夹").mkdir()
        return str(tmp / "文件夹"), "give the file itself"
    if kind == "vrt":
        (tmp / "a.vrt").write_text("<OGRVRTDataSource/>")
        return str(tmp / "a.vrt"), "not accepted"
    if kind == "vsicurl":
        return "/vsicurl/https://example.com/a.geojson", "local path"
    path = tmp / "a.gpkg"
    gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=4490)).to_file(path, layer="sites")
    return f"GPKG:{path}", "local path"


@pytest.mark.parametrize("kind", ["missing", "empty", "folder", "vrt", "vsicurl", "prefix"])
@pytest.mark.parametrize("cmd", ["check", "convert"])
def test_bad_inputs_exit_2_naming_value_and_fix(tmp_path: Path, kind: str, cmd: str) -> None:
    arg, fix = _bad(tmp_path, kind)
    extra = [tmp_path / "o.gpkg"] if cmd == "convert" else []
    refused(run_cli(cmd, arg, *extra), arg, fix)  # the value exactly as given (no mangled //)


def test_zero_features_and_a_path_with_space_and_chinese(tmp_path: Path) -> None:
    zero = tmp_path / "零.gpkg"
    gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=4490)).to_file(zero, layer="sites")
    refused(run_cli("check", zero), str(zero), "no polygon")
    refused(run_cli("convert", zero, tmp_path / "o.gpkg"), str(zero), "no features", "--layer")
    assert not (tmp_path / "o.gpkg").exists()
    odd = tmp_path / "有 空格" / "选址 一.geojson"
    odd.parent.mkdir()
    gpd.GeoDataFrame({"名称": ["选址"]}, geometry=[BOX_A], crs=4490).to_file(odd)
    (site,) = sites(odd)
    assert_area(site, geod_m2(BOX_A))
    assert run_cli("convert", odd, tmp_path / "有 空格" / "输出 一.gpkg").exit_code == 0
