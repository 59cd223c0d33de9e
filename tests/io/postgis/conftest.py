"""A PostGIS server for the tests: $QZGEO_TEST_PG_URI, else a throwaway local cluster, else skip.

With ``QZGEO_REQUIRE_POSTGIS=1`` (or ``CI`` set) a missing server fails the run instead of
skipping it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import ROOT

SCRIPT = ROOT / ".ci" / "start_postgis.sh"
INITDB = Path("/usr/lib/postgresql/15/bin/initdb")


def _unavailable(reason: str) -> None:
    if os.environ.get("QZGEO_REQUIRE_POSTGIS") == "1" or os.environ.get("CI"):
        pytest.fail(f"PostGIS tests cannot run in CI: {reason}; set QZGEO_TEST_PG_URI")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def pg_uri() -> Iterator[str]:
    """URI of an empty PostGIS database (no ``?table=``)."""
    pytest.importorskip("geoalchemy2")
    pytest.importorskip("psycopg")
    if uri := os.environ.get("QZGEO_TEST_PG_URI"):
        yield uri
        return
    if not INITDB.exists() or shutil.which("bash") is None:
        _unavailable(f"no QZGEO_TEST_PG_URI and no {INITDB}")
    # /tmp rather than pytest's tmp_path: the cluster may run as user postgres, who cannot
    # enter root's 0700 pytest directories.
    workdir = Path(tempfile.mkdtemp(prefix="qzgeo-pg-")) / "cluster"
    workdir.parent.chmod(0o755)
    args = ["bash", str(SCRIPT), str(workdir), str(_free_port())]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0:
        shutil.rmtree(workdir.parent, ignore_errors=True)
        _unavailable(f"could not start a local PostGIS cluster: {proc.stderr.strip()[-500:]}")
    uri = proc.stdout.strip().rsplit("=", 1)[-1]
    try:
        yield uri
    finally:
        subprocess.run(["bash", str(SCRIPT), "--stop", str(workdir)], capture_output=True)
        shutil.rmtree(workdir.parent, ignore_errors=True)


@pytest.fixture
def pg_schema(pg_uri: str) -> Iterator[str]:
    """A fresh schema for one test, dropped afterwards, so that tests never share tables."""
    import sqlalchemy as sa

    from qzgeo.io.postgis_uri import parse_postgis_uri

    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(
        parse_postgis_uri(f"{pg_uri}?table=x").url, poolclass=sa.pool.NullPool
    )
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield schema
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        engine.dispose()


@pytest.fixture
def pg_sql(pg_uri: str) -> Iterator[object]:
    """Run SQL on the test database: ``pg_sql("SELECT ...", {...})`` returns all rows."""
    import sqlalchemy as sa

    from qzgeo.io.postgis_uri import parse_postgis_uri

    engine = sa.create_engine(
        parse_postgis_uri(f"{pg_uri}?table=x").url, poolclass=sa.pool.NullPool
    )

    def run(statement: str, params: dict[str, object] | None = None) -> list[tuple[object, ...]]:
        with engine.begin() as conn:
            result = conn.execute(sa.text(statement), params or {})
            return [tuple(r) for r in result] if result.returns_rows else []

    yield run
    engine.dispose()
