"""PostGIS columns of types no output format holds are read as PostgreSQL's text, with a warning.

``qzgeo convert`` of a table with an ``interval`` column to .shp, .geojson or .fgb died with
pyogrio's ``NotImplementedError`` traceback, and to .gpkg exited 2 naming neither the table
nor a fix; a ``json`` or ``hstore`` column to .gpkg raised a bare ``KeyError``; a ``uuid`` went
into a GeoPackage as 16 raw bytes, a ``bytea`` into a Shapefile as Python's ``b'\\x01'``, a
``text[]`` as Python's ``['x', 'y']``. They are read as ``column::text`` (what ``ogr2ogr``
makes of them too), and the warning names the table, each column, its type and the fix.
PostgreSQL's own ``column::text`` is the oracle.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner

from qzgeo.cli.main import cli
from qzgeo.io.postgis import read_postgis_layer
from qzgeo.notices import notices_of

pytestmark = pytest.mark.postgis
Sql = Callable[..., list[tuple[object, ...]]]

#: column -> (declared type, a value): every type the readers and writers choked on.
TYPES = {
    "dur": ("interval", "1 day 02:03:04"),
    "tags": ("text[]", "{x,y}"),
    "ints": ("integer[]", "{1,2}"),
    "j": ("json", '{"a": 1}'),
    "jb": ("jsonb", '{"b": [2, 3]}'),
    "u": ("uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
    "t": ("time without time zone", "12:34:56"),
    "tz": ("time with time zone", "12:00:00+08"),
    "b": ("bytea", "\\x0102"),
}


def _table(pg_sql: Sql, schema: str) -> tuple[str, dict[str, str]]:
    """Two points in EPSG:4524, a serial key, a name and one column of each of :data:`TYPES`
    (NULL in the second row), plus ``hstore`` if the server has it."""
    types = dict(TYPES)
    if pg_sql("SELECT 1 FROM pg_available_extensions WHERE name = 'hstore'"):
        pg_sql("CREATE EXTENSION IF NOT EXISTS hstore")  # in whichever schema it already is
        [(where,)] = pg_sql(
            "SELECT n.nspname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
            "WHERE t.typname = 'hstore'"
        )
        types["h"] = (f"{where}.hstore", "a=>1")
    cols = ", ".join(f"{c} {t}" for c, (t, _) in types.items())
    pg_sql(
        f"CREATE TABLE {schema}.odd (gid serial PRIMARY KEY, name text, {cols}, "
        "geom geometry(Point, 4524))"
    )
    names = ", ".join(types)
    values = ", ".join(f":{c}" for c in types)
    geom = "ST_SetSRID(ST_MakePoint(36564000, 2399000), 4524)"
    pg_sql(
        f"INSERT INTO {schema}.odd (name, {names}, geom) VALUES ('a', {values}, {geom})",
        {c: v for c, (_, v) in types.items()},
    )
    pg_sql(f"INSERT INTO {schema}.odd (name, geom) VALUES ('b', {geom})")
    return f"{schema}.odd", {c: t.rsplit(".", 1)[-1] for c, (t, _) in types.items()}


def _read_back(path: Path) -> pd.DataFrame:
    """The attributes of ``path`` as written: GeoJSON by ``json`` (GDAL's reader would make
    ``"12:34:56"`` a time again), GeoParquet by pandas, the others by GDAL."""
    if path.suffix == ".geojson":
        features = json.loads(path.read_text("utf-8"))["features"]
        return pd.DataFrame([f["properties"] for f in features])
    if path.suffix == ".parquet":
        return gpd.read_parquet(path)
    return pyogrio.read_dataframe(path)


@pytest.mark.parametrize("ext", [".shp", ".geojson", ".fgb", ".gpkg", ".parquet"])
def test_convert_writes_them_as_text_and_says_so(
    pg_uri: str, pg_schema: str, pg_sql: Sql, tmp_path: Path, ext: str
) -> None:
    table, types = _table(pg_sql, pg_schema)
    out = tmp_path / f"odd{ext}"
    res = CliRunner().invoke(cli, ["convert", f"{pg_uri}?table={table}", str(out)])
    assert res.exit_code == 0 and "Traceback" not in res.output, res.output
    assert f"PostGIS table {table}" in res.output
    for c, t in types.items():
        assert f"{c} ({t})" in res.output, (c, res.output)
    assert "::text" in res.output  # the fix: a view that casts them as the user wants
    got = _read_back(out).set_index("name")
    for c in types:
        [(want,)] = pg_sql(f"SELECT {c}::text FROM {table} WHERE name = 'a'")
        value = got.loc["a", c]
        if isinstance(value, dict):  # GDAL writes a JSON text into GeoJSON as JSON
            value = json.dumps(value)
            want = json.dumps(json.loads(str(want)))
        assert value == want, (c, value)
        assert got.loc["b", c] is None or got.loc["b", c] != got.loc["b", c], c  # NULL stays


def test_read_and_analyze_carry_the_warning(
    pg_uri: str, pg_schema: str, pg_sql: Sql, minipack: Path, tmp_path: Path
) -> None:
    table, types = _table(pg_sql, pg_schema)
    gdf = read_postgis_layer(f"{pg_uri}?table={table}")
    assert list(gdf.columns) == ["gid", "name", *types, "geom"]  # the table's order
    assert gdf["gid"].tolist() == [1, 2] and list(gdf.index) == [1, 2]
    notes = [n.message for n in notices_of(gdf)]
    assert any("dur (interval)" in m for m in notes), notes
    # a polygon table, so that analyze measures it: its report keeps the warning
    pg_sql(
        f"CREATE TABLE {pg_schema}.parcels AS SELECT gid, dur, u, "
        "ST_Buffer(geom, 50)::geometry(Polygon, 4524) AS geom FROM {table}".format(table=table)
    )
    pg_sql(f"ALTER TABLE {pg_schema}.parcels ADD PRIMARY KEY (gid)")
    out = tmp_path / "out"
    res = CliRunner().invoke(
        cli,
        ["analyze", "--parcels", f"{pg_uri}?table={pg_schema}.parcels", "--pack",
         str(minipack), "--out", str(out), "--workers", "1"],
    )  # fmt: skip
    assert res.exit_code == 0 and "Traceback" not in res.output, res.output
    report = json.loads((out / "internal" / "parcels_report.json").read_text("utf-8"))
    assert any("dur (interval)" in w and "u (uuid)" in w for w in report["repairs"]["warnings"])
    got = pyogrio.read_dataframe(out / "internal" / "parcels.gpkg").set_index("source_fid")
    [(want,)] = pg_sql(f"SELECT u::text FROM {table} WHERE gid = 1")
    assert got.loc[1, "u"] == want
