"""PostGIS tables as layer sources: read whole, or in chunks of their primary key.

Rows are named (feature ids in reports, ``source_fid`` in outputs) by the table's primary key
when it has one column, integer or text (a 宗地代码 such as ``450702001001JC00001``); a table
without a key (a view) is numbered by position, with a notice; a key of several columns is
refused. A keyed table can be read in chunks: :func:`postgis_key_ranges` cuts it into ranges
of its key (keyset pagination: ``key >= lo AND key < hi ORDER BY key``, never ``OFFSET``,
which reads every skipped row again), each read on its own connection, so that worker
processes read their chunks themselves.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd
from pyproj import CRS
from pyproj.exceptions import CRSError as PyprojCRSError

from qzgeo._errors import CRSError, InputError
from qzgeo.io.guard import current_caps
from qzgeo.io.postgis_conn import connect, db_reason, engine_for, require_postgis
from qzgeo.io.postgis_numeric import (
    integer_columns,
    nullable_integers,
    read_as_text,
    text_columns,
    wide_numerics,
)
from qzgeo.io.postgis_types import column_items, other_types_as_text, read_frame
from qzgeo.io.postgis_uri import PostgisSource, parse_postgis_uri, require_postgis_extras
from qzgeo.notices import Notice, Notices, attach_notices

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

__all__ = [
    "KeyRange",
    "chunk_refusal",
    "postgis_fields",
    "postgis_key_ranges",
    "postgis_keyed_count",
    "read_postgis_layer",
]

_POSTGIS_CATALOG = frozenset(
    (
        "spatial_ref_sys",
        "geometry_columns",
        "geography_columns",
        "raster_columns",
        "raster_overviews",
    )
)
_INTEGERS = frozenset(("smallint", "integer", "bigint"))
#: numpy dtype names of PostgreSQL types, as pyogrio declares a file's fields
#: (see :func:`qzgeo.io.layer_info.declared_fields`).
_DTYPES = {
    **dict.fromkeys(_INTEGERS, "int64"),
    "boolean": "bool",
    "real": "float64",
    "double precision": "float64",
    "date": "datetime64[D]",
}


#: The column a non-integer key is read into as text, then made the index (never written).
_ID = "qzgeo:feature_id"


@dataclass(frozen=True)
class KeyRange:
    """The rows of a table whose primary key is ``>= lo`` and ``< hi`` (``None``: unbounded),
    in key order: one chunk of :func:`postgis_key_ranges`.

    ``rows``: how many the range held when it was planned; reading it checks it still does.
    """

    lo: Any = None
    hi: Any = None
    rows: int | None = None


@dataclass(frozen=True)
class _Key:
    """A table's one-column primary key: its name and whether it is an integer."""

    column: str
    integer: bool


