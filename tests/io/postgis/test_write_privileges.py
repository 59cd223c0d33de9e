"""A write by a role that may not write there names the fix, as a read the reader refuses does.

Before: ``could not write PostGIS table 规划.地块 on ro@...: permission denied for schema 规划;
the previous table is unchanged``: what was wrong, not what to do.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner

from qzgeo._errors import OutputError
from qzgeo.cli.main import cli
from qzgeo.io.postgis import write_postgis_layer

pytestmark = pytest.mark.postgis
Sql = Callable[..., list[tuple[object, ...]]]


@pytest.fixture
def reader(pg_uri: str, pg_sql: Sql) -> Iterator[str]:
    """The test database's URI as a new role that may log in and read, not create."""
    role = f"ro_{uuid.uuid4().hex[:10]}"
    pg_sql(f"CREATE ROLE {role} LOGIN")
    parts = urlsplit(pg_uri)
    host = parts.netloc.rsplit("@", 1)[-1]
    try:
        yield urlunsplit(parts._replace(netloc=f"{role}@{host}"))
    finally:
        pg_sql(f"DROP OWNED BY {role}; DROP ROLE {role}")


def _gdf() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"宗地代码": ["007"]}, geometry=[shapely.box(108.6, 21.9, 108.61, 21.91)], crs="EPSG:4490"
    )


def test_no_create_privilege_names_the_grant(
    reader: str, pg_schema: str, pg_sql: Sql, tmp_path: Path
) -> None:
    pg_sql(f"GRANT USAGE ON SCHEMA {pg_schema} TO {reader.split('//')[1].split('@')[0]}")
    with pytest.raises(OutputError) as info:
        write_postgis_layer(_gdf(), f"{reader}?table={pg_schema}.地块")
    msg = str(info.value)
    role = reader.split("//")[1].split("@")[0]
    assert "permission denied" in msg
    # there was no table of that name: nothing was left "unchanged"
    assert msg.endswith("no table was written") and "previous" not in msg
    assert f'GRANT CREATE ON SCHEMA "{pg_schema}" TO "{role}"' in msg
    assert pg_sql(f"SELECT count(*) FROM pg_tables WHERE schemaname = '{pg_schema}'") == [(0,)]
    gpkg = tmp_path / "in.gpkg"
    _gdf().to_file(gpkg)
    result = CliRunner().invoke(cli, ["convert", str(gpkg), f"{reader}?table={pg_schema}.地块"])
    assert result.exit_code == 2, result.output
    assert "GRANT CREATE ON SCHEMA" in result.output and "Traceback" not in result.output


class _LockTimeoutError(Exception):
    sqlstate = "55P03"


@pytest.mark.parametrize("table", ["Parcels", "宗地"])
def test_lock_timeout_query_runs_for_any_table_name(
    pg_uri: str, pg_schema: str, pg_sql: Sql, table: str
) -> None:
    """The query offered to find the session holding a table is SQL that runs: the table
    was put unquoted into '...'::regclass, which folds Parcels to parcels (an error)."""
    from qzgeo.io.postgis_conn import lock_timeout_message
    from qzgeo.io.postgis_uri import parse_postgis_uri

    pg_sql(f'CREATE TABLE {pg_schema}."{table}" (id integer)')
    src = parse_postgis_uri(f"{pg_uri}?table={pg_schema}.{table}")
    msg = lock_timeout_message(_LockTimeoutError(), src, 30.0)
    assert msg is not None
    query = msg[msg.index("(SELECT pid") + 1 : msg.index(")) and run") + 1]
    assert pg_sql(query) == []
