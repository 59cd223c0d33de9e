"""`qzgeo analyze --parcels postgresql://... --chunk-rows N`: a PostGIS table read in key order.

3 000 parcels (jittered quads over the minipack, EPSG:4524) keyed by 宗地代码 (text) or gid,
stored out of key order, with a NULL geometry, a bow-tie and an integer column whose NULLs
fall in one chunk only. The streamed runs (threads; worker processes) must write the rows,
summary and report of the in-memory run; PostGIS's own areas are the oracle per key.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner

from qzgeo._errors import InputError
from qzgeo.cli.main import cli
from qzgeo.io.postgis import write_postgis_layer

pytestmark = pytest.mark.postgis
Sql = Callable[..., list[tuple[object, ...]]]
CODE = "宗地代码"
NX, NY = 60, 50  # 3 000 parcels
ROWS = 400  # 8 chunks, the last of 200
SECRET = "Qz-pw/with?odd#chars"  # ignored by the trust-auth test server, must never show up


def _quads() -> gpd.GeoDataFrame:
    """Jittered quads of ~50 x 36 m over the minipack's zones and control lines."""
    rng = np.random.default_rng(3)
    x0, y0, dx, dy = 36_563_500.0, 2_398_600.0, 50.0, 36.0
    gx, gy = np.meshgrid(np.arange(NX + 1) * dx + x0, np.arange(NY + 1) * dy + y0, indexing="ij")
    gx = gx + rng.uniform(-dx / 6, dx / 6, gx.shape)
    gy = gy + rng.uniform(-dy / 6, dy / 6, gy.shape)
    i, j = (a.ravel() for a in np.meshgrid(np.arange(NX), np.arange(NY), indexing="ij"))
    xs = np.stack([gx[i, j], gx[i + 1, j], gx[i + 1, j + 1], gx[i, j + 1], gx[i, j]], axis=1)
    ys = np.stack([gy[i, j], gy[i + 1, j], gy[i + 1, j + 1], gy[i, j + 1], gy[i, j]], axis=1)
    n = len(xs)
    floors = pd.array(rng.integers(1, 30, n), dtype="Int64")
    return gpd.GeoDataFrame(
        {
            CODE: [f"450702001001JC{k:05d}" for k in range(n)],
            "gid": np.arange(1, n + 1) * 3,  # an integer key that does not start at 0
            "用途": rng.choice(["工业用地", "港口用地", "仓储用地"], n),
            "层数": floors,
        },
        geometry=list(shapely.polygons(np.stack([xs, ys], axis=2))),
        crs="EPSG:4524",
    )


def _table(pg_uri: str, pg_sql: Sql, schema: str, key: str) -> str:
    """The parcels as table ``schema.宗地`` keyed by ``key``, rows stored in random order."""
    gdf = _quads().sample(frac=1.0, random_state=11)  # physical order is not key order
    write_postgis_layer(gdf, f"{pg_uri}?table={schema}.宗地&geom=geom")
    t = f'{schema}."宗地"'
    pg_sql(f'ALTER TABLE {t} ADD PRIMARY KEY ("{key}")')
    first_chunk = "450702001001JC00400" if key == CODE else "1203"  # keys of chunk 1 only
    pg_sql(f'UPDATE {t} SET "层数" = NULL WHERE "{key}" < \'{first_chunk}\' AND "{key}" >= '
           f"'{'450702001001JC00100' if key == CODE else '303'}'")  # fmt: skip
    pg_sql(f"UPDATE {t} SET geom = NULL WHERE \"{CODE}\" = '450702001001JC00950'")
    pg_sql(
        f"UPDATE {t} SET geom = ST_Multi(ST_GeomFromText(:wkt, 4524)) "
        f"WHERE \"{CODE}\" = '450702001001JC02222'",
        {"wkt": "POLYGON((36564000 2399000, 36564040 2399030, 36564040 2399000, "
                "36564000 2399030, 36564000 2399000))"},
    )  # fmt: skip
    return f"{schema}.宗地"


def _uri(pg_uri: str, table: str) -> str:
    with_pw = pg_uri.replace("://postgres@", f"://postgres:{quote(SECRET, safe='')}@")
    return f"{with_pw}?table={table}"


def _cli(uri: str, pack: Path, out: Path, *args: str) -> str:
    res = CliRunner().invoke(
        cli, ["analyze", "--parcels", uri, "--pack", str(pack), "--out", str(out), *args]
    )
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output and SECRET not in res.output
    return res.output


def _rows(out: Path) -> gpd.GeoDataFrame:
    return gpd.read_file(out / "internal" / "parcels.gpkg")


def _assert_same_run(out: Path, ref: Path) -> None:
    a, b = _rows(out), _rows(ref)
    assert list(a.columns) == list(b.columns)
    pd.testing.assert_frame_equal(
        pd.DataFrame(a.drop(columns="geometry")),
        pd.DataFrame(b.drop(columns="geometry")),
        check_exact=True,
    )
    assert a.geometry.geom_equals_exact(b.geometry, 0).all()
    for name in ("parcels_summary.csv", "parcels_report.json"):
        assert (out / "internal" / name).read_bytes() == (ref / "internal" / name).read_bytes()
    for f in out.rglob("*"):
        if f.is_file():
            assert SECRET.encode() not in f.read_bytes(), f


