"""锦州 staff's own files against the 锦州 pack: what a GIS technician of the 自然资源局 meets.

Inputs are made here the way the bureau has them, never with qzgeo: Shapefiles in CGCS2000
3-degree Gauss-Krüger zone 40 (CM 120°E, EPSG:4528 with the zone prefix) or zone 41 (CM 123°E,
EPSG:4529), a GBK ``.dbf`` with Chinese field names; 锦州 straddles the zone boundary at
121.5°E. Expected numbers come from ``pyproj`` alone: the GK rings densified to 10 m (their
edges are straight in the plane), taken to lon/lat and measured with ``Geod`` (``support``).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from click.testing import CliRunner, Result
from pyproj import Transformer
from support import geod_ring_area

from qzgeo.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
PACK = ROOT / "examples" / "jinzhou"
GPKG = PACK / "layers" / "jinzhou.gpkg"
EXTENT_NORTH = 42.2  # [pack] extent of the 锦州 pack: its north edge is this parallel


@pytest.fixture
def box_pack(tmp_path: Path) -> Path:
    """The 锦州 pack without its `coverage_layer`: its extent box is what it vouches for.

    The sites across the box's north edge below lie wholly outside the districts (north of
    42.13°N): against the pack as shipped they are unchecked all through.
    """
    dst = tmp_path / "jinzhou_box"
    shutil.copytree(PACK, dst)
    cat = dst / "layers" / "catalog.toml"
    text = cat.read_text(encoding="utf-8")
    assert 'coverage_layer = "districts"\n' in text
    cat.write_text(text.replace('coverage_layer = "districts"\n', ""), encoding="utf-8")
    return dst


def _run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _gk_box(lon: float, lat: float, w: float, h: float, epsg: int) -> shapely.Polygon:
    """A w × h m rectangle of GK ``epsg`` from the corner (lon, lat), vertices every 10 m."""
    x, y = Transformer.from_crs(4490, epsg, always_xy=True).transform(lon, lat)
    return shapely.segmentize(shapely.box(x, y, x + w, y + h), 10.0)


def _to_lonlat(geom: shapely.Geometry, epsg: int) -> shapely.Geometry:
    t = Transformer.from_crs(epsg, 4490, always_xy=True)
    return shapely.transform(geom, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


def _gbk_shapefile(path: Path, names: list[str], geoms: list[shapely.Geometry], epsg: int) -> Path:
    gdf = gpd.GeoDataFrame(
        {"宗地代码": [f"2107{i:015d}" for i in range(len(names))], "用地性质": names},
        geometry=geoms,
        crs=f"EPSG:{epsg}",
    )
    gdf.to_file(path, encoding="GBK")
    path.with_suffix(".cpg").write_text("GBK", encoding="ascii")
    return path


def test_site_across_the_north_edge_reports_the_outside_part_along_the_parallel(
    tmp_path: Path, box_pack: Path
) -> None:
    """A 1 km × 1.5 km site in zone 41 across the pack's north edge (42.2°N): the warning's
    m² of the part outside is cut along the parallel, as the verdict's unchecked share is.

    Cut along the geodesic between the two crossing points instead, the part outside was
    950,199.51 m² against the parallel's 950,211.34 (a 1 km cut bows ~2 cm at 42°N), and the
    warning and the shares no longer added up to the site.
    """
    site = _gk_box(122.0, 42.195, 1000.0, 1500.0, 4529)
    shp = _gbk_shapefile(tmp_path / "选址_41带.shp", ["跨北界选址"], [site], 4529)
    r = _run("check", "--pack", box_pack, "--format", "json", shp)
    assert r.exit_code == 1, r.stderr  # outside the 城镇开发边界 where it is checked
    (d,) = json.loads(r.stdout)
    lonlat = _to_lonlat(site, 4529)
    north = shapely.box(121.0, EXTENT_NORTH, 123.0, 43.0)
    outside_m2 = geod_ring_area(shapely.intersection(lonlat, north), densify_deg=1e-5)
    whole_m2 = geod_ring_area(lonlat)
    assert d["area_m2"] == pytest.approx(whole_m2, abs=0.01)
    (warning,) = [w for w in d["warnings"] if "partly outside the pack extent" in w]
    said = float(re.search(r"; ([\d,.]+) m²", warning).group(1).replace(",", ""))
    assert said == pytest.approx(outside_m2, abs=0.05)
    share = d["development_boundary"]["unchecked_share"]
    assert share == pytest.approx(outside_m2 / whole_m2, abs=1e-6)


def test_text_and_html_reports_give_the_unchecked_share_of_a_site_across_the_edge(
    tmp_path: Path, box_pack: Path
) -> None:
    """The boundary line's shares add up to the site: inside + outside + unchecked = 100 %.

    The text said ``内 inside 0.0000%, 外 outside 36.6421%`` and nothing of the other 63 %
    (outside the pack extent, said only in JSON as ``unchecked_share``).
    """
    site = _gk_box(122.0, 42.195, 1000.0, 1500.0, 4529)
    shp = _gbk_shapefile(tmp_path / "选址_41带.shp", ["跨北界选址"], [site], 4529)
    r = _run("check", "--pack", box_pack, shp)
    assert r.exit_code == 1, r.stderr
    (line,) = [x for x in r.stdout.splitlines() if "Development boundary" in x]
    shares = [float(v) for v in re.findall(r"([\d.]+)%", line)]
    assert "未核查 unchecked" in line
    assert sum(shares) == pytest.approx(100.0, abs=1e-3), line
    out = tmp_path / "out"
    r = _run("check", "--pack", box_pack, "--format", "html", "--out", out, shp)
    assert r.exit_code == 1, r.stderr
    page = (out / "internal" / "check.html").read_text(encoding="utf-8")
    assert f"未核查 unchecked {shares[2]:.4f}%" in page


def test_site_across_the_districts_edge_is_unchecked_beyond_them(tmp_path: Path) -> None:
    """The pack's coverage is its districts: a 1 km × 1.5 km site in zone 41 across 黑山's
    north edge (into 阜新) has its part beyond them unchecked, not "outside the 城镇开发边界";
    the warning's m² and the verdict's unchecked share are of the same cut along the
    districts' outline."""
    site = _gk_box(122.0, 41.92, 1000.0, 1500.0, 4529)
    shp = _gbk_shapefile(tmp_path / "选址_41带.shp", ["跨县界选址"], [site], 4529)
    r = _run("check", "--pack", PACK, "--format", "json", shp)
    assert r.exit_code == 1, r.stderr
    (d,) = json.loads(r.stdout)
    lonlat = _to_lonlat(site, 4529)
    land = shapely.union_all(gpd.read_file(GPKG, layer="districts").geometry.values)
    outside_m2 = geod_ring_area(shapely.difference(lonlat, land), densify_deg=1e-4)
    whole_m2 = geod_ring_area(lonlat)
    assert 0.1 * whole_m2 < outside_m2 < 0.9 * whole_m2
    (warning,) = [w for w in d["warnings"] if "partly outside the pack coverage" in w]
    assert "layer 'districts' within the extent [120.6, 40.5, 122.7, 42.2]" in warning
    said = float(re.search(r"; ([\d,.]+) m²", warning).group(1).replace(",", ""))
    assert said == pytest.approx(outside_m2, abs=0.05)
    share = d["development_boundary"]["unchecked_share"]
    assert share == pytest.approx(outside_m2 / whole_m2, abs=1e-6)


