"""`qzgeo analyze` streamed (``--chunk-rows``, worker processes) on files of other producers:
every run is compared with the in-memory run (the reference) or an independent oracle
(pyproj.Geod on the rings, the strings written), never with qzgeo's own code.

Most files are a window of 6 400 jittered quads over the bundled pack's zones and control
lines, analyzed in chunks of 1 500 (hostile rows sit in chunk 4); one GBK Shapefile of 60 025
parcels goes to the worker processes.
"""

from __future__ import annotations

import datetime
import json
import re
import sqlite3
import struct
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyogrio
import pytest
import shapely
from pyproj import Geod

sys.path.insert(0, str(Path(__file__).parent))

from pool_support import CELL, CRS, quad_parcels, qzgeo, result_rows, snapshot, write_parcels

pytestmark = pytest.mark.slow

CHUNKS = ("--chunk-rows", "1500")  # 5 chunks of the 6 400-parcel window
NAMES = ["王堃", "朱镕基", "李喆", "钦州港·张三", "（测试）"]  # 堃 镕 喆: GBK, not GB2312


def window(n_side: int = 80) -> gpd.GeoDataFrame:
    """Quads over a part of the pack with zones, constraints and free land (~9.6 km square)."""
    g = quad_parcels(n_side)
    return g.set_geometry(g.geometry.translate(70 * CELL, 35 * CELL))


def analyze(src: Path, out: Path, *args: str, engine: str = "") -> Path:
    res = qzgeo("analyze", "--parcels", src, "--out", out, *args)
    assert res.returncode == 0, (res.returncode, res.stderr)
    assert "Traceback" not in res.stderr and "Warning" not in res.stderr, res.stderr
    assert engine in res.stdout, res.stdout
    return out


def report(out: Path, *, inputs: bool = True) -> dict:
    rep = json.loads((out / "internal" / "parcels_report.json").read_text(encoding="utf-8"))
    return rep if inputs else {k: v for k, v in rep.items() if k != "inputs"}


def summary(out: Path) -> pd.DataFrame:
    return pd.read_csv(next(out.rglob("parcels_summary.csv")), encoding="utf-8-sig")


def assert_same(out: Path, ref: Path, *, fids: bool = True) -> gpd.GeoDataFrame:
    """The rows, summary and report counts of ``out`` are those of ``ref``.

    ``fids=False``: ``ref`` analyzed another file with the same rows (its own feature ids).
    """
    rows, base = result_rows(out), result_rows(ref)
    if not fids:
        rows, base = rows.drop(columns="source_fid"), base.drop(columns="source_fid")
    assert rows.crs == base.crs and list(rows.columns) == list(base.columns)
    pd.testing.assert_frame_equal(
        pd.DataFrame(rows.drop(columns="geometry")),
        pd.DataFrame(base.drop(columns="geometry")),
        check_exact=True,
    )
    same = shapely.equals_exact(rows.geometry.values, base.geometry.values, 0)
    assert same.all(), f"{(~same).sum()} geometries differ"
    pd.testing.assert_frame_equal(summary(out), summary(ref), check_exact=False, rtol=1e-9)
    mine, theirs = report(out, inputs=False), report(ref, inputs=False)  # another file: its hash
    for rep in (mine, theirs):  # another file: its name (and with fids=False, its feature ids)
        rep["repairs"]["warnings"] = [_anonymous(w, fids) for w in rep["repairs"]["warnings"]]
    assert mine == theirs
    return rows


def _anonymous(warning: str, fids: bool) -> str:
    """A warning without the file it names (nor, unless ``fids``, the feature ids it lists)."""
    text = warning.split(": ", 1)[-1]
    return text if fids else re.sub(r"; feature [\d, .]+\)", ")", text)


def geod_m2(geom: shapely.Geometry) -> float:
    """GRS80 area of a lon/lat (multi)polygon: shells minus holes, whatever their winding."""
    geod, total = Geod(ellps="GRS80"), 0.0
    for p in shapely.get_parts(geom):
        total += abs(geod.polygon_area_perimeter(*p.exterior.xy)[0])
        total -= sum(abs(geod.polygon_area_perimeter(*r.xy)[0]) for r in p.interiors)
    return total