def read_postgis_layer(
    uri: str,
    *,
    crs: str | CRS | None = None,
    features: tuple[KeyRange | int | str, int] | None = None,
) -> gpd.GeoDataFrame:
    """Read a PostGIS table as a GeoDataFrame.

    The CRS comes from the table's SRID; ``crs`` (the catalog's ``crs``) is used only when the
    SRID is 0, as for files without a CRS.

    Parameters
    ----------
    uri : str
        ``postgresql://user@host:port/db?table=schema.name[&geom=column]``.
    crs : str or pyproj.CRS, optional
        CRS for tables whose geometry has SRID 0, e.g. ``"EPSG:4528"``.
    features : (KeyRange or 0, int), optional
        Read only a chunk: ``(KeyRange, count)`` one range of :func:`postgis_key_ranges`;
        ``(0, count)`` the first ``count`` rows in key order.

    Returns
    -------
    geopandas.GeoDataFrame
        All columns, ordered by the primary key when the table has one. The index holds the
        feature ids that reports name rows by: the values of a one-column primary key
        (integers, or text such as a 宗地代码), else the row positions 0, 1, ... (with a
        notice saying so).

    Raises
    ------
    InputError
        No such table, no geometry column, a primary key of several columns, a database
        error; a chunk whose rows changed since it was planned.
    """
    src = parse_postgis_uri(uri)
    sa = require_postgis_extras()
    with _session(src) as conn:
        geom_col, srid = _geometry_column(conn, src)
        target_crs = _resolve_crs(conn, src, geom_col, srid, crs)
        key = _one_key(conn, src)
        wide, ints = wide_numerics(conn, src), nullable_integers(conn, src)
        items, others = column_items(conn, src, geom_col)
        columns: list[Any] = [*items, *read_as_text(wide), *read_as_text(ints)]
        if key is not None and not key.integer:  # ids as PostgreSQL writes the key (numeric
            # keys would come back as floats: 19 digits do not survive that)
            columns.append(sa.cast(sa.column(key.column), sa.Text).label(_ID))
        query = sa.select(*columns).select_from(sa.table(src.table, schema=src.schema))
        if key is not None:
            query = query.order_by(sa.column(key.column))
        query, checked = _chunk_of(query, key, features, src)
        gdf = read_frame(query, conn, src, geom_col, target_crs)
    if checked is not None and len(gdf) != checked.rows:
        msg = (
            f"PostGIS table {src.qualified} changed while it was read in chunks: its rows with "
            f"key from {checked.lo!r} to before {checked.hi!r} were {checked.rows}, now "
            f"{len(gdf)}; run again when no one writes to it, or analyze it without --chunk-rows"
        )
        raise InputError(msg)
    gdf = text_columns(integer_columns(_index_by_key(gdf, key, src), ints), wide, src)
    return other_types_as_text(gdf, others, src)


def postgis_key_ranges(uri: str, rows: int) -> list[KeyRange]:
    """The table cut into ranges of at most ``rows`` rows of its primary key, in key order.

    One query: the key of every ``rows``-th row (``row_number() OVER (ORDER BY key)``) and
    the row count. A ``--max-features`` cap given on the command line caps the whole table.

    Raises
    ------
    InputError
        The table has no one-column primary key (its rows have no order to be read in chunks
        by), or more rows than a ``--max-features`` cap given.
    """
    src = parse_postgis_uri(uri)
    sa = require_postgis_extras()
    with _session(src) as conn:
        _geometry_column(conn, src)
        key = _one_key(conn, src)
        if key is None:
            raise chunk_refusal(uri)
        col = sa.column(key.column)
        inner = (
            sa.select(
                col.label("k"),
                sa.func.row_number().over(order_by=col).label("rn"),
                sa.func.count().over().label("n"),
            )
            .select_from(sa.table(src.table, schema=src.schema))
            .subquery()
        )
        query = sa.select(inner.c.k, inner.c.n).where((inner.c.rn - 1) % rows == 0)
        found = conn.execute(query.order_by(inner.c.rn)).all()
    n = int(found[0][1]) if found else 0
    caps = current_caps()
    if caps.features_given and n > caps.max_features:
        msg = (
            f"PostGIS table {src.qualified} has {n} features, over the cap of "
            f"{caps.max_features} per layer; raise it with --max-features N if the data are "
            "what you expect"
        )
        raise InputError(msg)
    bounds = [r[0] for r in found]
    if not bounds:
        return [KeyRange(None, None, 0)]
    return [
        KeyRange(lo, bounds[k + 1] if k + 1 < len(bounds) else None, min(rows, n - k * rows))
        for k, lo in enumerate(bounds)
    ]


def chunk_refusal(uri: str) -> InputError:
    """The error for a table without a primary key asked to be read in chunks."""
    src = parse_postgis_uri(uri)
    return InputError(
        f"PostGIS table {src.qualified} has no primary key, so its rows have no order to be "
        "read in chunks by (--chunk-rows); give it (or, for a view, the table it selects "
        "from) a one-column key: ALTER TABLE ... ADD COLUMN gid bigserial PRIMARY KEY; or "
        "analyze it without --chunk-rows (read whole)"
    )


