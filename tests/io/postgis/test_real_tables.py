"""PostGIS tables as GIS staff keep them, beyond plain keyed tables: materialized views,
red-line tables given to ``check --constraint``.

PostGIS is the oracle for areas: ``ST_Area(geom::geography)`` on CGCS2000 lon/lat.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from click.testing import CliRunner

from qzgeo.cli.main import cli
from qzgeo.io.postgis import read_postgis_layer

pytestmark = pytest.mark.postgis
Sql = Callable[..., list[tuple[object, ...]]]


def _zongdi(pg_sql: Sql, schema: str) -> None:
    """宗地 (text key, EPSG:4490): 6 boxes keyed 450702001001GB00000..."""
    pg_sql(
        f'CREATE TABLE {schema}."宗地" ("宗地代码" text PRIMARY KEY, '
        "geom geometry(MultiPolygon, 4490))"
    )
    pg_sql(
        f"INSERT INTO {schema}.\"宗地\" SELECT '450702001001GB' || lpad(i::text, 5, '0'), "
        "ST_Multi(ST_MakeEnvelope(108.605 + i * 0.006, 21.675, 108.61 + i * 0.006, 21.679, 4490)) "
        "FROM generate_series(0, 5) i"
    )


def test_materialized_view_is_read(pg_uri: str, pg_schema: str, pg_sql: Sql) -> None:
    """A materialized view (as staff publish a join of parcels and owners) was said not to
    exist: its name was missing from the list of tables and views the reader checked."""
    _zongdi(pg_sql, pg_schema)
    pg_sql(f'CREATE MATERIALIZED VIEW {pg_schema}.mv AS SELECT * FROM {pg_schema}."宗地"')
    got = read_postgis_layer(f"{pg_uri}?table={pg_schema}.mv")
    want = [r[0] for r in pg_sql(f'SELECT "宗地代码" FROM {pg_schema}.mv ORDER BY 1')]
    assert len(want) == 6
    assert sorted(got["宗地代码"]) == want


def test_check_names_postgis_constraints_and_sites_by_their_tables(
    pg_uri: str, pg_schema: str, pg_sql: Sql
) -> None:
    """Two red-line tables of one schema were one layer and class named
    ``db?table=schema`` (``Path(uri).stem``): a site in 永久基本农田 could not be told from
    one in 生态保护红线. Each is now named by its table, as a file by its name."""
    for name, x in (("生态红线", 108.600), ("永久基本农田", 108.620)):
        pg_sql(
            f'CREATE TABLE {pg_schema}."{name}" (gid int PRIMARY KEY, geom geometry(Polygon, 4490))'
        )
        pg_sql(
            f'INSERT INTO {pg_schema}."{name}" VALUES '
            f"(1, ST_MakeEnvelope({x}, 21.68, {x + 0.01}, 21.69, 4490))"
        )
    pg_sql(f"CREATE TABLE {pg_schema}.sites (id text PRIMARY KEY, geom geometry(Polygon, 4490))")
    pg_sql(
        f"INSERT INTO {pg_schema}.sites VALUES "
        "('S1', ST_MakeEnvelope(108.625, 21.685, 108.635, 21.695, 4490))"
    )
    [(want,)] = pg_sql(
        f"SELECT ST_Area(ST_Intersection(s.geom, c.geom)::geography) FROM {pg_schema}.sites s, "
        f'{pg_schema}."永久基本农田" c'
    )
    args = ["check", f"{pg_uri}?table={pg_schema}.sites", "--no-pack", "--format", "json"]
    for name in ("生态红线", "永久基本农田"):
        args += ["--constraint", f"{pg_uri}?table={pg_schema}.{name}"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 1, res.output
    [site] = json.loads(res.stdout)
    assert site["site"] == f"{pg_schema}.sites:S1"
    [conflict] = site["conflicts"]
    assert conflict["class"] == "永久基本农田"
    assert conflict["layer"] == f"{pg_schema}.永久基本农田"
    assert conflict["area_m2"] == pytest.approx(float(want), abs=1.0)  # type: ignore[arg-type]
