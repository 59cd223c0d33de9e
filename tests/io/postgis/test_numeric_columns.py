"""PostGIS ``numeric`` attribute columns keep every digit.

pandas reads a ``numeric`` as a float: 15-16 significant digits. A 19-digit parcel number
kept as ``numeric(19,0)`` beside a ``serial`` key (what a DBF ``N(19,0)`` field often becomes
once loaded) came out of ``analyze`` with its last digits changed, silently. PostgreSQL's own
text of each value is the oracle.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner

from qzgeo.cli.main import cli
from qzgeo.io.postgis import read_postgis_layer
from qzgeo.notices import notices_of

pytestmark = pytest.mark.postgis
Sql = Callable[..., list[tuple[object, ...]]]
X0, Y0 = 36_564_000.0, 2_399_000.0


def _table(pg_sql: Sql, schema: str) -> str:
    """12 squares in EPSG:4524 with a serial key, a 19-digit numeric code, an area numeric(12,2)
    and an unconstrained numeric holding ordinary values."""
    pg_sql(
        f"CREATE TABLE {schema}.parcels (gid serial PRIMARY KEY, code numeric(19,0), "
        f"area numeric(12,2), ratio numeric, geom geometry(Polygon, 4524))"
    )
    for k in range(12):
        x, y = X0 + 200 * k, Y0
        pg_sql(
            f"INSERT INTO {schema}.parcels (code, area, ratio, geom) VALUES "
            "(:code, :area, :ratio, ST_MakeEnvelope(:x, :y, :x + 150, :y + 100, 4524))",
            {
                "code": 4507020010010000001 + k,
                "area": f"{15000 + k}.25",
                "ratio": f"0.{k + 1}",
                "x": x,
                "y": y,
            },
        )
    return f"{schema}.parcels"


def test_a_19_digit_numeric_keeps_every_digit(pg_uri: str, pg_schema: str, pg_sql: Sql) -> None:
    table = _table(pg_sql, pg_schema)
    gdf = read_postgis_layer(f"{pg_uri}?table={table}")
    want = [str(v) for (v,) in pg_sql(f"SELECT code::text FROM {table} ORDER BY gid")]
    assert [str(v) for v in gdf["code"]] == want
    # columns a float holds exactly stay numbers
    assert gdf["area"].dtype.kind == "f" and gdf["ratio"].dtype.kind == "f"
    assert gdf["area"].tolist() == [15000 + k + 0.25 for k in range(12)]
    notes = " ".join(n.message for n in notices_of(gdf))
    assert "code" in notes and "text" in notes


def test_analyze_writes_the_19_digits_and_says_so(
    pg_uri: str, pg_schema: str, pg_sql: Sql, minipack: Path, tmp_path: Path
) -> None:
    table = _table(pg_sql, pg_schema)
    out = tmp_path / "out"
    res = CliRunner().invoke(
        cli,
        ["analyze", "--parcels", f"{pg_uri}?table={table}", "--pack", str(minipack),
         "--out", str(out), "--workers", "1"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    got = gpd.read_file(out / "internal" / "parcels.gpkg")
    want = sorted(str(v) for (v,) in pg_sql(f"SELECT code::text FROM {table}"))
    assert sorted(str(v) for v in got["code"]) == want
    report = json.loads((out / "internal" / "parcels_report.json").read_text("utf-8"))
    assert any("code" in w and "digits" in w for w in report["repairs"]["warnings"])


def test_unconstrained_numerics_are_text_only_when_a_float_would_round(
    pg_uri: str, pg_schema: str, pg_sql: Sql
) -> None:
    """No primary key (its own notice stays beside this one); ``numeric`` without a precision
    is text only if a value does not survive a float8."""
    pg_sql(
        f"CREATE TABLE {pg_schema}.t AS SELECT k AS n, (k * 1000000000000000000 + 7)::numeric AS "
        "big, (k / 8.0)::numeric AS small, ST_MakeEnvelope(36564000 + 200 * k, 2399000, "
        "36564150 + 200 * k, 2399100, 4524) AS geom FROM generate_series(1, 5) AS k"
    )
    gdf = read_postgis_layer(f"{pg_uri}?table={pg_schema}.t")
    assert gdf["big"].tolist() == [str(k * 10**18 + 7) for k in range(1, 6)]
    assert gdf["small"].tolist() == [k / 8 for k in range(1, 6)]
    notes = " ".join(n.message for n in notices_of(gdf))
    assert "big (numeric)" in notes and "small" not in notes and "no primary key" in notes


def test_integer_columns_with_a_null_stay_integers(
    pg_uri: str, pg_schema: str, pg_sql: Sql, minipack: Path, tmp_path: Path
) -> None:
    """A ``bigint`` 宗地代码 with one parcel still without its code (NULL): pandas read the
    column as floats, and analyze wrote 4507020010010000001 and …002 both as the integer
    4507020010009999872; an ``integer`` column with a NULL became REAL."""
    pg_sql(
        f"CREATE TABLE {pg_schema}.codes (gid serial PRIMARY KEY, code bigint, n integer, "
        "geom geometry(Polygon, 4524))"
    )
    for k, (code, n) in enumerate([(4507020010010000001, 1), (4507020010010000002, None),
                                   (None, 3)]):  # fmt: skip
        pg_sql(
            f"INSERT INTO {pg_schema}.codes (code, n, geom) VALUES "
            "(:code, :n, ST_MakeEnvelope(:x, :y, :x + 150, :y + 100, 4524))",
            {"code": code, "n": n, "x": X0 + 200 * k, "y": Y0},
        )
    uri = f"{pg_uri}?table={pg_schema}.codes"
    gdf = read_postgis_layer(uri)
    want = [v for (v,) in pg_sql(f"SELECT code FROM {pg_schema}.codes ORDER BY gid")]
    assert [None if pd.isna(v) else int(v) for v in gdf["code"]] == want
    assert gdf["n"].dtype.kind == "i" or str(gdf["n"].dtype) == "Int32"
    for extra in ([], ["--chunk-rows", "1"]):
        out = tmp_path / f"out{len(extra)}"
        res = CliRunner().invoke(
            cli, ["analyze", "--parcels", uri, "--pack", str(minipack), "--out", str(out), *extra]
        )
        assert res.exit_code == 0, res.output
        with sqlite3.connect(out / "internal" / "parcels.gpkg") as con:
            rows = con.execute("SELECT code, n, typeof(n) FROM parcels ORDER BY source_fid")
            got = rows.fetchall()
        con.close()
        assert [r[0] for r in got] == want
        assert [r[1] for r in got] == [1, None, 3] and got[0][2] == "integer"


def test_arcgis_doubles_are_numbers_when_a_float_holds_them(
    pg_uri: str, pg_schema: str, pg_sql: Sql
) -> None:
    """ArcGIS (an enterprise geodatabase on PostgreSQL) keeps a Double field as
    ``numeric(38,8)``: its 面积 were read as text because of the declared 38 digits, so
    parcels.gpkg had a TEXT column of areas (nothing to sum in QGIS). A column of such
    quantities is text only if a value does not survive a float8; a ``numeric(p,0)`` over 15
    digits (a code) stays text as before."""
    pg_sql(
        f"CREATE TABLE {pg_schema}.sde (objectid integer PRIMARY KEY, 面积 numeric(38,8), "
        "精确 numeric(38,8), code numeric(20,0), geom geometry(Polygon, 4524)); "
        f"INSERT INTO {pg_schema}.sde SELECT k, CASE WHEN k = 2 THEN NULL ELSE 1234.5678 * k "
        "END, 12345678.12345678 + k, 450702001001 + k, ST_MakeEnvelope(36564000 + 200 * k, "
        "2399000, 36564150 + 200 * k, 2399100, 4524) FROM generate_series(1, 3) AS k"
    )
    gdf = read_postgis_layer(f"{pg_uri}?table={pg_schema}.sde")
    assert gdf["面积"].dtype.kind == "f"
    assert gdf["面积"].tolist()[::2] == [1234.5678, 3703.7034] and pd.isna(gdf["面积"].iloc[1])
    assert gdf["精确"].tolist() == ["12345679.12345678", "12345680.12345678", "12345681.12345678"]
    assert gdf["code"].tolist() == [str(450702001001 + k) for k in (1, 2, 3)]
    notes = " ".join(n.message for n in notices_of(gdf))
    assert "精确 (numeric(38,8))" in notes and "code (numeric(20,0))" in notes
    assert "面积" not in notes