def postgis_keyed_count(uri: str) -> int | None:
    """Rows of a table that can be read in chunks (it has a one-column primary key), else
    ``None``."""
    src = parse_postgis_uri(uri)
    sa = require_postgis_extras()
    with _session(src) as conn:
        _geometry_column(conn, src)
        if _one_key(conn, src) is None:
            return None
        table = sa.table(src.table, schema=src.schema)
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def postgis_fields(uri: str) -> tuple[tuple[str, str], ...]:
    """``(column, numpy dtype name)`` of the integer, boolean, float and date columns of a
    table: writers give them back their type where a chunk's NULLs made pandas lose it."""
    src = parse_postgis_uri(uri)
    sa = require_postgis_extras()
    with _session(src) as conn:
        rows = conn.execute(
            sa.text(
                "SELECT a.attname, format_type(a.atttypid, NULL) FROM pg_attribute a "
                "JOIN pg_class c ON c.oid = a.attrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = :schema AND c.relname = :table AND a.attnum > 0 "
                "AND NOT a.attisdropped ORDER BY a.attnum"
            ),
            {"schema": src.schema, "table": src.table},
        ).all()
    return tuple((str(name), _DTYPES[str(t)]) for name, t in rows if str(t) in _DTYPES)


# --- helpers --------------------------------------------------------------------------------


@contextlib.contextmanager
def _session(src: PostgisSource) -> Iterator[Connection]:
    """A connection to a database with PostGIS; database errors become InputErrors."""
    sa = require_postgis_extras()
    engine = engine_for(src)
    try:
        with connect(engine, src) as conn:
            require_postgis(conn, src)
            yield conn
    except sa.exc.DBAPIError as exc:
        msg = f"could not read PostGIS table {src.qualified} on {src.server}: {db_reason(exc, src)}"
        raise InputError(msg) from None
    finally:
        engine.dispose()


def _one_key(conn: Connection, src: PostgisSource) -> _Key | None:
    """The table's primary key, ``None`` without one; a key of several columns is refused."""
    sa = require_postgis_extras()
    rows = conn.execute(
        sa.text(
            "SELECT con.conname, a.attname, format_type(a.atttypid, NULL) FROM pg_constraint con "
            "JOIN pg_class c ON c.oid = con.conrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(con.conkey) "
            "WHERE con.contype = 'p' AND n.nspname = :schema AND c.relname = :table "
            "ORDER BY array_position(con.conkey, a.attnum)"
        ),
        {"schema": src.schema, "table": src.table},
    ).all()
    if not rows:
        return None
    if len(rows) > 1:
        q = ['"' + str(n).replace('"', '""') + '"' for n in (rows[0][0], *(r[1] for r in rows))]
        msg = (  # names quoted: PostgreSQL folds Parcels_pkey to parcels_pkey
            f"PostGIS table {src.qualified} has a primary key of {len(rows)} columns "
            f"({', '.join(str(r[1]) for r in rows)}); qzgeo names each row by one column (its id "
            "in reports and source_fid). Give the table a one-column key: ALTER TABLE ... DROP "
            f"CONSTRAINT {q[0]}, ADD COLUMN gid bigserial PRIMARY KEY, ADD UNIQUE "
            f"({', '.join(q[1:])}); or read a view of it (CREATE VIEW ... AS SELECT * FROM ...): "
            "a view's rows are numbered by position, with a warning"
        )
        raise InputError(msg)
    return _Key(str(rows[0][1]), str(rows[0][2]) in _INTEGERS)


def _chunk_of(
    query: Any,
    key: _Key | None,
    features: tuple[KeyRange | int | str, int] | None,
    src: PostgisSource,
) -> tuple[Any, KeyRange | None]:
    """``query`` limited to the chunk ``features``, and its range if its rows are counted."""
    if features is None:
        return query, None
    sa = require_postgis_extras()
    selector, count = features
    if not isinstance(selector, KeyRange):
        if selector != 0:  # OFFSET would read every skipped row again: ranges of the key
            msg = f"PostGIS tables are read in chunks by key ranges, not by {selector!r}"
            raise ValueError(msg)
        return query.limit(count), None
    if key is None:  # the key was dropped since the chunks were planned
        msg = f"PostGIS table {src.qualified} lost its primary key while it was read in chunks"
        raise InputError(msg)
    col = sa.column(key.column)
    if selector.lo is not None:
        query = query.where(col >= selector.lo)
    if selector.hi is not None:
        query = query.where(col < selector.hi)
    if selector.rows is None:
        return query.limit(count), None
    return query.limit(selector.rows + 1), selector  # one more: a row added is seen