@pytest.fixture(scope="module")
def ref(tmp_path_factory: pytest.TempPathFactory) -> tuple[gpd.GeoDataFrame, Path, Path]:
    """The window as a GeoPackage and its in-memory analysis."""
    tmp = tmp_path_factory.mktemp("ref")
    gdf = window()
    src = write_parcels(gdf, tmp / "parcels.gpkg")
    out = analyze(src, tmp / "mem", engine="threads (2) [")
    rows = result_rows(out)
    assert 0 < rows["conflict"].sum() < len(rows) and rows["available_m2"].sum() > 0
    return gdf, src, out


# --- 1. Shapefiles in GBK --------------------------------------------------------------------


def test_a_gbk_shapefile_of_60k_parcels_in_worker_processes(tmp_path: Path) -> None:
    gdf = quad_parcels().drop(columns=["名称", "code"])
    gdf["地块编号"] = [f"QZ-{k:06d}" for k in range(len(gdf))]
    gdf["权利人"] = [NAMES[k % 5] + str(k) for k in range(len(gdf))]
    pyogrio.write_dataframe(gdf, tmp_path / "p.shp", encoding="GBK")
    assert (tmp_path / "p.cpg").read_text() == "GBK"
    assert "王堃".encode("gbk") in (tmp_path / "p.dbf").read_bytes()
    mem = analyze(tmp_path / "p.shp", tmp_path / "mem", "--workers", "1", engine="threads (1) [")
    pool = analyze(tmp_path / "p.shp", tmp_path / "pool", engine="2 processes, 3 chunks")
    rows = assert_same(pool, mem)
    want = gdf.set_index("pid")
    assert (rows["权利人"] == want["权利人"]).all() and (rows["地块编号"] == want["地块编号"]).all()


@pytest.mark.parametrize("cpg", ["GB2312", "936", "ANSI 936"])
def test_a_cpg_naming_a_gb_code_page_keeps_gbk_names(tmp_path: Path, cpg: str) -> None:
    """Chinese tools write "GB2312" for GBK text: 王堃 must not become 王 (GDAL's GB2312)."""
    gdf = window(40).drop(columns=["名称"])
    gdf["权利人"] = [NAMES[k % 5] + str(k) for k in range(len(gdf))]
    pyogrio.write_dataframe(gdf, tmp_path / "p.shp", encoding="GBK")
    (tmp_path / "p.cpg").write_text(cpg)
    rows = result_rows(analyze(tmp_path / "p.shp", tmp_path / "out", "--chunk-rows", "500"))
    assert (rows["权利人"] == gdf.set_index("pid")["权利人"]).all()


def test_a_shapefile_with_deleted_records_streams_each_parcel_once(tmp_path: Path) -> None:
    """Records flagged deleted in the DBF (an edit not yet packed) are skipped by GDAL, so
    chunks by position must not overlap: the in-memory run has each live parcel once."""
    pyogrio.write_dataframe(window(), tmp_path / "p.shp")
    dbf = bytearray((tmp_path / "p.dbf").read_bytes())
    _, header, record = struct.unpack("<IHH", dbf[4:12])
    deleted = list(range(10, 6400, 97))
    for k in deleted:
        dbf[header + k * record] = ord("*")
    (tmp_path / "p.dbf").write_bytes(bytes(dbf))
    mem = analyze(tmp_path / "p.shp", tmp_path / "mem")
    rows = assert_same(analyze(tmp_path / "p.shp", tmp_path / "ch", *CHUNKS), mem)
    assert sorted(rows.index) == sorted(set(range(6400)) - set(deleted))


# --- 2. FlatGeobuf; a GeoPackage without R-tree, rows in random order --------------------------


