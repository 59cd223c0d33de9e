"""Connections to PostGIS, shared by the reader (:mod:`qzgeo.io.postgis_read`) and the writer
(:mod:`qzgeo.io.postgis`): one short-lived connection per call, and database errors as
messages that never show the password."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qzgeo._errors import InputError
from qzgeo.io.postgis_uri import PostgisSource, require_postgis_extras

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

__all__ = ["connect", "db_reason", "engine_for", "require_postgis"]


def engine_for(src: PostgisSource) -> Engine:
    """An engine for ``src`` that keeps no connection open between calls."""
    sa = require_postgis_extras()
    # libpq waits forever for an unreachable host by default.
    connect_args = {} if "connect_timeout" in dict(src.options) else {"connect_timeout": 10}
    # NullPool: one short-lived connection per call, nothing left open between CLI steps.
    return sa.create_engine(src.url, poolclass=sa.pool.NullPool, connect_args=connect_args)


def connect(engine: Engine, src: PostgisSource) -> Connection:
    """A connection of ``engine``, or an InputError saying what to check."""
    sa = require_postgis_extras()
    try:
        return engine.connect()
    except sa.exc.DBAPIError as exc:
        msg = (
            f"cannot connect to PostGIS at {src.server}: {db_reason(exc, src)}; check host, "
            "port, database and credentials (PGPASSWORD or ~/.pgpass)"
        )
        raise InputError(msg) from None


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