def test_a_site_in_a_neighbouring_city_is_incomplete_not_a_conflict(tmp_path: Path) -> None:
    """The tester's case: a site west of 锦州's districts, in 葫芦岛, inside the pack's box.

    It was a conflict (城镇开发边界外, 100 %, exit 1) against the box: a verdict about land
    the pack holds no data for. Now: incomplete, all of it unchecked, and said so.
    """
    site = _gk_box(120.65, 40.90, 800.0, 800.0, 4528)
    shp = _gbk_shapefile(tmp_path / "选址_葫芦岛.shp", ["邻市选址"], [site], 4528)
    r = _run("check", "--pack", PACK, "--format", "json", shp)
    assert r.exit_code == 1, r.stderr
    (d,) = json.loads(r.stdout)
    assert d["verdict"] == "incomplete" and d["conflicts"] == []
    assert d["development_boundary"]["unchecked_share"] == 1.0
    assert d["development_boundary"]["outside_share"] == 0.0
    assert any("wholly outside the pack coverage" in w for w in d["warnings"]), d["warnings"]


@pytest.mark.parametrize(("epsg", "zone"), [(4528, 40), (4549, 40), (4529, 41)])
def test_convert_to_jzd_keeps_the_zone_of_a_gk_source(tmp_path: Path, epsg: int, zone: int) -> None:
    """A 40带 parcel layer whose centre lies east of 121.5°E stays in zone 40 as 界址点.

    Parcels at the port (121.04°E) and in 黑山 (122.05°E): the centre, 121.55°E, is in zone
    41. The 界址点 file was written in zone 41 (带号=41), every coordinate changed from the
    survey's; the file's zone now follows its source's (with the prefix, the format's habit).
    """
    geoms = [_gk_box(121.04, 40.80, 300.0, 200.0, epsg), _gk_box(122.05, 41.82, 400.0, 300.0, epsg)]
    shp = _gbk_shapefile(
        tmp_path / f"宗地_{epsg}.shp", ["港口码头用地", "公用设施用地"], geoms, epsg
    )
    out = tmp_path / "宗地.txt"
    r = _run("convert", shp, out)
    assert r.exit_code == 0, r.stderr
    text = out.read_text(encoding="gbk")
    assert f"带号={zone}" in text
    rows = [line.split(",") for line in text.splitlines() if re.match(r"J\d+,\d+,", line)]
    northing_easting = np.asarray([(float(r[2]), float(r[3])) for r in rows])
    prefix = 0.0 if epsg in (4528, 4529) else zone * 1e6
    src = np.concatenate([shapely.get_coordinates(g) for g in geoms])
    assert len(src) == len(northing_easting)
    got = np.column_stack([northing_easting[:, 1] - prefix, northing_easting[:, 0]])
    # every written point is a surveyed one, to the millimetre of the file (in any order: the
    # writer may wind the rings its way)
    gap = np.hypot(*(got[:, None, :] - src[None, :, :]).transpose(2, 0, 1)).min(axis=1)
    assert gap.max() <= 0.0008