@pytest.mark.parametrize("name", ["p.fgb", "no_rtree.gpkg"])
def test_other_writers_stream_the_rows_of_the_reference(ref, tmp_path: Path, name) -> None:
    gdf, _, mem = ref
    src, rtree = tmp_path / name, name.endswith(".fgb")
    rows = gdf if rtree else gdf.sample(frac=1.0, random_state=5)
    pyogrio.write_dataframe(rows, src, layer_options={"SPATIAL_INDEX": "YES" if rtree else "NO"})
    ch = analyze(src, tmp_path / "ch", *CHUNKS, engine="5 chunks of 1500")
    assert_same(ch, mem, fids=False)  # the FlatGeobuf's index reorders the rows


def hostile(gdf: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, dict[str, int]]:
    """Rows of chunk 4: empty, NULL, bow-tie, NaN coordinate, duplicated vertex."""
    at = {"empty": 5000, "null": 5100, "bowtie": 5200, "nan": 5300, "dup": 5400}
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    geoms[at["empty"]], geoms[at["null"]] = shapely.Polygon(), None
    x, y = shapely.get_coordinates(geoms[at["bowtie"]])[0]
    geoms[at["bowtie"]] = shapely.Polygon([(x, y), (x + 50, y + 50), (x + 50, y), (x, y + 50)])
    xy = shapely.get_coordinates(geoms[at["nan"]])
    xy[1, 0] = np.nan
    with np.errstate(invalid="ignore"):
        geoms[at["nan"]] = shapely.Polygon(xy)
    xy = shapely.get_coordinates(geoms[at["dup"]])
    geoms[at["dup"]] = shapely.Polygon(np.insert(xy, 2, xy[1], axis=0))
    return gdf.set_geometry(list(geoms), crs=gdf.crs), at


@pytest.mark.parametrize("ext", ["gpkg", "fgb"])
def test_hostile_rows_in_a_later_chunk_are_reported_never_lost(tmp_path: Path, ext: str) -> None:
    """The FlatGeobuf has no spatial index (else GDAL refuses NULL geometries): its Arrow
    reader crashed the process on the NULL and empty rows."""
    gdf, at = hostile(window())
    src = tmp_path / f"p.{ext}"
    pyogrio.write_dataframe(gdf, src, layer_options={"SPATIAL_INDEX": "NO"} if ext == "fgb" else {})
    mem = analyze(src, tmp_path / "mem")
    rows = assert_same(analyze(src, tmp_path / "ch", *CHUNKS, engine="5 chunks"), mem)
    fid = (lambda k: str(k + 1)) if ext == "gpkg" else str  # GeoPackage FIDs start at 1
    recs = {r["feature_id"]: (r["action"], r["reason"]) for r in report(mem)["repairs"]["repairs"]}
    assert recs == {
        fid(at["empty"]): ("dropped", "null or empty geometry"),
        fid(at["null"]): ("dropped", "null or empty geometry"),
        fid(at["nan"]): ("dropped", "NaN or infinite coordinates"),
        fid(at["bowtie"]): ("repaired", recs[fid(at["bowtie"])][1]),
    }
    lost = set(range(6400)) - set(rows.index)
    assert lost == {at["empty"], at["null"], at["nan"]}  # each one in parcels_report.json
    assert rows.loc[at["bowtie"], "area_m2"] == pytest.approx(1250.0, rel=1e-3)  # both lobes
    dup = shapely.get_coordinates(rows.geometry.loc[at["dup"]].geoms[0])
    assert len(dup) == 6  # the duplicated vertex is kept as the producer wrote it
    assert rows.loc[at["dup"], "area_m2"] == pytest.approx(
        geod_m2(gpd.GeoSeries([gdf.geometry.iloc[at["dup"]]], crs=CRS).to_crs(4490).iloc[0]),
        rel=1e-7,
    )