def _index_by_key(gdf: gpd.GeoDataFrame, key: _Key | None, src: PostgisSource) -> gpd.GeoDataFrame:
    """Index ``gdf`` by its primary key, so that reports name rows as the table does."""
    if key is not None:
        ids = gdf[key.column] if key.integer else gdf.pop(_ID)
        return gdf.set_index(pd.Index(ids.to_numpy(dtype=object if not key.integer else None)))
    msg = (
        f"PostGIS table {src.qualified} has no primary key: its rows are named by position "
        "(0, 1, ...) in reports, in an order PostgreSQL does not promise; give it a one-column "
        "key (integer, or text such as a 宗地代码: ALTER TABLE ... ADD PRIMARY KEY (column)) "
        "to name them by it"
    )
    attach_notices(gdf, Notices([Notice(msg, source=src.qualified)]))
    return gdf


def _geometry_column(conn: Connection, src: PostgisSource) -> tuple[str, int]:
    sa = require_postgis_extras()
    insp = sa.inspect(conn)
    if src.table not in _relations(insp, src.schema):
        _raise_missing_table(conn, src)
    rows = conn.execute(
        sa.text(
            "SELECT f_geometry_column, srid FROM geometry_columns "
            "WHERE f_table_schema = :schema AND f_table_name = :table "
            "ORDER BY f_geometry_column"
        ),
        {"schema": src.schema, "table": src.table},
    ).all()
    columns = {str(r[0]): int(r[1]) for r in rows}
    if not columns:
        _refuse_ungranted(conn, src)
        msg = (
            f"PostGIS table {src.qualified} has no geometry column; geography columns are not "
            "read: expose them as geometry in a view (geog::geometry)"
        )
        raise InputError(msg)
    if src.geom is not None:
        if src.geom not in columns:
            msg = (
                f"PostGIS table {src.qualified} has no geometry column {src.geom!r}; "
                f"it has {', '.join(columns)}"
            )
            raise InputError(msg)
        return src.geom, columns[src.geom]
    if len(columns) > 1:
        msg = (
            f"PostGIS table {src.qualified} has {len(columns)} geometry columns "
            f"({', '.join(columns)}); pick one with &geom=NAME"
        )
        raise InputError(msg)
    return next(iter(columns.items()))


def _relations(insp: Any, schema: str) -> list[str]:
    """Tables, views and materialized views of ``schema``: all are read alike."""
    return [
        *insp.get_table_names(schema=schema),
        *insp.get_view_names(schema=schema),
        *insp.get_materialized_view_names(schema=schema),
    ]


def _refuse_ungranted(conn: Connection, src: PostgisSource) -> None:
    """Refuse a table the user may not read: PostGIS's ``geometry_columns`` leaves it out,
    which would otherwise read as "no geometry column"."""
    sa = require_postgis_extras()
    schema_ok, table_ok, user = conn.execute(
        sa.text(
            "SELECT has_schema_privilege(n.oid, 'USAGE'), has_table_privilege(c.oid, 'SELECT'), "
            "current_user FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :schema AND c.relname = :table"
        ),
        {"schema": src.schema, "table": src.table},
    ).one()
    from psycopg import sql

    raw = conn.connection.driver_connection
    who, schema = sql.Identifier(str(user)), sql.Identifier(src.schema)
    table = sql.Identifier(src.schema, src.table)
    grant = None
    if not schema_ok:
        grant = sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, who)
    elif not table_ok:
        grant = sql.SQL("GRANT SELECT ON {} TO {}").format(table, who)
    if grant is not None:
        msg = (
            f"PostGIS table {src.qualified} on {src.server} may not be read by user {user}; "
            f"ask its owner to run: {grant.as_string(raw)}"
        )
        raise InputError(msg)