def test_convert_to_jzd_of_lonlat_data_takes_the_zone_of_the_centre(tmp_path: Path) -> None:
    """Lon/lat data have no zone of their own: the zone of their centre, as documented."""
    lonlat = [_to_lonlat(_gk_box(121.6, 41.5, 300.0, 200.0, 4529), 4529)]
    gj = tmp_path / "选址.geojson"
    gpd.GeoDataFrame({"名称": ["北镇地块"]}, geometry=lonlat, crs="EPSG:4490").to_file(gj)
    out = tmp_path / "选址.txt"
    assert _run("convert", gj, out).exit_code == 0
    assert "带号=41" in out.read_text(encoding="gbk")


# A city coordinate system (城市坐标系): CGCS2000's ellipsoid, its own central meridian and
# projection height. Its 界址点 files name it in 坐标系 and give the nearest 带号.
CITY_CRS = (
    "+proj=tmerc +lat_0=0 +lon_0=121.3333333333 +k=1.0000157 +x_0=500000 +y_0=0 "
    "+ellps=GRS80 +units=m +no_defs"
)


def _jzd_in_city_crs(path: Path, crs_name: str, lon: float, lat: float) -> Path:
    x, y = Transformer.from_crs(4490, CITY_CRS, always_xy=True).transform(lon, lat)
    ring = [(x, y), (x, y + 200.0), (x + 300.0, y + 200.0), (x + 300.0, y), (x, y)]
    rows = "".join(f"J{i % 4 + 1},1,{n:.3f},{e:.3f}\r\n" for i, (e, n) in enumerate(ring))
    text = (
        "[属性描述]\r\n格式版本号=1.01版本\r\n数据产生单位=锦州市自然资源局\r\n"
        f"坐标系={crs_name}\r\n几度分带=3\r\n投影类型=高斯克吕格\r\n计量单位=米\r\n"
        "带号=40\r\n精度=0.01\r\n[地块坐标]\r\n"
        f"5,6.0000,210726001,黑山地块,面,,工业用地,0601,@\r\n{rows}"
    )
    path.write_bytes(text.encode("gbk"))
    return path


@pytest.mark.parametrize("crs_name", ["锦州2000城市坐标系", "2000国家大地坐标系（锦州独立）"])
def test_jzd_in_a_city_coordinate_system_is_not_read_as_cgcs2000(
    tmp_path: Path, crs_name: str
) -> None:
    """坐标系 names a city (独立/城市) system: refused without --crs, right with it.

    It was read as CGCS2000 GK zone 40 because the name holds "2000": a parcel at 122.30°E in
    黑山 landed at 120.97°E, inside the pack, and got a confident verdict 110 km away.
    """
    txt = _jzd_in_city_crs(tmp_path / "城市坐标系.txt", crs_name, 122.30, 41.75)
    r = _run("check", "--pack", PACK, "--format", "json", txt)
    assert r.exit_code == 2, r.stdout
    assert crs_name in r.stderr and "--crs" in r.stderr
    r = _run("check", "--pack", PACK, "--format", "json", "--crs", CITY_CRS, txt)
    assert r.exit_code in (0, 1), r.stderr
    (d,) = json.loads(r.stdout)
    assert d["centroid"] == pytest.approx([122.30 + 0.0018, 41.75 + 0.0009], abs=0.0005)


