"""Connections to PostGIS, shared by the reader (:mod:`qzgeo.io.postgis_read`) and the writer
(:mod:`qzgeo.io.postgis`): one short-lived connection per call, and database errors as
messages that never show the password."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from qzgeo._errors import InputError
from qzgeo.io.postgis_uri import PostgisSource, require_postgis_extras

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

__all__ = [
    "LOCK_TIMEOUT_ENV",
    "connect",
    "db_reason",
    "engine_for",
    "lock_timeout_message",
    "require_postgis",
    "set_lock_timeout",
]

#: Seconds a write waits for a table another session holds (an open transaction that read
#: it, QGIS editing it): PostgreSQL waits forever by default, and so did ``--to-postgis``.
LOCK_TIMEOUT_ENV = "QZGEO_PG_LOCK_TIMEOUT"
_LOCK_TIMEOUT_S = 30.0


def engine_for(src: PostgisSource) -> Engine:
    """An engine for ``src`` that keeps no connection open between calls."""
    sa = require_postgis_extras()
    # libpq waits forever for an unreachable host by default.
    options = dict(src.options)
    connect_args: dict[str, object] = {}
    if "connect_timeout" not in options:
        connect_args["connect_timeout"] = 10
    if "client_encoding" not in options:
        # Text as UTF-8 whatever PGCLIENTENCODING says; a SQL_ASCII database is refused below.
        connect_args["client_encoding"] = "UTF8"
    # NullPool: one short-lived connection per call, nothing left open between CLI steps.
    return sa.create_engine(src.url, poolclass=sa.pool.NullPool, connect_args=connect_args)


def connect(engine: Engine, src: PostgisSource) -> Connection:
    """A connection of ``engine``, or an InputError saying what to check."""
    sa = require_postgis_extras()
    try:
        conn = engine.connect()
    except sa.exc.DBAPIError as exc:
        msg = (
            f"cannot connect to PostGIS at {src.server}: {db_reason(exc, src)}; check host, "
            "port, database and credentials (PGPASSWORD or ~/.pgpass)"
        )
        raise InputError(msg) from None
    raw = conn.connection.driver_connection
    encoding = raw.info.parameter_status("server_encoding") if raw is not None else None
    if encoding == "SQL_ASCII" and "client_encoding" not in dict(src.options):
        conn.close()
        msg = (
            f"database {src.server} has encoding SQL_ASCII: PostgreSQL keeps its text as bytes "
            "without knowing their encoding (GBK in many older databases), and qzgeo does not "
            "guess it; name it in the URI, &client_encoding=GBK (or UTF8: the encoding the "
            "text was written in), or move the data into a UTF8 database (createdb -E UTF8)"
        )
        raise InputError(msg)
    return conn


def db_reason(exc: BaseException, src: PostgisSource) -> str:
    """The first line of the database's message, with the password hidden."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    if src.password:
        text = text.replace(src.password, "***")
    return text


def require_postgis(conn: Connection, src: PostgisSource) -> None:
    """Refuse a database without the PostGIS extension, naming the fix."""
    sa = require_postgis_extras()
    found = conn.execute(
        sa.text("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")
    ).scalar_one_or_none()
    if found is None:
        msg = f"database {src.server} has no PostGIS; run CREATE EXTENSION postgis; in it"
        raise InputError(msg)


def _lock_timeout_s() -> float:
    raw = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
    if not raw:
        return _LOCK_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= 86_400:
        msg = f"{LOCK_TIMEOUT_ENV}={raw!r} is not a number of seconds (0 < s <= 86400); e.g. 120"
        raise InputError(msg)
    return value


def set_lock_timeout(conn: Connection) -> float:
    """Make every lock of ``conn``'s transaction wait at most :data:`LOCK_TIMEOUT_ENV` seconds
    (default 30); the seconds."""
    sa = require_postgis_extras()
    seconds = _lock_timeout_s()
    conn.execute(
        sa.text("SELECT set_config('lock_timeout', :ms, true)"), {"ms": f"{seconds * 1000:.0f}"}
    )
    return seconds


def lock_timeout_message(exc: BaseException, src: PostgisSource, seconds: float) -> str | None:
    """What to do when ``exc`` is PostgreSQL's lock timeout (SQLSTATE 55P03) on ``src``."""
    orig = getattr(exc, "orig", None) or exc
    if getattr(orig, "sqlstate", None) != "55P03":
        return None
    return (
        f"PostGIS table {src.qualified} on {src.server} is locked by another session (an open "
        f"transaction that read or edits it, e.g. QGIS or psql): waited {seconds:g} s; "
        "commit or end that session (SELECT pid, usename, state, query FROM pg_stat_activity "
        "WHERE pid IN (SELECT pid FROM pg_locks WHERE relation = "
        f'\'"{src.schema}"."{src.table}"\'::regclass)) '
        f"and run again, or wait longer with {LOCK_TIMEOUT_ENV}=SECONDS"
    )
