"""PostGIS tables as GIS staff keep them, beyond plain keyed tables: materialized views, ...

PostGIS is the oracle for areas: ``ST_Area(geom::geography)`` on CGCS2000 lon/lat.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from qzgeo.io.postgis import read_postgis_layer

pytestmark = pytest.mark.postgis
Sql = Callable[..., list[tuple[object, ...]]]


def _zongdi(pg_sql: Sql, schema: str) -> None:
    """宗地 (text key, EPSG:4490): 6 boxes keyed 450702001001GB00000..."""
    pg_sql(
        f'CREATE TABLE {schema}."宗地" ("宗地代码" text PRIMARY KEY, geom geometry(MultiPolygon, 4490))'
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