@pytest.mark.parametrize("key", [CODE, "gid"])
def test_streamed_postgis_rows_are_the_in_memory_rows(
    pg_uri: str, pg_schema: str, pg_sql: Sql, minipack: Path, tmp_path: Path, key: str
) -> None:
    uri = _uri(pg_uri, _table(pg_uri, pg_sql, pg_schema, key))
    mem = _cli(uri, minipack, tmp_path / "mem")
    assert "chunk" not in mem
    out = _cli(uri, minipack, tmp_path / "chunks", "--chunk-rows", str(ROWS), "--workers", "1")
    assert f"8 chunks of {ROWS} parcels" in out, out
    _assert_same_run(tmp_path / "chunks", tmp_path / "mem")
    rows = _rows(tmp_path / "chunks")
    assert len(rows) == NX * NY - 1  # the NULL one dropped (and said so in parcels_report.json)
    info = pyogrio.read_info(tmp_path / "chunks" / "internal" / "parcels.gpkg")
    assert dict(zip(info["fields"], info["dtypes"], strict=True))["层数"] == "int64"
    assert list(rows[key]) == sorted(rows[key])  # key order, chunk after chunk
    assert (rows["source_fid"] == rows[key]).all()


def test_streamed_postgis_in_worker_processes_matches_postgis(
    pg_uri: str,
    pg_schema: str,
    pg_sql: Sql,
    minipack: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Worker processes each read their key range; every area is PostGIS's for that key."""
    from qzgeo.pipeline import run_analyze
    from qzgeo.publish import parcel_stream

    table = _table(pg_uri, pg_sql, pg_schema, CODE)
    uri = _uri(pg_uri, table)
    _cli(uri, minipack, tmp_path / "mem")
    monkeypatch.setattr(parcel_stream, "POOL_ABOVE", 1_000)  # 3 000 parcels go to processes
    summary = run_analyze(
        uri, tmp_path / "procs", pack_dir=minipack, chunk_rows=ROWS, workers=2, processes=True
    )
    assert summary.engine.startswith("2 processes, 8 chunks"), summary.engine
    _assert_same_run(tmp_path / "procs", tmp_path / "mem")
    rows = _rows(tmp_path / "procs").set_index("source_fid")
    want = dict(
        pg_sql(
            f'SELECT "{CODE}", ST_Area(ST_Transform(ST_MakeValid(geom), 4490)::geography) '
            f'FROM {pg_schema}."宗地" WHERE geom IS NOT NULL'
        )
    )
    assert sorted(want) == sorted(rows.index)
    got = rows["area_m2"].reindex(list(want)).to_numpy()
    np.testing.assert_allclose(got, [float(v) for v in want.values()], rtol=0, atol=0.01)  # type: ignore[arg-type]


def test_keyless_postgis_table_is_not_read_in_chunks(
    pg_uri: str, pg_schema: str, pg_sql: Sql, minipack: Path, tmp_path: Path
) -> None:
    _table(pg_uri, pg_sql, pg_schema, CODE)
    pg_sql(f'CREATE VIEW {pg_schema}.v AS SELECT * FROM {pg_schema}."宗地"')
    uri = _uri(pg_uri, f"{pg_schema}.v")
    res = CliRunner().invoke(
        cli,
        ["analyze", "--parcels", uri, "--pack", str(minipack), "--out", str(tmp_path / "o"),
         "--chunk-rows", str(ROWS)],
    )  # fmt: skip
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and SECRET not in res.output
    assert f"{pg_schema}.v has no primary key" in res.output
    assert "--chunk-rows" in res.output and "PRIMARY KEY" in res.output
    assert not (tmp_path / "o" / "internal" / "parcels.gpkg").exists()


def test_max_features_given_caps_the_whole_streamed_table(
    pg_uri: str, pg_schema: str, pg_sql: Sql, minipack: Path, tmp_path: Path
) -> None:
    uri = _uri(pg_uri, _table(pg_uri, pg_sql, pg_schema, "gid"))
    res = CliRunner().invoke(
        cli,
        ["analyze", "--parcels", uri, "--pack", str(minipack), "--out", str(tmp_path / "o"),
         "--chunk-rows", str(ROWS), "--max-features", "1000"],
    )  # fmt: skip
    assert res.exit_code == 2, res.output
    assert "3000" in res.output.replace(",", "") and "--max-features" in res.output


def test_a_key_range_that_changed_since_planning_is_refused(
    pg_uri: str, pg_schema: str, pg_sql: Sql
) -> None:
    """Rows added (or removed) in a range between planning and reading: never a silent drop."""
    from qzgeo.io.postgis_read import postgis_key_ranges
    from qzgeo.io.vector import read_layer_features

    uri = f"{pg_uri}?table={_table(pg_uri, pg_sql, pg_schema, 'gid')}"
    ranges = postgis_key_ranges(uri, ROWS)
    assert [r.rows for r in ranges] == [ROWS] * 7 + [200]
    first = read_layer_features(uri, (ranges[1], ROWS))
    assert len(first) == ROWS and first.index[0] == ranges[1].lo
    pg_sql(
        f'INSERT INTO {pg_schema}."宗地" ("宗地代码", gid, geom) SELECT \'X\', gid + 1, geom '
        f'FROM {pg_schema}."宗地" WHERE gid = :g',
        {"g": ranges[1].lo},
    )
    with pytest.raises(InputError, match="changed while"):
        read_layer_features(uri, (ranges[1], ROWS))