def test_qgis_default_view_frames_the_zones_with_a_margin(tmp_path: Path) -> None:
    """The project opens on the 锦州 zones with room around them, as the web maps do.

    Its default view was the zones' bounding box itself: 锦州港 touched the bottom of the
    canvas (12 m, under a pixel) and the 黑山 wind farm its top.
    """
    import xml.etree.ElementTree as ET
    import zipfile

    from qzgeo.analysis.zones import analyze_pack
    from qzgeo.pack.catalog import load_pack
    from qzgeo.pack.load import load_pack_layers
    from qzgeo.publish.qgis import write_qgis_project

    pack = load_pack(PACK)
    loaded = load_pack_layers(pack)
    result = analyze_pack(loaded)
    analysis = {"available_land": result.available_land, "conflicts": result.conflicts}
    _, qgz = write_qgis_project(
        pack=pack, layers=loaded.layers, analysis=analysis, out_dir=tmp_path / "q"
    )
    with zipfile.ZipFile(qgz) as zf:
        qgs = zf.read(zf.namelist()[0]).decode("utf-8")
    view = ET.fromstring(qgs.split("\n", 1)[1]).find("ProjectViewSettings/DefaultViewExtent")
    assert view is not None
    x0, y0, x1, y1 = (float(view.get(k, "nan")) for k in ("xmin", "ymin", "xmax", "ymax"))
    gpkg = PACK / "layers" / "jinzhou.gpkg"
    zones = gpd.GeoDataFrame(
        geometry=[
            g
            for layer in ("port", "industrial_zones", "energy_projects")
            for g in gpd.read_file(gpkg, layer=layer).geometry
        ],
        crs="EPSG:4490",
    )
    # the pack's planar_crs (zone 40), where QGIS draws the zones' vertices
    bx0, by0, bx1, by1 = zones.to_crs(4549).total_bounds
    w, h = bx1 - bx0, by1 - by0
    for margin in (bx0 - x0, x1 - bx1):
        assert margin >= 0.02 * w
    for margin in (by0 - y0, y1 - by1):
        assert margin >= 0.02 * h


@pytest.mark.parametrize("cpg", ["UTF-8", "65001", "ANSI 1252"])
def test_gbk_dbf_with_a_wrong_cpg_is_refused_naming_the_cpg_and_gbk(
    tmp_path: Path, cpg: str
) -> None:
    """A GBK .dbf beside a .cpg copied from another export: exit 2 naming the .cpg and GBK.

    With ``65001`` (UTF-8 by its code page) or ``ANSI 1252`` the message was pyogrio's "not
    encoded in UTF-8; please use_arrow=False; the file may be corrupt or truncated".
    """
    site = _gk_box(121.04, 40.80, 300.0, 200.0, 4528)
    shp = _gbk_shapefile(tmp_path / "宗地.shp", ["港口码头用地"], [site], 4528)
    shp.with_suffix(".cpg").write_text(cpg, encoding="ascii")
    r = _run("check", "--pack", PACK, shp)
    assert r.exit_code == 2, r.stdout
    assert f".cpg says {cpg!r}" in r.stderr, r.stderr
    assert "--encoding GBK" in r.stderr
    assert "use_arrow" not in r.stderr and "corrupt" not in r.stderr


def test_gbk_dbf_read_by_a_latin_cpg_is_said_and_named_truly(tmp_path: Path) -> None:
    """A GBK .dbf beside a ``.cpg`` of ``1252``: read as the .cpg says, with a note.

    GDAL decodes it as Windows-1252 (用地性质 becomes 'ÓÃµØÐÔÖÊ'); convert printed "Read … as
    UTF-8 text" (what GDAL hands over, not what the file was read as) and said nothing else.
    """
    site = _gk_box(121.04, 40.80, 300.0, 200.0, 4528)
    shp = _gbk_shapefile(tmp_path / "宗地.shp", ["港口码头用地"], [site], 4528)
    shp.with_suffix(".cpg").write_text("1252", encoding="ascii")
    r = _run("convert", shp, tmp_path / "out.gpkg")
    assert r.exit_code == 0, r.stderr
    assert "as UTF-8 text" not in r.stderr
    assert "1252" in r.stderr and "--encoding GBK" in r.stderr, r.stderr
    r = _run("check", "--pack", PACK, "--format", "json", "--label-field", "宗地代码", shp)
    assert r.exit_code == 2  # the GBK column name is not there: mojibake
    r = _run("check", "--pack", PACK, "--format", "json", shp)
    (d,) = json.loads(r.stdout)
    assert any("--encoding GBK" in w for w in d["warnings"]), d["warnings"]
