"""PostGIS tables as layer sources and as analysis outputs.

Tables are named by ``postgresql://`` URIs (see :mod:`qzgeo.io.postgis_uri`). The optional
extra ``qzgeo[postgis]`` (psycopg 3, SQLAlchemy 2, GeoAlchemy2) is imported only when a table
is read or written.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError as PyprojCRSError

from qzgeo._errors import CRSError, InputError, OutputError, QzgeoError
from qzgeo.io.postgis_uri import (
    MAX_IDENTIFIER_BYTES,
    PostgisSource,
    parse_postgis_uri,
    require_postgis_extras,
)
from qzgeo.notices import Notice, Notices, attach_notices

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

__all__ = ["read_postgis_layer", "write_postgis_layer", "write_postgis_layers"]

_IF_EXISTS = ("replace", "fail", "append")
_POSTGIS_CATALOG = frozenset(
    (
        "spatial_ref_sys",
        "geometry_columns",
        "geography_columns",
        "raster_columns",
        "raster_overviews",
    )
)
#: Start of the comment qzgeo puts on every table it writes: only such tables are replaced.
OWNER_MARK = "qzgeo:"
_OWNER_COMMENT = f"{OWNER_MARK} written by qzgeo; replaced by its next run"


def read_postgis_layer(uri: str, *, crs: str | None = None) -> gpd.GeoDataFrame:
    """Read a PostGIS table as a GeoDataFrame.

    The CRS comes from the table's SRID; ``crs`` (the catalog's ``crs``) is used only when the
    SRID is 0, as for files without a CRS.

    Parameters
    ----------
    uri : str
        ``postgresql://user@host:port/db?table=schema.name[&geom=column]``.
    crs : str, optional
        CRS for tables whose geometry has SRID 0, e.g. ``"EPSG:4528"``.

    Returns
    -------
    geopandas.GeoDataFrame
        All columns, ordered by the primary key when the table has one. The index holds the
        feature ids that reports name rows by: the values of an integer primary key of one
        column, else the row positions 0, 1, ... (with a notice saying so).
    """
    src = parse_postgis_uri(uri)
    sa = require_postgis_extras()
    engine = _engine(src)
    try:
        with _connect(engine, src) as conn:
            _require_postgis(conn, src)
            geom_col, srid = _geometry_column(conn, src)
            target_crs = _resolve_crs(conn, src, geom_col, srid, crs)
            table = sa.table(src.table, schema=src.schema)
            query = sa.select(sa.text("*")).select_from(table)
            key = list(
                sa.inspect(conn)
                .get_pk_constraint(src.table, schema=src.schema)
                .get("constrained_columns")
                or []
            )
            if key:
                query = query.order_by(*(sa.column(c) for c in key))
            gdf = gpd.read_postgis(query, conn, geom_col=geom_col, crs=target_crs)
            return _index_by_key(gdf, key, src)
    except sa.exc.DBAPIError as exc:
        msg = f"could not read PostGIS table {src.qualified} on {src.server}: {_reason(exc, src)}"
        raise InputError(msg) from None
    finally:
        engine.dispose()


def write_postgis_layer(gdf: gpd.GeoDataFrame, uri: str, *, if_exists: str = "replace") -> None:
    """Write a GeoDataFrame to a PostGIS table in one transaction.

    ``"replace"`` writes a new table and swaps it for the old one in the same transaction, so
    a failed write leaves the old table untouched, and only a table qzgeo wrote (its comment
    starts with :data:`OWNER_MARK`) is ever replaced; ``"fail"`` refuses an existing table;
    ``"append"`` adds rows (the SRID must match). Polygons are written as MULTIPOLYGON and
    lines as MULTILINESTRING (like ``ogr2ogr -nlt PROMOTE_TO_MULTI``) with the EPSG code of
    ``gdf.crs`` as SRID. The geometry column is named by ``?geom=`` or keeps its name.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Data with a CRS that has an EPSG code (EPSG:4490, EPSG:4528...). Not modified.
    uri : str
        ``postgresql://user@host:port/db?table=schema.name``; the schema must exist.
    if_exists : {"replace", "fail", "append"}
    """
    write_postgis_layers([(gdf, uri)], if_exists=if_exists)


def write_postgis_layers(
    items: Sequence[tuple[gpd.GeoDataFrame, str]], *, if_exists: str = "replace"
) -> None:
    """Write several tables of one database in ONE transaction: all are written, or none.

    Each ``(gdf, uri)`` is written as :func:`write_postgis_layer` would; the URIs must name
    the same server and database (they differ by ``table=``). Every table name and column is
    checked before connecting.
    """
    if if_exists not in _IF_EXISTS:
        msg = f"if_exists must be one of {', '.join(_IF_EXISTS)}; got {if_exists!r}"
        raise ValueError(msg)
    if not items:
        return
    prepared = []
    for gdf, uri in items:
        src = parse_postgis_uri(uri)
        prepared.append((src, _prepare_for_postgis(gdf, src)))
    first = prepared[0][0]
    if any(src.url != first.url for src, _ in prepared):
        msg = "the tables of one write must be in the same PostGIS database"
        raise InputError(msg)
    sa = require_postgis_extras()
    engine = _engine(first)
    current = first
    try:
        with _connect(engine, first) as conn, conn.begin():
            _require_postgis(conn, first)
            for src, out in prepared:
                current = src
                _write_one(conn, sa, src, out, if_exists)
    except QzgeoError:
        raise  # already explained; InputError is also a ValueError
    except (sa.exc.DBAPIError, ValueError) as exc:
        reason = _reason(exc, current).rstrip(".")
        if "other objects depend on it" in reason:
            reason += " (drop or recreate the dependent views after writing)"
        unchanged = "table is" if len(prepared) == 1 else "tables are all"
        msg = (
            f"could not write PostGIS table {current.qualified} on {current.server}: {reason}; "
            f"the previous {unchanged} unchanged"
        )
        raise OutputError(msg) from None
    finally:
        engine.dispose()


def _write_one(
    conn: Connection, sa: Any, src: PostgisSource, out: gpd.GeoDataFrame, if_exists: str
) -> None:
    insp = sa.inspect(conn)
    if src.schema not in insp.get_schema_names():
        msg = (
            f"schema {src.schema!r} does not exist in {src.server}; create it "
            "(CREATE SCHEMA) or name another one in table=schema.name"
        )
        raise OutputError(msg)
    exists = insp.has_table(src.table, schema=src.schema)
    if exists and if_exists == "replace":
        _require_owned(conn, src)
    if exists and if_exists == "fail":
        msg = f"PostGIS table {src.qualified} already exists; use if_exists='replace'"
        raise OutputError(msg)
    if exists and if_exists == "append":
        out.to_postgis(src.table, conn, schema=src.schema, if_exists="append")
    else:
        _write_and_swap(conn, out, src, replace=exists)


# --- helpers --------------------------------------------------------------------------------


def _index_by_key(gdf: gpd.GeoDataFrame, key: list[str], src: PostgisSource) -> gpd.GeoDataFrame:
    """Index ``gdf`` by its integer primary key, so that reports name rows as the table does."""
    if len(key) == 1 and key[0] in gdf.columns and pd.api.types.is_integer_dtype(gdf[key[0]]):
        return gdf.set_index(pd.Index(gdf[key[0]].to_numpy(), name=None))
    why = "no primary key" if not key else f"primary key ({', '.join(key)}) is not one integer"
    msg = (
        f"PostGIS table {src.qualified} has {why}: its rows are named by position (0, 1, ...) "
        f"in reports{'' if key else ', in an order PostgreSQL does not promise'}; add an "
        "integer key (ALTER TABLE ... ADD COLUMN gid serial PRIMARY KEY) to name them by it"
    )
    attach_notices(gdf, Notices([Notice(msg, source=src.qualified)]))
    return gdf


def _require_owned(conn: Connection, src: PostgisSource) -> None:
    """Refuse to replace a table, view or other relation that qzgeo did not write."""
    sa = require_postgis_extras()
    row = conn.execute(
        sa.text(
            "SELECT c.relkind, obj_description(c.oid, 'pg_class') FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :schema AND c.relname = :table"
        ),
        {"schema": src.schema, "table": src.table},
    ).one_or_none()
    if row is None:
        return
    kind, comment = str(row[0]), row[1]
    if kind in ("r", "p") and isinstance(comment, str) and comment.startswith(OWNER_MARK):
        return
    what = "table" if kind in ("r", "p") else "view or other relation"
    msg = (
        f"PostGIS {what} {src.qualified} on {src.server} exists and was not written by qzgeo "
        f"(its comment does not start with {OWNER_MARK!r}); qzgeo replaces only its own "
        "tables: name another table (or prefix) in table=schema.name, or drop or rename that "
        "one yourself if it is an old qzgeo output"
    )
    raise OutputError(msg)


def _engine(src: PostgisSource) -> Engine:
    sa = require_postgis_extras()
    # libpq waits forever for an unreachable host by default.
    connect_args = {} if "connect_timeout" in dict(src.options) else {"connect_timeout": 10}
    # NullPool: one short-lived connection per call, nothing left open between CLI steps.
    return sa.create_engine(src.url, poolclass=sa.pool.NullPool, connect_args=connect_args)


def _connect(engine: Engine, src: PostgisSource) -> Connection:
    sa = require_postgis_extras()
    try:
        return engine.connect()
    except sa.exc.DBAPIError as exc:
        msg = (
            f"cannot connect to PostGIS at {src.server}: {_reason(exc, src)}; check host, port, "
            "database and credentials (PGPASSWORD or ~/.pgpass)"
        )
        raise InputError(msg) from None


def _reason(exc: BaseException, src: PostgisSource) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    if src.password:
        text = text.replace(src.password, "***")
    return text


def _require_postgis(conn: Connection, src: PostgisSource) -> None:
    sa = require_postgis_extras()
    found = conn.execute(
        sa.text("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")
    ).scalar_one_or_none()
    if found is None:
        msg = f"database {src.server} has no PostGIS; run CREATE EXTENSION postgis; in it"
        raise InputError(msg)


def _geometry_column(conn: Connection, src: PostgisSource) -> tuple[str, int]:
    sa = require_postgis_extras()
    insp = sa.inspect(conn)
    if src.table not in insp.get_table_names(schema=src.schema) + insp.get_view_names(
        schema=src.schema
    ):
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
    names = sorted(insp.get_table_names(schema=src.schema) + insp.get_view_names(src.schema))
    names = [n for n in names if n not in _POSTGIS_CATALOG]
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
    conn: Connection, src: PostgisSource, geom_col: str, srid: int, crs: str | None
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
        found = [int(s) for s in rows if s]
        if len(found) > 1:
            msg = (
                f"PostGIS table {src.qualified} mixes SRIDs in {geom_col!r}; fix it with "
                "ST_Transform / UpdateGeometrySRID"
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
    auth = conn.execute(
        sa.text("SELECT auth_name, auth_srid FROM spatial_ref_sys WHERE srid = :srid"),
        {"srid": srid},
    ).one_or_none()
    name, code = (str(auth[0]), int(auth[1])) if auth else ("EPSG", srid)
    try:
        return CRS.from_authority(name, code)
    except PyprojCRSError:
        msg = (
            f"PostGIS table {src.qualified} has SRID {srid} ({name}:{code}), unknown to PROJ; "
            "transform it to an EPSG CRS"
        )
        raise CRSError(msg) from None


def _prepare_for_postgis(gdf: gpd.GeoDataFrame, src: PostgisSource) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        msg = f"cannot write PostGIS table {src.qualified}: the data has no CRS; set one first"
        raise CRSError(msg)
    if gdf.crs.to_epsg() is None:
        msg = (
            f"cannot write PostGIS table {src.qualified}: CRS {gdf.crs.name!r} has no EPSG code; "
            "use to_crs('EPSG:4490')"
        )
        raise CRSError(msg)
    for col in gdf.columns:
        if not isinstance(col, str):
            msg = f"cannot write PostGIS table {src.qualified}: column name {col!r} is not text"
            raise OutputError(msg)
        if len(col.encode("utf-8")) > MAX_IDENTIFIER_BYTES:
            msg = (
                f"cannot write PostGIS table {src.qualified}: column {col!r} is longer than "
                "PostgreSQL's 63 bytes and would be truncated; rename it"
            )
            raise OutputError(msg)
    out = gdf.copy()
    if src.geom is not None and src.geom != out.geometry.name:
        if src.geom in out.columns:
            msg = f"cannot write geometry as {src.geom!r}: the data already has such a column"
            raise OutputError(msg)
        out = out.rename_geometry(src.geom)
    out[out.geometry.name] = _promote_to_multi(out.geometry)
    return out


def _promote_to_multi(geoms: gpd.GeoSeries) -> gpd.GeoSeries:
    values = geoms.array
    kinds = shapely.get_type_id(values)
    out = values.copy()
    polygons = kinds == shapely.GeometryType.POLYGON
    lines = kinds == shapely.GeometryType.LINESTRING
    points = kinds == shapely.GeometryType.POINT
    if polygons.any():
        out[polygons] = [shapely.MultiPolygon([g]) for g in values[polygons]]
    if lines.any():
        out[lines] = [shapely.MultiLineString([g]) for g in values[lines]]
    # Points stay POINT unless mixed with multipoints: a table must have one geometry type.
    if points.any() and (kinds == shapely.GeometryType.MULTIPOINT).any():
        out[points] = [shapely.MultiPoint([g]) for g in values[points]]
    return gpd.GeoSeries(out, index=geoms.index, crs=geoms.crs, name=geoms.name)


def _write_and_swap(
    conn: Connection, gdf: gpd.GeoDataFrame, src: PostgisSource, *, replace: bool
) -> None:
    """Write to a fresh table, then drop the old one and rename, all in ``conn``'s transaction."""
    from psycopg import sql

    tmp = f"qzgeo_tmp_{uuid.uuid4().hex[:16]}"
    gdf.to_postgis(tmp, conn, schema=src.schema, if_exists="fail", index=False)
    geom = gdf.geometry.name
    statements = []
    if replace:
        statements.append(sql.SQL("DROP TABLE {}").format(sql.Identifier(src.schema, src.table)))
    statements += [
        sql.SQL("ALTER TABLE {} RENAME TO {}").format(
            sql.Identifier(src.schema, tmp), sql.Identifier(src.table)
        ),
        # GeoAlchemy2 named the spatial index after the temporary table; use its usual name.
        sql.SQL("ALTER INDEX IF EXISTS {} RENAME TO {}").format(
            sql.Identifier(src.schema, f"idx_{tmp}_{geom}"),
            sql.Identifier(f"idx_{src.table}_{geom}"),
        ),
        sql.SQL("COMMENT ON TABLE {} IS {}").format(
            sql.Identifier(src.schema, src.table), sql.Literal(_OWNER_COMMENT)
        ),
    ]
    raw = conn.connection.driver_connection
    for stmt in statements:
        conn.exec_driver_sql(stmt.as_string(raw))
