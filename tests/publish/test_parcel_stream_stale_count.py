"""A streamed ``qzgeo analyze`` of a GeoPackage whose stored feature count is stale says so.

A tool (or a crash) that bypasses GDAL's count triggers leaves
``gpkg_ogr_contents.feature_count`` wrong: too high (rows deleted), too low (rows inserted, or
set by hand), equal to the highest FID (GDAL's Arrow reader then repeats the last rows). The
in-memory run warned of the case it met (rows read twice); the streamed run (chunks read by
FID ranges or R-tree tiles) wrote the right rows but said nothing. Both now carry the same
warning in ``parcels_report.json`` and count it in the printed summary.

Oracle: SQLite itself (``SELECT count(*)`` and the FIDs of the table), and the in-memory run
of the same file for the per-parcel rows.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import struct
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from click.testing import CliRunner, Result

from qzgeo.cli.main import cli

N = 240  # parcels of the file as written
ROWS = 100  # --chunk-rows: several chunks
DEL = "DROP TRIGGER trigger_delete_feature_count_parcels"
INS = "DROP TRIGGER trigger_insert_feature_count_parcels"

#: name -> SQL that makes the stored count stale, as a tool or a crash would leave it
CASES: dict[str, tuple[str, ...]] = {
    # rows deleted past the triggers; the count stays N, the highest FID too (GDAL repeats)
    "high_equal_to_max_fid": (DEL, "DELETE FROM parcels WHERE fid IN (17, 120)"),
    # the highest row among them: the count N is above the highest FID
    "high_above_max_fid": (DEL, f"DELETE FROM parcels WHERE fid IN (17, {N})"),
    "high_set": (f"UPDATE gpkg_ogr_contents SET feature_count = {N + 60}",),
    "low_set": (f"UPDATE gpkg_ogr_contents SET feature_count = {N - 60}",),
    # rows copied in past the insert trigger (the R-tree triggers kept: its boxes stay right)
    "low_inserted": (
        INS,
        "INSERT INTO parcels (geom, 地块编号, 用地面积) "
        "SELECT geom, 地块编号 || '-b', 用地面积 FROM parcels WHERE fid <= 30",
    ),
}


def _envelope(blob: bytes | None, i: int) -> float | None:
    """minx, maxx, miny or maxy (``i``) of a GeoPackage geometry blob's envelope."""
    if blob is None or not (blob[3] >> 1) & 7:
        return None
    return float(struct.unpack("<4d" if blob[3] & 1 else ">4d", bytes(blob[8:40]))[i])


def _connect(path: Path) -> sqlite3.Connection:
    """SQLite with the functions of GDAL's R-tree triggers (plain SQLite lacks them)."""
    con = sqlite3.connect(path)
    con.create_function("ST_IsEmpty", 1, lambda b: int(b is None or bool((b[3] >> 4) & 1)))
    for i, name in enumerate(("ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY")):
        con.create_function(name, 1, lambda b, i=i: _envelope(b, i))
    return con


def _sql(path: Path, *statements: str) -> None:
    with contextlib.closing(_connect(path)) as con:
        for s in statements:
            con.execute(s)
        con.commit()


def _table(path: Path) -> tuple[int, list[int]]:
    """The oracle: the table's row count and FIDs, by SQLite."""
    with contextlib.closing(sqlite3.connect(path)) as con:
        n = con.execute("SELECT count(*) FROM parcels").fetchone()[0]
        fids = [r[0] for r in con.execute("SELECT fid FROM parcels ORDER BY fid")]
    return n, fids


@pytest.fixture(scope="module")
def originals(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Path]:
    """Parcel files as a land office sends them (irregular quadrilaterals, a code, an area),
    FIDs scattered in space (so streamed chunks are R-tree tiles); with and without R-tree."""
    rng = np.random.default_rng(14)
    x0, y0 = 36_561_000.0, 2_400_000.0  # GK zone 36 (EPSG:4524), inside the bundled pack
    xy = rng.uniform(0, 20_000, size=(N, 2))
    jitter = rng.uniform(-8, 8, size=(N, 4, 2))
    corners = np.array([(0, 0), (60, 0), (60, 45), (0, 45)], dtype=float)
    at = np.array([x0, y0]) + xy
    polys = [shapely.Polygon(corners + a[None, :] + j) for a, j in zip(at, jitter, strict=True)]
    gdf = gpd.GeoDataFrame(
        {"地块编号": [f"QZ-{i:04d}" for i in range(N)], "用地面积": [p.area for p in polys]},
        geometry=polys,
        crs="EPSG:4524",
    )
    out = {}
    for rtree in (True, False):
        path = tmp_path_factory.mktemp("orig") / "parcels.gpkg"
        pyogrio.write_dataframe(
            gdf, path, layer="parcels", driver="GPKG", layer_options={"SPATIAL_INDEX": rtree}
        )
        out[rtree] = path
    return out