def _raise_missing_table(conn: Connection, src: PostgisSource) -> None:
    sa = require_postgis_extras()
    insp = sa.inspect(conn)
    schemas = insp.get_schema_names()
    if src.schema not in schemas:
        msg = (
            f"schema {src.schema!r} does not exist in {src.server}"
            f"{_case_hint(src.schema, schemas)}; check table=schema.name"
        )
        raise InputError(msg)
    names = [n for n in sorted(_relations(insp, src.schema)) if n not in _POSTGIS_CATALOG]
    listing = ", ".join(names) if names else "none"
    msg = (
        f"PostGIS table {src.qualified} does not exist in {src.server}"
        f"{_case_hint(src.table, names)}; tables in schema {src.schema!r}: {listing}"
    )
    raise InputError(msg)


def _case_hint(name: str, known: Sequence[str]) -> str:
    """`` (names are case-sensitive: did you mean 'x'?)`` if ``name`` differs only in case."""
    same = [k for k in known if k.lower() == name.lower()]
    return f" (names are case-sensitive: did you mean {same[0]!r}?)" if same else ""


def _resolve_crs(
    conn: Connection, src: PostgisSource, geom_col: str, srid: int, crs: str | CRS | None
) -> CRS:
    sa = require_postgis_extras()
    if srid == 0:
        # An unconstrained `geometry` column reports 0 even when every row carries an SRID.
        table = sa.table(src.table, sa.column(geom_col), schema=src.schema)
        rows = conn.execute(
            sa.select(sa.func.ST_SRID(table.c[geom_col]))
            .where(table.c[geom_col].is_not(None))
            .distinct()
            .limit(2)
        ).scalars()
        # Zeros count: rows without an SRID beside rows with one are not given its CRS.
        found = sorted(int(s or 0) for s in rows)
        if len(found) > 1:
            msg = (
                f"PostGIS table {src.qualified} mixes SRIDs in {geom_col!r} ({found[0]} and "
                f"{found[1]}, at least; 0 is no CRS); a layer has one CRS: fix it with "
                "ST_Transform, or ST_SetSRID for the rows of SRID 0, or read a view that "
                "selects one SRID"
            )
            raise CRSError(msg)
        srid = found[0] if found else 0
    if srid == 0:
        if crs is None:
            msg = (
                f"PostGIS table {src.qualified} has SRID 0 (no CRS); set it with "
                f'`crs = "EPSG:..."` (the right code) in the catalog or --crs, or in the '
                f"database with UpdateGeometrySRID"
            )
            raise CRSError(msg)
        try:
            return CRS.from_user_input(crs)
        except PyprojCRSError:
            msg = f"crs {crs!r} for PostGIS table {src.qualified} is not a CRS; use 'EPSG:4490'"
            raise CRSError(msg) from None
    row = conn.execute(
        sa.text("SELECT auth_name, auth_srid, srtext FROM spatial_ref_sys WHERE srid = :srid"),
        {"srid": srid},
    ).one_or_none()
    auth, code, wkt = row if row is not None else ("EPSG", srid, None)
    with contextlib.suppress(PyprojCRSError):
        if auth is not None and code is not None:
            return CRS.from_authority(str(auth), int(code))
    # A CRS without a known authority (ogr2ogr adds a .prj's own CRS with NULL auth_name) is
    # read from its WKT, as a file with that .prj is.
    with contextlib.suppress(PyprojCRSError):
        if wkt:
            return CRS.from_wkt(str(wkt))
    msg = (
        f"PostGIS table {src.qualified} has SRID {srid} ({auth}:{code}), unknown to PROJ and "
        "without a readable srtext in spatial_ref_sys; transform it to an EPSG CRS"
    )
    raise CRSError(msg)
