"""The bad-input catalog: one small file per case (made by make_cases.py), one table.

Each row names the case, the expected outcome and a runner that asserts it:
- "exit 2": ``qzgeo convert`` fails with exit code 2 and a message that names the fix;
- "repaired": read_layer + repair_layer repair it and record (or warn) what they did;
- "rejected": the feature is dropped and listed in the repair report;
- "error": the library raises the named QzgeoError with a message that names the fix.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from click.testing import CliRunner
from shapely import Polygon, box

from qzgeo._errors import GeometryError, InputError
from qzgeo.cli.main import cli
from qzgeo.geo.area import ellipsoidal_area
from qzgeo.geo.gcj02 import detect_gcj02_offset
from qzgeo.geo.overlay_retry import overlay_op
from qzgeo.geo.repair import RepairReport, repair_layer
from qzgeo.io.vector import read_layer
from qzgeo.io.write import write_layer
from qzgeo.notices import notices_of

DATA = Path(__file__).parent / "data"


def convert(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["convert", *args])
    return result.exit_code, result.output


def repaired(name: str, family: str | None = None) -> tuple[gpd.GeoDataFrame, RepairReport]:
    gdf = read_layer(DATA / name)
    report = RepairReport()
    out = repair_layer(gdf, layer_id=name, report=report, family=family)
    assert out.geometry.is_valid.all()
    return out, report


# --- runners, one per case -----------------------------------------------------------------


def case_01_bowtie(tmp: Path) -> None:
    out, rep = repaired("01_bowtie.geojson")
    [rec] = rep.records
    assert rec.action == "repaired" and "Self-intersection" in rec.reason
    # Both triangles of the bow-tie survive: half of the 0.002° square.
    full = ellipsoidal_area([box(108.65, 21.68, 108.652, 21.682)])[0]
    assert rec.area_after_m2 == pytest.approx(full / 2, rel=1e-3)
    assert out.geometry.iloc[0].geom_type == "MultiPolygon"


def case_02_spike(tmp: Path) -> None:
    out, rep = repaired("02_spike.geojson")
    [rec] = rep.records
    assert rec.action == "repaired"
    # The spike has no area: the repaired square keeps the square's area and loses the spike.
    square = ellipsoidal_area([box(108.65, 21.68, 108.652, 21.682)])[0]
    assert rec.area_after_m2 == pytest.approx(square, rel=1e-6)
    assert out.total_bounds[2] == pytest.approx(108.652)


def case_03_sliver(tmp: Path) -> None:
    out, rep = repaired("03_sliver.geojson")
    [rec] = rep.records
    assert rec.action == "dropped" and "nothing polygonal remains" in rec.reason
    assert len(out) == 1 and rec.feature_id not in out.index.astype(str)


def case_04_unclosed_ring(tmp: Path) -> None:
    gdf = read_layer(DATA / "04_unclosed_ring.geojson")
    [warning] = notices_of(gdf).messages()
    assert "closed the rings" in warning
    ring = gdf.geometry.iloc[0].exterior
    assert ring.coords[0] == ring.coords[-1] and len(ring.coords) == 5


def case_05_dxf(tmp: Path) -> None:
    code, msg = convert(
        str(DATA / "05_open_polyline.dxf"), str(tmp / "o.gpkg"), "--crs", "EPSG:4524"
    )
    assert code == 2 and "open polyline" in msg and "handle 31" in msg and "Close them" in msg
    code, msg = convert(
        str(DATA / "05_closed_polylines.dxf"), str(tmp / "c.gpkg"), "--crs", "EPSG:4524"
    )
    assert code == 0, msg
    gdf = read_layer(tmp / "c.gpkg")
    assert sorted(gdf.geometry.area.round(3)) == [5000.0, 10000.0]
    assert set(gdf["layer"]) == {"地块"}


def case_06_empty_null(tmp: Path) -> None:
    out, rep = repaired("06_empty_null.geojson")
    assert len(out) == 1
    assert sorted((r.feature_id, r.action) for r in rep.records) == [
        ("1", "dropped"),
        ("2", "dropped"),
    ]
    assert all(r.reason == "null or empty geometry" for r in rep.records)


def case_07_points_in_polygons(tmp: Path) -> None:
    out, rep = repaired("07_points_in_polygons.geojson", family="polygon")
    [rec] = rep.records
    assert (rec.feature_id, rec.action, rec.reason) == ("1", "dropped", "Point in a polygon layer")
    assert list(out.geom_type) == ["Polygon"]


def case_08_nan_inf(tmp: Path) -> None:
    out, rep = repaired("08_nan_inf.gpkg")
    assert len(out) == 1
    assert [(r.feature_id, r.reason) for r in rep.records] == [
        ("1", "NaN or infinite coordinates"),
        ("2", "NaN or infinite coordinates"),
    ]


def case_09_wrong_zone(tmp: Path) -> None:
    code, msg = convert(str(DATA / "09_wrong_zone.gpkg"), str(tmp / "o.gpkg"))
    assert code == 2
    assert "eastings look zone-prefixed" in msg and "use EPSG:4524, not EPSG:4545" in msg


def case_10_swapped_xy(tmp: Path) -> None:
    code, msg = convert(str(DATA / "10_swapped_xy.gpkg"), str(tmp / "o.gpkg"))
    assert code == 2 and "looks like swapped X/Y" in msg
    gdf = read_layer(DATA / "18_jzd_swapped.txt")  # 界址点: detected, swapped back, warned
    assert (
        gdf.crs.to_epsg() == 4524 and "swapped X/Y" in notices_of(gdf).messages(kind="warning")[0]
    )
    assert gdf.total_bounds[0] == pytest.approx(36_564_000)


def case_11_missing_prj(tmp: Path) -> None:
    code, msg = convert(str(DATA / "11_no_prj.shp"), str(tmp / "o.gpkg"))
    assert code == 2 and "has no CRS" in msg and "--crs" in msg
    code, msg = convert(str(DATA / "11_no_prj.shp"), str(tmp / "o.gpkg"), "--crs", "EPSG:4524")
    assert code == 0, msg
    assert read_layer(tmp / "o.gpkg").crs.to_epsg() == 4524


def case_12_esri_prj(tmp: Path) -> None:
    gdf = read_layer(DATA / "12_esri_gk.shp")
    assert gdf.crs.to_epsg() == 4524
    assert gdf.crs.name == "CGCS2000 / 3-degree Gauss-Kruger zone 36"


def case_13_gbk_without_cpg(tmp: Path) -> None:
    gdf = read_layer(DATA / "13_gbk_no_cpg.shp")
    assert gdf.attrs["encoding"] == "GB18030"
    assert "no .cpg" in notices_of(gdf).messages()[0]
    assert gdf["名称"].tolist() == ["钦州港片区", "保税港区"]


def case_14_long_field_to_shp(tmp: Path) -> None:
    code, msg = convert(str(DATA / "14_long_field.gpkg"), str(tmp / "o.shp"))
    assert code == 2
    assert "'地块名称用途' (18 bytes)" in msg and "10-byte DBF limit" in msg and ".gpkg" in msg
    assert not list(tmp.iterdir())  # nothing half-written


def case_15_gcj02_mixed(tmp: Path) -> None:
    coast = read_layer(DATA / "15_coast.geojson").geometry.values
    gcj = read_layer(DATA / "15_district_gcj02.geojson")
    wgs = read_layer(DATA / "15_district_wgs84.geojson")
    flagged = detect_gcj02_offset(gcj.geometry.values, coast)
    assert flagged.looks_gcj02 and flagged.median_as_is_m > 200  # ~500 m SE, coast runs E-W
    assert flagged.median_if_converted_m < 1.0
    assert 'datum = "gcj02"' in flagged.message("districts")
    assert not detect_gcj02_offset(wgs.geometry.values, coast).looks_gcj02
    # Declared, it is converted on load and then fits the reference.
    fixed = read_layer(DATA / "15_district_gcj02.geojson", datum="gcj02")
    assert not detect_gcj02_offset(fixed.geometry.values, coast).looks_gcj02


def _box_area_closed_form(lon0: float, lat0: float, d: float) -> float:
    """Area of a small d° × d° lon/lat box from the GRS80 radii of curvature (independent check)."""
    a, e2 = 6378137.0, 0.00669438002290
    phi = math.radians(lat0 + d / 2)
    w = 1 - e2 * math.sin(phi) ** 2
    n, m = a / math.sqrt(w), a * (1 - e2) / w**1.5
    return math.radians(d) * n * math.cos(phi) * math.radians(d) * m


def case_16_area_on_4490(tmp: Path) -> None:
    out, _ = repaired("06_empty_null.geojson")
    assert out.crs.is_geographic
    a = ellipsoidal_area(out.geometry.values)[0]
    # A 0.002° square at 21.68°N is ~207 m × 221 m on the ellipsoid, never 4e-6 "square degrees".
    assert a == pytest.approx(_box_area_closed_form(108.65, 21.68, 0.002), rel=1e-4)
    assert 45_800 < a < 45_900
    rep = RepairReport()
    repair_layer(read_layer(DATA / "01_bowtie.geojson"), layer_id="b", report=rep)
    assert rep.records[0].area_after_m2 == pytest.approx(a / 2, rel=1e-3)


def case_17_jzd_declared_area(tmp: Path) -> None:
    mu = notices_of(read_layer(DATA / "17_jzd_area_mu.txt")).messages(kind="warning")
    m2 = notices_of(read_layer(DATA / "17_jzd_area_m2.txt")).messages(kind="warning")
    assert "declares 1500 公顷" in mu[0] and "looks like 亩" in mu[0] and "99.98" in mu[0]
    assert "looks like m²" in m2[0] and "line 6" in m2[0]


def case_18_jzd_variants(tmp: Path) -> None:
    ex = read_layer(DATA / "18_jzd_prefix_holes.txt")
    assert ex.crs.to_epsg() == 4524
    assert len(ex.geometry.iloc[0].interiors) == 1
    assert ex.geometry.area.iloc[0] / 1e4 == pytest.approx(29.79, abs=0.01)
    assert any("5.1723 公顷" in w and "29.79" in w for w in notices_of(ex).messages())
    nopre = read_layer(DATA / "18_jzd_no_prefix.txt")
    assert nopre.crs.to_epsg() == 4545 and notices_of(nopre).messages(kind="warning") == []
    code, msg = convert(str(DATA / "18_jzd_no_zone.txt"), str(tmp / "o.gpkg"))
    assert code == 2 and "no 带号" in msg and "--crs" in msg
    code, _ = convert(str(DATA / "18_jzd_no_zone.txt"), str(tmp / "o.gpkg"), "--crs", "EPSG:4545")
    assert code == 0
    mismatch = read_layer(DATA / "18_jzd_count_mismatch.txt")
    assert len(mismatch) == 2
    assert notices_of(mismatch).messages(kind="warning") == [
        "18_jzd_count_mismatch.txt line 12: parcel 'QZ-B' declares 7 points but has 5 vertex rows"
    ]
    code, msg = convert(str(DATA / "18_jzd_bad_number.txt"), str(tmp / "bad.gpkg"))
    assert code == 2 and "18_jzd_bad_number.txt line 9" in msg and "'24OOOOO.000'" in msg


def case_19_hostile_strings(tmp: Path) -> None:
    src = read_layer(DATA / "19_hostile.gpkg")
    for ext in (".gpkg", ".geojson", ".fgb", ".parquet"):
        code, msg = convert(str(DATA / "19_hostile.gpkg"), str(tmp / f"h{ext}"))
        assert code == 0, msg
        back = read_layer(tmp / f"h{ext}").sort_values("k")  # FlatGeobuf reorders (R-tree)
        assert [s.encode() for s in back["名称"]] == [s.encode() for s in src["名称"]], ext
    code, msg = convert(str(DATA / "19_hostile.gpkg"), str(tmp / "h.shp"))
    assert code == 2 and "254-byte DBF limit" in msg  # refused rather than cut
    write_layer(src.rename(columns={"名称": "地块名称"}), tmp / "named.gpkg")
    code, msg = convert(str(tmp / "named.gpkg"), str(tmp / "h.txt"))
    assert code == 2 and "界址点 format cannot carry" in msg
    assert not (tmp / "h.txt").exists()


def case_20_overlay_collection(tmp: Path) -> None:
    # One part overlaps, the other only touches along an edge: polygon + line.
    zone = box(0, 0, 2, 2)
    constraint = shapely.MultiPolygon([box(1, 1, 3, 3), box(2, -1, 3, 0.5)])
    inter = shapely.intersection(zone, constraint)
    assert inter.geom_type == "GeometryCollection"
    gdf = gpd.GeoDataFrame(geometry=[inter, box(5, 5, 6, 6)], crs="EPSG:4545")
    rep = RepairReport()
    out = repair_layer(gdf, layer_id="overlay", report=rep, family="polygon")
    [rec] = rep.records
    assert rec.action == "parts dropped" and "(1 LineString; no area)" in rec.reason
    # ellipsoidal, like every area qzgeo reports: 1 m² of the GK plane far off its meridian
    one = gpd.GeoSeries([box(1, 1, 2, 2)], crs="EPSG:4545").to_crs("EPSG:4490")
    assert rec.area_after_m2 == pytest.approx(ellipsoidal_area(one)[0], rel=1e-9)
    assert out.geometry.iloc[0].equals(box(1, 1, 2, 2)) and len(out) == 2


def case_21_topology_exception(tmp: Path) -> None:
    bowtie = Polygon([(0, 0), (2, 2), (2, 0), (0, 2), (0, 0)])
    with pytest.raises(shapely.errors.GEOSException, match="TopologyException"):
        shapely.intersection(bowtie, box(0.5, 0.5, 1.5, 1.5))
    with pytest.raises(GeometryError, match="repair the inputs"):
        overlay_op(bowtie, box(0.5, 0.5, 1.5, 1.5), context="zones × 红线")
    gdf = gpd.GeoDataFrame(geometry=[bowtie], crs="EPSG:4545")
    fixed = repair_layer(gdf, layer_id="z", report=RepairReport()).geometry.iloc[0]
    assert overlay_op(fixed, box(0.5, 0.5, 1.5, 1.5)).area == pytest.approx(0.5)
    # Near-coincident edges (1e-9 m apart) of valid polygons: the grid retry gives a clean result.
    a = box(36_564_000, 2_399_000, 36_564_100, 2_399_100)
    b = box(36_564_100 - 1e-9, 2_399_000, 36_564_200, 2_399_100)
    got = shapely.intersection(a, b, grid_size=0.001)
    assert got.is_empty or got.area < 1e-3


def case_22_polygon_z(tmp: Path) -> None:
    _, rep = repaired("22_polygonz.gpkg")
    [flat] = rep.flattened  # Z only: counted, not listed feature by feature
    assert flat.reason == "Z coordinates removed (2D analysis)" and flat.features == 1
    assert rep.records == [] and "1 feature(s) repaired" in rep.summary()
    polym = shapely.from_wkt("POLYGON M ((0 0 1, 1 0 2, 1 1 3, 0 0 1))")
    rep = RepairReport()
    out = repair_layer(
        gpd.GeoDataFrame(geometry=[polym], crs="EPSG:4545"), layer_id="m", report=rep
    )
    assert rep.flattened[0].reason == "M coordinates removed (2D analysis)"
    assert not shapely.has_z(out.geometry.iloc[0]) and not shapely.has_m(out.geometry.iloc[0])


def case_23_truncated(tmp: Path) -> None:
    for name, expect in (
        ("23_truncated.gpkg", "corrupt or truncated"),
        ("23_truncated_shp.shp", "is truncated: its header says 6900 bytes, the file has 6600"),
        ("23_truncated_shx.shp", "23_truncated_shx.shx is truncated"),
    ):
        code, msg = convert(str(DATA / name), str(tmp / "o.gpkg"))
        assert code == 2 and expect in msg, msg
        with pytest.raises(InputError):
            read_layer(DATA / name)


def case_24_missing_layer(tmp: Path) -> None:
    code, msg = convert(str(DATA / "19_hostile.gpkg"), str(tmp / "o.gpkg"), "--layer", "zones")
    assert code == 2 and "has no layer 'zones'; it has: parcels" in msg


def case_25_empty_file(tmp: Path) -> None:
    code, msg = convert(str(DATA / "25_empty.geojson"), str(tmp / "o.gpkg"))
    assert code == 2 and "is empty (0 bytes)" in msg


def case_26_huge_geojson(tmp: Path) -> None:
    big = tmp / "huge.geojson"
    with big.open("wb") as fh:
        fh.truncate(1 << 30)  # sparse: 1 GiB on paper, nothing on disk
    code, msg = convert(str(big), str(tmp / "o.gpkg"))
    assert code == 2
    assert "1,073,741,824 bytes" in msg and "cap of 536,870,912 bytes" in msg
    assert "--max-bytes" in msg
    with pytest.raises(InputError, match="QZGEO_MAX_BYTES"):
        read_layer(big)
    # With the cap raised the parser does run (and finds no GeoJSON in the zeros).
    with pytest.raises(InputError, match="cannot read"):
        read_layer(big, max_bytes=2 << 30)


CASES: list[tuple[str, str, Callable[[Path], None]]] = [
    ("01 bow-tie polygon", "repaired (make_valid, both lobes kept)", case_01_bowtie),
    ("02 spike", "repaired (spike removed, area unchanged)", case_02_spike),
    ("03 zero-area sliver", "rejected: dropped and reported", case_03_sliver),
    ("04 unclosed ring GeoJSON", "repaired on read with a warning", case_04_unclosed_ring),
    ("05 DXF closed + open polyline", "exit 2 naming the handle; closed ones read", case_05_dxf),
    ("06 empty and null geometries", "rejected: dropped and reported", case_06_empty_null),
    ("07 points in a polygon layer", "rejected: dropped and reported", case_07_points_in_polygons),
    ("08 NaN/Inf coordinates", "rejected: dropped and reported", case_08_nan_inf),
    ("09 wrong zone variant", "exit 2 suggesting EPSG:4524", case_09_wrong_zone),
    ("10 swapped X/Y", "exit 2 (GIS file); 界址点 swapped back with a warning", case_10_swapped_xy),
    ("11 missing .prj", "exit 2 asking for --crs; works with --crs", case_11_missing_prj),
    ("12 ESRI GK .prj", "read as EPSG:4524", case_12_esri_prj),
    ("13 GBK DBF without .cpg", "read as GB18030, recorded and warned", case_13_gbk_without_cpg),
    (
        "14 long Chinese field name to .shp",
        "exit 2 suggesting GeoPackage",
        case_14_long_field_to_shp,
    ),
    (
        "15 GCJ-02 layer among CGCS2000 layers",
        "detected against a reference layer",
        case_15_gcj02_mixed,
    ),
    ("16 areas of EPSG:4490 data", "ellipsoidal m², asserted", case_16_area_on_4490),
    (
        "17 界址点 area ×15 / ×10⁴",
        "warning with both numbers and the unit hint",
        case_17_jzd_declared_area,
    ),
    (
        "18 界址点 prefix / no prefix / holes / counts",
        "read; warnings with line numbers",
        case_18_jzd_variants,
    ),
    (
        "19 hostile attribute strings",
        "byte-exact round trip; refused where a format would cut",
        case_19_hostile_strings,
    ),
    (
        "20 overlay GeometryCollection",
        "polygonal part kept, dropped parts reported",
        case_20_overlay_collection,
    ),
    (
        "21 GEOS TopologyException",
        "GeometryError naming the fix; repaired inputs overlay",
        case_21_topology_exception,
    ),
    ("22 PolygonZ/M", "forced 2D and reported", case_22_polygon_z),
    ("23 truncated GPKG / .shp / .shx", "exit 2 InputError", case_23_truncated),
    ("24 missing layer", "exit 2 listing the layers", case_24_missing_layer),
    ("25 empty file", "exit 2 InputError", case_25_empty_file),
    (
        "26 1 GB GeoJSON",
        "exit 2 before parsing, naming size, cap and override",
        case_26_huge_geojson,
    ),
]


@pytest.mark.parametrize(
    ("case", "expected", "run"), CASES, ids=[c[0].split(" ", 1)[0] for c in CASES]
)
def test_bad_input(case: str, expected: str, run: Callable[[Path], None], tmp_path: Path) -> None:
    run(tmp_path)


def test_catalog_is_complete_and_inputs_unchanged(tmp_path: Path) -> None:
    from qzgeo.io.digest import sha256_file

    assert [int(c[0][:2]) for c in CASES] == list(range(1, 27))
    before = {p.name: sha256_file(p) for p in sorted(DATA.iterdir())}
    copy = tmp_path / "data"
    shutil.copytree(DATA, copy)
    for run in (case_04_unclosed_ring, case_13_gbk_without_cpg, case_18_jzd_variants):
        run(tmp_path)
    after = {p.name: sha256_file(p) for p in sorted(DATA.iterdir())}
    assert after == before
    assert np.all([not n.endswith(("-wal", "-shm")) for n in after])