def _stale(originals: dict[bool, Path], tmp_path: Path, case: str, *, rtree: bool) -> Path:
    path = tmp_path / "data" / "parcels.gpkg"
    path.parent.mkdir()
    shutil.copy(originals[rtree], path)
    _sql(path, *CASES[case])
    return path


def _analyze(parcels: Path, out: Path, *streamed: str) -> tuple[Result, dict, list[dict]]:
    args = ["analyze", "--parcels", str(parcels), "--out", str(out), *streamed]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    report = json.loads((out / "internal" / "parcels_report.json").read_text())
    (gpkg,) = out.glob("*/parcels.gpkg")
    with contextlib.closing(sqlite3.connect(gpkg)) as con:
        cols = [r[1] for r in con.execute("PRAGMA table_info(parcels)")][2:]  # no fid, geom
        quoted = ", ".join(f'"{c}"' for c in cols)
        got = con.execute(f"SELECT {quoted} FROM parcels ORDER BY source_fid").fetchall()
    return res, report, [dict(zip(cols, r, strict=True)) for r in got]


def _count_warning(report: dict, path: Path, stored: int, n: int) -> str:
    found = [w for w in report["repairs"]["warnings"] if "gpkg_ogr_contents" in w]
    assert len(found) == 1, report["repairs"]["warnings"]
    said = found[0]
    assert said.startswith(f"{path.name}: layer 'parcels': "), said
    assert f"says {stored} features, the table holds {n} (a stale count" in said, said
    assert "Fix the count with: ogrinfo" in said and "feature_count = (SELECT count(*)" in said
    return said


@pytest.mark.parametrize(
    ("case", "rtree"),
    [*((c, True) for c in CASES), ("high_equal_to_max_fid", False), ("low_set", False)],
)
def test_streamed_and_in_memory_write_each_parcel_once_and_warn(
    originals: dict[bool, Path], tmp_path: Path, case: str, rtree: bool
) -> None:
    path = _stale(originals, tmp_path, case, rtree=rtree)
    n, fids = _table(path)
    stored = pyogrio.read_info(path)["features"]
    assert stored != n  # the file is stale as meant
    mem_res, mem_report, mem_rows = _analyze(path, tmp_path / "mem")
    st_res, st_report, st_rows = _analyze(
        path, tmp_path / "st", "--chunk-rows", str(ROWS), "--workers", "2"
    )
    assert " chunk" in st_res.output  # streamed indeed
    assert ("spatial chunk" in st_res.output) == rtree  # the R-tree's tiles kept
    for report, rows in ((mem_report, mem_rows), (st_report, st_rows)):
        assert report["parcels"] == n
        assert [r["source_fid"] for r in rows] == fids  # each parcel once, none missing
    assert st_rows == mem_rows  # the same per-parcel rows
    mem_said = _count_warning(mem_report, path, stored, n)
    st_said = _count_warning(st_report, path, stored, n)
    assert st_said == mem_said.replace(  # the one wording; GDAL repeated rows only in memory
        f"; GDAL's reader returned {stored - n} feature(s) twice, read once here", ""
    )
    for res, report in ((mem_res, mem_report), (st_res, st_report)):
        assert f"{len(report['repairs']['warnings'])} warning(s)" in res.output


def test_a_right_count_gives_no_warning(originals: dict[bool, Path], tmp_path: Path) -> None:
    path = tmp_path / "parcels.gpkg"
    shutil.copy(originals[True], path)
    _sql(path, "DELETE FROM parcels WHERE fid IN (17, 120)")  # triggers kept: the count follows
    for out, streamed in ((tmp_path / "mem", ()), (tmp_path / "st", ("--chunk-rows", str(ROWS)))):
        _, report, rows = _analyze(path, out, *streamed)
        assert len(rows) == N - 2
        assert not [w for w in report["repairs"]["warnings"] if "gpkg_ogr_contents" in w]