def test_a_stray_vertex_is_refused_fast_naming_the_feature(tmp_path: Path) -> None:
    """A CAD vertex at (1, 1) in a zone-prefixed CRS does not transform: exit 2 naming the
    file, the feature and the vertex (in memory it built a 36 000 km lattice for 50 s)."""
    gdf = window()
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    for k in (5001, 5002):
        geoms[k] = shapely.Polygon(np.insert(shapely.get_coordinates(geoms[k]), 2, 1.0, axis=0))
    src = write_parcels(gdf.set_geometry(list(geoms), crs=CRS), tmp_path / "p.gpkg")
    errors = []
    for args in ((), CHUNKS):
        res = qzgeo("analyze", "--parcels", src, "--out", tmp_path / "out", *args)
        assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
        assert str(src) in res.stderr and "(1.000, 1.000)" in res.stderr, res.stderr
        assert "stray vertex" in res.stderr and not (tmp_path / "out").exists(), res.stderr
        errors.append(res.stderr)
    assert "feature 5002 (and 1 more)" in errors[0]  # in memory: the GeoPackage FID


def test_eastings_without_the_zone_prefix_are_refused_in_chunks_too(tmp_path: Path) -> None:
    """Each chunk checks a sample of its own coordinates against the CRS (fewer than a
    whole read does): a file whose eastings lack the zone prefix its CRS declares is refused
    streamed as in memory, with the same fix."""
    gdf = window()
    prefix = float(shapely.get_coordinates(gdf.geometry.iloc[0])[0, 0] // 1_000_000) * 1e6
    src = write_parcels(
        gdf.set_geometry(gdf.geometry.translate(-prefix), crs=CRS), tmp_path / "p.gpkg"
    )
    for args in ((), CHUNKS):
        res = qzgeo("analyze", "--parcels", src, "--out", tmp_path / "out", *args)
        assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
        assert str(src) in res.stderr and "zone prefix" in res.stderr, res.stderr
        assert not (tmp_path / "out").exists()


# --- 3.-5. GeoPackages: primary keys, layers, field types -------------------------------------


@pytest.fixture(scope="module")
def objectid(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, int]:
    """Rows in random order, primary key ``objectid`` from 5 001 in steps of 3 with every
    7th row deleted, a bow-tie; its in-memory and streamed (R-tree tiles) runs."""
    tmp = tmp_path_factory.mktemp("objectid")
    gdf = window().sample(frac=1.0, random_state=3).reset_index(drop=True)
    x, y = shapely.get_coordinates(gdf.geometry.iloc[100])[0]
    gdf.loc[100, "geometry"] = shapely.Polygon([(x, y), (x + 50, y + 50), (x + 50, y), (x, y + 50)])
    gdf.insert(0, "objectid", np.arange(len(gdf), dtype=np.int64) * 3 + 5001)
    src = tmp / "p.gpkg"
    pyogrio.write_dataframe(gdf, src, layer="地块", layer_options={"FID": "objectid"})
    with sqlite3.connect(src) as con:
        con.execute('DELETE FROM "地块" WHERE objectid % 7 = 0')
    con.close()
    assert pyogrio.read_info(src)["fid_column"] == "objectid"
    mem = analyze(src, tmp / "mem")
    ch = analyze(src, tmp / "ch", *CHUNKS, engine="spatial chunks of up to 1500")
    return src, mem, ch, int(gdf.loc[100, "objectid"])


def test_a_random_order_objectid_geopackage_with_gaps(objectid) -> None:
    _, mem, ch, bowtie = objectid
    rows = assert_same(ch, mem)
    assert len(rows) == ((np.arange(6400) * 3 + 5001) % 7 != 0).sum()  # none lost or doubled
    (rec,) = report(ch)["repairs"]["repairs"]
    assert rec["feature_id"] == str(bowtie) and rec["action"] == "repaired"  # the source's key


def test_the_rows_keep_the_source_primary_key(objectid) -> None:
    src, _, ch, bowtie = objectid
    out = pyogrio.read_dataframe(next(ch.rglob("parcels.gpkg")), fid_as_index=True)
    keys = out["source_fid"]
    source = pyogrio.read_dataframe(src, fid_as_index=True)
    assert sorted(keys) == sorted(source.index)
    assert out.loc[keys == bowtie, "pid"].item() == source.loc[bowtie, "pid"]


def test_a_second_layer_is_read_with_layer_and_never_guessed(ref, tmp_path: Path) -> None:
    gdf, _, mem = ref
    src = tmp_path / "two.gpkg"
    roads = gpd.GeoDataFrame({"名称": ["路"]}, geometry=[gdf.geometry.iloc[0]], crs=CRS)
    pyogrio.write_dataframe(roads, src, layer="roads")
    pyogrio.write_dataframe(gdf, src, layer="地块")
    assert_same(analyze(src, tmp_path / "ch", "--layer", "地块", *CHUNKS), mem)
    res = qzgeo("analyze", "--parcels", src, "--out", tmp_path / "guess", *CHUNKS)
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert str(src) in res.stderr and "roads, 地块" in res.stderr and "--layer" in res.stderr
    assert "Warning" not in res.stderr and not (tmp_path / "guess").exists()
    styled = tmp_path / "styled.gpkg"  # QGIS keeps its styles in a table beside the layer
    styles = pd.DataFrame({"styleName": ["s"]})
    pyogrio.write_dataframe(styles, styled, layer="layer_styles", driver="GPKG")
    pyogrio.write_dataframe(gdf, styled, layer="parcels")
    assert_same(analyze(styled, tmp_path / "styled", *CHUNKS), mem)


def test_date_and_boolean_fields_null_in_the_first_chunk_keep_their_types(tmp_path: Path) -> None:
    """Chunks 1-2 hold no 登记日期 / 已登记: the streamed file wrote them as text."""
    gdf = window()
    late = range(3000, len(gdf))
    day, done = [None] * len(gdf), [None] * len(gdf)
    for k in late:
        day[k], done[k] = datetime.date(2020, 1, 1) + datetime.timedelta(days=k), bool(k % 2)
    table = pa.table({
        "pid": pa.array(gdf["pid"]),
        "登记日期": pa.array(day, pa.date32()),
        "已登记": pa.array(done, pa.bool_()),
        "geom": pa.array(shapely.to_wkb(gdf.geometry.values)),
    })  # fmt: skip
    src = tmp_path / "p.gpkg"
    pyogrio.write_arrow(
        table, src, layer="parcels", driver="GPKG", geometry_name="geom",
        geometry_type="Polygon", crs=CRS,
    )  # fmt: skip
    mem = analyze(src, tmp_path / "mem")
    assert_same(analyze(src, tmp_path / "ch", *CHUNKS), mem)
    for out in (mem, tmp_path / "ch"):
        info = pyogrio.read_info(next(out.rglob("parcels.gpkg")))
        kinds = zip(info["fields"], info["ogr_types"], info["ogr_subtypes"], strict=True)
        types = {name: (kind, sub) for name, kind, sub in kinds}
        assert types["登记日期"] == ("OFTDate", "OFSTNone"), out
        assert types["已登记"] == ("OFTInteger", "OFSTBoolean"), out


# --- 6.-7. CRSs and geometry kinds -----------------------------------------------------------


@pytest.mark.parametrize("crs", ["EPSG:4490", "EPSG:4326", "EPSG:4545"])
def test_other_crss_give_the_reference_and_the_geodesic_areas(ref, tmp_path: Path, crs) -> None:
    gdf, _, mem = ref
    src = write_parcels(gdf.to_crs(crs), tmp_path / "p.gpkg")
    rows, base = result_rows(analyze(src, tmp_path / "ch", *CHUNKS)), result_rows(mem)
    assert rows.crs == crs and (rows.index == base.index).all()
    for col in ("zone_name", "zone_fid", "conflict"):
        assert (rows[col] == base[col]).all(), col
    m2 = [c for c in base.columns if c.endswith("_m2") or ":" in c]
    np.testing.assert_allclose(rows[m2], base[m2], rtol=0, atol=1e-6 * base["area_m2"].max())
    ll = rows.geometry.to_crs(4490)
    pick = np.random.default_rng(4).choice(len(rows), 300, replace=False)
    want = np.array([geod_m2(ll.iloc[k]) for k in pick])
    np.testing.assert_allclose(rows["area_m2"].to_numpy()[pick], want, rtol=1e-7)


def test_multipolygons_holes_and_z_measure_the_geodesic_area(tmp_path: Path) -> None:
    """400 parcels with a 40 m hole (wound like the shell), 200 MultiPolygons of two parts,
    200 of one, three PolygonZ: area_m2 is pyproj.Geod's, hole subtracted."""
    gdf = window()
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    rng = np.random.default_rng(2)
    holes, multis = rng.choice(6400, 400, replace=False), rng.choice(6400, 400, replace=False)
    for k in holes:
        c = geoms[k].centroid
        hole = shapely.box(c.x - 20, c.y - 20, c.x + 20, c.y + 20).exterior  # counter-clockwise
        geoms[k] = shapely.Polygon(geoms[k].exterior, [hole])
    for k in multis:
        x, y = geoms[k].centroid.x, geoms[k].centroid.y
        two = [shapely.box(x - 50, y - 50, x, y), shapely.box(x + 1, y + 1, x + 50, y + 50)]
        geoms[k] = shapely.MultiPolygon([geoms[k]] if k % 2 else two)
    for k in (5000, 5001, 5002):
        geoms[k] = shapely.force_3d(geoms[k], 12.5)
    gdf = gdf.set_geometry(list(geoms), crs=CRS)
    src = tmp_path / "p.gpkg"
    pyogrio.write_dataframe(gdf, src, layer="parcels", geometry_type="Unknown")
    mem = analyze(src, tmp_path / "mem")
    rows = assert_same(analyze(src, tmp_path / "ch", *CHUNKS), mem)
    made_2d = report(mem)["repairs"]["made_2d"]
    assert made_2d == [
        {
            "layer": "parcels",
            "reason": "Z coordinates removed (2D analysis)",
            "features": 3,
            "first_feature_ids": ["5001", "5002", "5003"],
        }
    ]
    assert report(mem)["repairs"]["repairs"] == []
    ll = gdf.set_index("pid").geometry.to_crs(4490)
    pick = np.union1d(holes, multis)
    want = np.array([geod_m2(ll.loc[k]) for k in pick])
    np.testing.assert_allclose(rows.loc[pick, "area_m2"], want, rtol=1e-7)
    holed = np.setdiff1d(holes, multis)
    shells = np.array([geod_m2(shapely.Polygon(ll.loc[k].exterior)) for k in holed])
    np.testing.assert_allclose(shells - rows.loc[holed, "area_m2"], 1600.0, rtol=0.01)


# --- 9. Output folders ----------------------------------------------------------------------


def test_output_folders_that_are_not_qzgeos_are_refused(ref, tmp_path: Path) -> None:
    gdf, _, _ = ref
    mine = tmp_path / "mine"
    (mine / "internal").mkdir(parents=True)
    (mine / "internal" / "parcels.gpkg").write_bytes(b"my own file")
    inside, beside = tmp_path / "inside", tmp_path / "beside"
    inside.mkdir(), beside.mkdir()
    src_inside = write_parcels(gdf, inside / "p.gpkg")
    src_beside = write_parcels(gdf, beside / "p.gpkg")
    (beside / "notes.txt").write_text("mine", encoding="utf-8")
    for src, out, why in [
        (src_beside, mine, "not empty"),
        (src_inside, inside, "holds the input"),
        (src_beside, beside, "holds the input"),
    ]:
        before = snapshot(out)
        res = qzgeo("analyze", "--parcels", src, "--out", out, *CHUNKS)
        assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
        assert why in res.stderr and str(out) in res.stderr, res.stderr
        assert snapshot(out) == before  # nothing of the user's touched, nothing added


# --- the summary table ------------------------------------------------------------------------


def test_the_summary_csv_is_byte_identical_to_the_in_memory_one(ref, tmp_path: Path) -> None:
    """The zone totals are integer sums (fixed point), so the chunks do not change a digit."""
    _, src, mem = ref
    ch = analyze(src, tmp_path / "ch", *CHUNKS)
    assert (
        next(ch.rglob("parcels_summary.csv")).read_bytes()
        == next(mem.rglob("parcels_summary.csv")).read_bytes()
    )
