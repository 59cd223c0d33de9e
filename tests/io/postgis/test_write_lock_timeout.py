"""Writing to a table another session holds waits at most QZGEO_PG_LOCK_TIMEOUT seconds.

Before, ``qzgeo convert ... postgresql://...?table=T`` (and ``publish --to-postgis``) waited
for ever while another session had read T in an open transaction (QGIS, a psql left in
BEGIN): its DROP TABLE needs the table to itself. Now the write gives up after the timeout
with exit 2 naming the table and the fix, and the table is left as it was.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from support import ROOT

pytestmark = pytest.mark.postgis
Sql = Callable[..., list[tuple[object, ...]]]


def _convert(src: Path, uri: str, **env: str) -> subprocess.CompletedProcess[str]:
    # a subprocess with a timeout: before the fix it never returned
    return subprocess.run(
        [sys.executable, "-m", "qzgeo", "convert", str(src), uri, "--layer", "zones"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        check=False,
    )


def test_a_locked_table_is_exit_2_not_a_wait_for_ever(
    pg_uri: str, pg_schema: str, pg_sql: Sql, minipack: Path
) -> None:
    import sqlalchemy as sa

    from qzgeo.io.postgis_uri import parse_postgis_uri

    gpkg = minipack / "layers" / "mini.gpkg"
    uri = f"{pg_uri}?table={pg_schema}.zones"
    first = _convert(gpkg, uri)
    assert first.returncode == 0, first.stderr
    before = pg_sql(f"SELECT count(*) FROM {pg_schema}.zones")
    engine = sa.create_engine(parse_postgis_uri(uri).url, poolclass=sa.pool.NullPool)
    with engine.connect() as holder:
        holder.execute(sa.text(f"SELECT count(*) FROM {pg_schema}.zones"))  # in a transaction
        res = _convert(gpkg, uri, QZGEO_PG_LOCK_TIMEOUT="1")
        holder.rollback()
    engine.dispose()
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    assert f"PostGIS table {pg_schema}.zones" in res.stderr, res.stderr
    assert "locked by another session" in res.stderr and "waited 1 s" in res.stderr
    assert "QZGEO_PG_LOCK_TIMEOUT=SECONDS" in res.stderr and "pg_stat_activity" in res.stderr
    assert "the previous table is unchanged" in res.stderr
    assert pg_sql(f"SELECT count(*) FROM {pg_schema}.zones") == before
    assert _convert(gpkg, uri).returncode == 0  # free again: written


def test_a_bad_lock_timeout_is_exit_2(pg_uri: str, pg_schema: str, minipack: Path) -> None:
    uri = f"{pg_uri}?table={pg_schema}.zones"
    res = _convert(minipack / "layers" / "mini.gpkg", uri, QZGEO_PG_LOCK_TIMEOUT="soon")
    assert res.returncode == 2, res.stderr
    assert "QZGEO_PG_LOCK_TIMEOUT='soon' is not a number of seconds" in res.stderr, res.stderr