def test_worker_processes_say_it_too(
    originals: dict[bool, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chunks analyzed by worker processes: their counts come back with their rows."""
    monkeypatch.setattr("qzgeo.publish.parcel_stream.POOL_ABOVE", 1)  # a small file in a pool
    path = _stale(originals, tmp_path, "high_equal_to_max_fid", rtree=True)
    n, fids = _table(path)
    res, report, rows = _analyze(path, tmp_path / "st", "--chunk-rows", str(ROWS), "--workers", "2")
    assert "2 processes" in res.output, res.output
    assert [r["source_fid"] for r in rows] == fids
    _count_warning(report, path, N, n)


@pytest.mark.parametrize("streamed", [(), ("--chunk-rows", str(ROWS))])
def test_a_count_too_low_does_not_lift_max_features(
    originals: dict[bool, Path], tmp_path: Path, streamed: tuple[str, ...]
) -> None:
    """``--max-features`` caps the features the file holds, not the count it says: a stored
    count of N - 60 under the cap let a streamed run read all N (the in-memory run refused)."""
    path = _stale(originals, tmp_path, "low_set", rtree=True)
    n, _ = _table(path)
    cap = N - 40  # above the stale count, below the rows
    assert pyogrio.read_info(path)["features"] < cap < n
    out = tmp_path / "out"
    args = ["analyze", "--parcels", str(path), "--out", str(out), "--max-features", str(cap)]
    res = CliRunner().invoke(cli, [*args, *streamed])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and path.name in res.output, res.output
    assert f"over the cap of {cap} per layer" in res.output and "--max-features" in res.output
    assert not list(out.glob("*/parcels*.gpkg"))  # nothing half-written is left


def test_a_cap_of_exactly_the_rows_is_kept(originals: dict[bool, Path], tmp_path: Path) -> None:
    """The cap refuses more features than N, not N (the stale count low all the same)."""
    path = _stale(originals, tmp_path, "low_set", rtree=True)
    n, fids = _table(path)
    _, report, rows = _analyze(
        path, tmp_path / "st", "--chunk-rows", str(ROWS), "--max-features", str(n)
    )
    assert [r["source_fid"] for r in rows] == fids and report["parcels"] == n


def test_the_default_cap_does_not_refuse_a_streamed_file_its_count_understates(
    originals: dict[bool, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --max-features a streamed file is not capped (the default cap bounds one read
    in memory): a stale count, low but over the default, is no cap either. The default is
    made small here (it is 5 000 000)."""
    from qzgeo.io.guard import ReadCaps

    monkeypatch.setattr(
        "qzgeo.publish.parcel_stream.current_caps", lambda: ReadCaps(max_features=100)
    )
    path = _stale(originals, tmp_path, "low_set", rtree=True)
    n, fids = _table(path)
    assert 100 < pyogrio.read_info(path)["features"] < n
    _, report, rows = _analyze(path, tmp_path / "st", "--chunk-rows", str(ROWS))
    assert [r["source_fid"] for r in rows] == fids and report["parcels"] == n


@pytest.mark.parametrize("streamed", [(), ("--chunk-rows", str(ROWS))])
def test_a_count_too_high_does_not_refuse_a_file_under_max_features(
    originals: dict[bool, Path], tmp_path: Path, streamed: tuple[str, ...]
) -> None:
    """A stored count of N + 60 over ``--max-features`` refused a file of N features, saying
    it had N + 60: the cap is of the rows (SQLite's count), and a refusal names their number."""
    path = _stale(originals, tmp_path, "high_set", rtree=True)
    n, fids = _table(path)
    stored = pyogrio.read_info(path)["features"]
    assert n < N + 20 < stored
    _, report, rows = _analyze(path, tmp_path / "ok", *streamed, "--max-features", str(N + 20))
    assert [r["source_fid"] for r in rows] == fids and report["parcels"] == n
    out = tmp_path / "refused"
    args = ["analyze", "--parcels", str(path), "--out", str(out), "--max-features", str(n - 1)]
    res = CliRunner().invoke(cli, [*args, *streamed])
    assert res.exit_code == 2, res.output
    assert f"has {n} features, over the cap of {n - 1} per layer" in res.output, res.output


def test_the_cap_refusal_names_a_postgis_table_without_its_password() -> None:
    """A streamed PostGIS table over --max-features: the message names the table as every
    other message does, the password hidden."""
    from qzgeo._errors import InputError
    from qzgeo.analysis.chunk_plan import ChunkSource
    from qzgeo.analysis.parcels import ParcelPlan
    from qzgeo.geo.repair import RepairReport
    from qzgeo.publish.parcel_totals import StreamTotals as _Totals

    uri = "postgresql://gis:s3cret@db/plan?table=地块"
    acc = _Totals(ParcelPlan.__new__(ParcelPlan), RepairReport(), ChunkSource(uri))
    acc.cap, acc.read = 10, 11
    with pytest.raises(InputError) as err:
        acc._check_cap()
    assert "s3cret" not in str(err.value) and "gis:***@db" in str(err.value)
