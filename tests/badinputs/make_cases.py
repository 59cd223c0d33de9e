"""Rebuild the bad-input catalog in tests/badinputs/data/: python tests/badinputs/make_cases.py.

Each file holds one small, hand-made case near 大榄坪 (钦州港), CGCS2000. The files are
committed; this script documents how they were made and rebuilds them byte-for-byte (except
for the DXF handles' timestamps, which ezdxf does not write). The 1 GB GeoJSON of case 26 is
made at test time as a sparse file and never committed.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import ezdxf
import geopandas as gpd
import pyogrio
import shapely
from shapely import Polygon, box

from qzgeo.geo.gcj02 import geoms_wgs84_to_gcj02
from qzgeo.io.write import write_gpkg

DATA = Path(__file__).parent / "data"
LON, LAT = 108.65, 21.68  # 大榄坪
E0, N0 = 36_564_000.0, 2_399_000.0  # GK zone 36, with prefix

#: The worked example of /work/shared/reference/README.md (declared area deliberately wrong).
JZD_EXAMPLE = """\
[属性描述]
格式版本号=1.01版本
数据产生单位=某某勘测院
数据产生日期=2024-05-01
坐标系=2000国家大地坐标系
几度分带=3
投影类型=高斯克吕格
计量单位=米
带号=36
精度=0.001
转换参数=,,,,,,
[地块坐标]
9,5.1723,QZ-001,示例地块,面,,工业用地,1001,@
J1,1,2399603.043,36564161.661
J2,1,2399605.538,36564782.598
J3,1,2400159.193,36564780.362
J4,1,2400156.697,36564159.446
J1,1,2399603.043,36564161.661
J5,2,2399769.968,36564367.973
J6,2,2399991.430,36564367.085
J7,2,2399992.262,36564574.059
J8,2,2399770.800,36564574.950
J5,2,2399769.968,36564367.973
"""

#: Attribute strings that must survive a round trip byte-exact and never be executed.
HOSTILE = [
    "'; DROP TABLE parcels; --",
    "<script>alert('x')</script>",
    "$(rm -rf ~) `id` ${HOME}",
    "{{7*7}} %s %n %x",
    '=HYPERLINK("http://example.invalid","点我")',
    "line1\nline2\r\nline3\ttab",
    "\u202e反向文本 RTL override",
    "emoji 🏗️ and 𠀀 (GB18030 4-byte)",
    'quote " and backslash \\ and comma ,',
    "长" * 300,
]


def _lonlat_box(dx: float = 0.0, dy: float = 0.0, size: float = 0.002) -> Polygon:
    return box(LON + dx, LAT + dy, LON + dx + size, LAT + dy + size)


def _geojson(name: str, features: list[dict[str, object]]) -> None:
    doc = {"type": "FeatureCollection", "features": features}
    (DATA / name).write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", "utf-8")


def _feature(fid: int, geometry: dict[str, object] | None, **props: object) -> dict[str, object]:
    return {"type": "Feature", "properties": {"fid_src": fid, **props}, "geometry": geometry}


def _jzd(name: str, text: str, encoding: str = "gbk") -> None:
    (DATA / name).write_bytes(text.replace("\n", "\r\n").encode(encoding))


def make_geometry_cases() -> None:
    x, y, s = LON, LAT, 0.002
    bowtie = [[x, y], [x + s, y + s], [x + s, y], [x, y + s], [x, y]]
    _geojson("01_bowtie.geojson", [_feature(1, {"type": "Polygon", "coordinates": [bowtie]})])
    # A square with a 1 km spike that goes out and comes back along the same line.
    spike = [
        [x, y],
        [x + s, y],
        [x + s, y + s / 2],
        [x + s + 0.01, y + s / 2],
        [x + s, y + s / 2],
        [x + s, y + s],
        [x, y + s],
        [x, y],
    ]
    _geojson("02_spike.geojson", [_feature(1, {"type": "Polygon", "coordinates": [spike]})])
    # Exactly collinear (binary-exact coordinates): zero area, collapses on repair.
    sliver = [
        [108.625, 21.625],
        [108.62890625, 21.62890625],
        [108.6328125, 21.6328125],
        [108.625, 21.625],
    ]
    _geojson(
        "03_sliver.geojson",
        [
            _feature(1, {"type": "Polygon", "coordinates": [sliver]}),
            _feature(2, json.loads(shapely.to_geojson(_lonlat_box(0.01)))),
        ],
    )
    unclosed = [[x, y], [x + s, y], [x + s, y + s], [x, y + s]]
    _geojson(
        "04_unclosed_ring.geojson", [_feature(1, {"type": "Polygon", "coordinates": [unclosed]})]
    )
    _geojson(
        "06_empty_null.geojson",
        [
            _feature(1, json.loads(shapely.to_geojson(_lonlat_box()))),
            _feature(2, None),
            _feature(3, {"type": "Polygon", "coordinates": []}),
        ],
    )
    _geojson(
        "07_points_in_polygons.geojson",
        [
            _feature(1, json.loads(shapely.to_geojson(_lonlat_box()))),
            _feature(2, {"type": "Point", "coordinates": [x, y]}),
        ],
    )
    nan = Polygon([(x, y), (float("nan"), y), (x + s, y + s), (x, y)])
    inf = Polygon([(x, y), (float("inf"), y), (x + s, y + s), (x, y)])
    write_gpkg(
        DATA / "08_nan_inf.gpkg",
        {
            "parcels": gpd.GeoDataFrame(
                {"k": [1, 2, 3]}, geometry=[nan, inf, _lonlat_box()], crs="EPSG:4490"
            )
        },
    )
    polyz = Polygon([(E0, N0, 5.0), (E0 + 100, N0, 6.0), (E0 + 100, N0 + 100, 7.0), (E0, N0, 5.0)])
    write_gpkg(
        DATA / "22_polygonz.gpkg",
        {"parcels": gpd.GeoDataFrame({"k": [1]}, geometry=[polyz], crs="EPSG:4524")},
    )


def make_dxf() -> None:
    doc = ezdxf.new("R2010")
    doc.header["$TDCREATE"] = 2451545.0  # fixed dates keep the file reproducible
    doc.header["$TDUPDATE"] = 2451545.0
    msp = doc.modelspace()
    e, n = E0, N0
    msp.add_lwpolyline(
        [(e, n), (e + 100, n), (e + 100, n + 100), (e, n + 100)],
        close=True,
        dxfattribs={"layer": "地块"},
    )
    # Closed by repeating the first point, flag not set.
    msp.add_lwpolyline(
        [(e + 200, n), (e + 300, n), (e + 300, n + 100), (e + 200, n)], dxfattribs={"layer": "地块"}
    )
    open_pl = msp.add_lwpolyline(
        [(e + 400, n), (e + 500, n), (e + 500, n + 100)], dxfattribs={"layer": "草图"}
    )
    msp.add_text("地块A", dxfattribs={"layer": "注记"})
    doc.saveas(DATA / "05_open_polyline.dxf")
    msp.delete_entity(open_pl)
    doc.saveas(DATA / "05_closed_polylines.dxf")


def make_crs_cases() -> None:
    sq = box(E0, N0, E0 + 500, N0 + 500)
    # 9: zone-prefixed eastings declared as CM 108E (no prefix).
    write_gpkg(
        DATA / "09_wrong_zone.gpkg",
        {"parcels": gpd.GeoDataFrame({"k": [1]}, geometry=[sq], crs="EPSG:4545")},
    )
    # 10: northing in X, easting in Y.
    swapped = shapely.transform(sq, lambda c: c[:, ::-1])
    write_gpkg(
        DATA / "10_swapped_xy.gpkg",
        {"parcels": gpd.GeoDataFrame({"k": [1]}, geometry=[swapped], crs="EPSG:4524")},
    )
    # 11: shapefile without .prj.
    g = gpd.GeoDataFrame({"k": [1]}, geometry=[sq], crs="EPSG:4524")
    pyogrio.write_dataframe(g, DATA / "11_no_prj.shp", encoding="UTF-8")
    (DATA / "11_no_prj.prj").unlink()
    # 12: ESRI-style .prj.
    pyogrio.write_dataframe(g, DATA / "12_esri_gk.shp", encoding="UTF-8")
    (DATA / "12_esri_gk.prj").write_text(
        'PROJCS["CGCS2000_3_Degree_GK_Zone_36",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",'
        'DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",'
        '0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER['
        '"False_Easting",36500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",'
        '108.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",'
        "1.0]]"
    )


def make_encoding_cases() -> None:
    g = gpd.GeoDataFrame(
        {"名称": ["钦州港片区", "保税港区"], "用途": ["工业用地", "仓储用地"]},
        geometry=[_lonlat_box(), _lonlat_box(0.01)],
        crs="EPSG:4490",
    )
    pyogrio.write_dataframe(g, DATA / "13_gbk_no_cpg.shp", encoding="GBK")
    (DATA / "13_gbk_no_cpg.cpg").unlink(missing_ok=True)
    long = gpd.GeoDataFrame({"地块名称用途": ["甲"]}, geometry=[_lonlat_box()], crs="EPSG:4490")
    write_gpkg(DATA / "14_long_field.gpkg", {"parcels": long})
    hostile = gpd.GeoDataFrame(
        {"名称": HOSTILE, "k": list(range(len(HOSTILE)))},
        geometry=[_lonlat_box(0.003 * i) for i in range(len(HOSTILE))],
        crs="EPSG:4490",
    )
    write_gpkg(DATA / "19_hostile.gpkg", {"parcels": hostile})


def make_gcj02_case() -> None:
    """A wiggly synthetic coastline and a district polygon sharing it, stored in GCJ-02."""
    import numpy as np

    t = np.linspace(0.0, 1.0, 200)
    lon = 108.4 + 0.5 * t
    lat = 21.7 + 0.01 * np.sin(t * 40) + 0.004 * np.sin(t * 130)
    coast = shapely.LineString(np.column_stack([lon, lat]))
    district = Polygon([*zip(lon, lat, strict=True), (108.9, 22.0), (108.4, 22.0)])
    gpd.GeoDataFrame({"名称": ["海岸线"]}, geometry=[coast], crs="EPSG:4490").to_file(
        DATA / "15_coast.geojson", driver="GeoJSON"
    )
    shifted = geoms_wgs84_to_gcj02([district])
    gpd.GeoDataFrame({"名称": ["某区"]}, geometry=shifted, crs="EPSG:4490").to_file(
        DATA / "15_district_gcj02.geojson", driver="GeoJSON"
    )
    gpd.GeoDataFrame({"名称": ["某区"]}, geometry=[district], crs="EPSG:4490").to_file(
        DATA / "15_district_wgs84.geojson", driver="GeoJSON"
    )


def make_jzd_cases() -> None:
    _jzd("18_jzd_prefix_holes.txt", JZD_EXAMPLE)
    # 17: a 1 km² square (100 公顷) declared in 亩 (1500) and in m² (1 000 000).
    square = (
        "J1,1,2399000.000,36564000.000\nJ2,1,2399000.000,36565000.000\n"
        "J3,1,2400000.000,36565000.000\nJ4,1,2400000.000,36564000.000\n"
        "J1,1,2399000.000,36564000.000\n"
    )
    head = "[属性描述]\n坐标系=2000国家大地坐标系\n几度分带=3\n带号=36\n[地块坐标]\n"
    _jzd("17_jzd_area_mu.txt", head + "5,1500.0000,QZ-MU,亩当公顷,面,,工业用地,0601,@\n" + square)
    _jzd(
        "17_jzd_area_m2.txt",
        head + "5,1000000.0000,QZ-M2,平方米当公顷,面,,工业用地,0601,@\n" + square,
    )
    no_prefix = square.replace(",3656", ",56")
    _jzd("18_jzd_no_prefix.txt", head + "5,100.0000,QZ-NP,无带号前缀,面,,,,@\n" + no_prefix)
    _jzd(
        "18_jzd_no_zone.txt",
        "[属性描述]\n坐标系=2000国家大地坐标系\n[地块坐标]\n5,100.0000,QZ-NZ,无带号,面,,,,@\n"
        + no_prefix,
    )
    # Two parcels, the second's header declares 7 points but has 5 rows.
    _jzd(
        "18_jzd_count_mismatch.txt",
        head
        + "5,100.0000,QZ-A,甲,面,,,,@\n"
        + square
        + "7,100.0000,QZ-B,乙,面,,,,@\n"
        + square.replace("2399", "2401").replace("2400", "2402"),
    )
    swapped = "\n".join(
        ",".join([p[0], p[1], p[3], p[2]]) for p in (r.split(",") for r in square.splitlines())
    )
    _jzd("18_jzd_swapped.txt", head + "5,100.0000,QZ-SW,XY互换,面,,,,@\n" + swapped + "\n")
    _jzd(
        "18_jzd_utf8_bom.txt",
        "\ufeff" + head + "5,100.0000,QZ-U8,UTF8文件,面,,,,@\n" + square,
        encoding="utf-8",
    )
    _jzd(
        "18_jzd_bad_number.txt",
        head
        + "5,100.0000,QZ-X,坏数字,面,,,,@\n"
        + square.replace("2400000.000,36565000", "24OOOOO.000,36565000"),
    )


def make_corrupt_cases() -> None:
    good = gpd.GeoDataFrame(
        {"k": range(50)}, geometry=[_lonlat_box(0.003 * i) for i in range(50)], crs="EPSG:4490"
    )
    write_gpkg(DATA / "23_good.gpkg", {"parcels": good})
    raw = (DATA / "23_good.gpkg").read_bytes()
    (DATA / "23_truncated.gpkg").write_bytes(raw[: len(raw) // 3])
    (DATA / "23_good.gpkg").unlink()
    for name, part in (("23_truncated_shp", ".shp"), ("23_truncated_shx", ".shx")):
        pyogrio.write_dataframe(good, DATA / f"{name}.shp", encoding="UTF-8")
        p = (DATA / name).with_suffix(part)
        p.write_bytes(p.read_bytes()[: p.stat().st_size - 300])
    (DATA / "25_empty.geojson").write_bytes(b"")


def make_wal_case() -> None:
    g = gpd.GeoDataFrame({"名称": ["甲"]}, geometry=[_lonlat_box()], crs="EPSG:4490")
    p = DATA / "wal_mode.gpkg"
    write_gpkg(p, {"parcels": g})
    con = sqlite3.connect(p)
    con.execute("PRAGMA journal_mode=WAL")
    con.close()


def main() -> None:
    DATA.mkdir(exist_ok=True)
    make_geometry_cases()
    make_dxf()
    make_crs_cases()
    make_encoding_cases()
    make_gcj02_case()
    make_jzd_cases()
    make_corrupt_cases()
    make_wal_case()


if __name__ == "__main__":
    main()
