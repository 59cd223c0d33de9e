"""PostGIS tables as layer sources and as analysis outputs.

Tables are named by ``postgresql://`` URIs (see :mod:`qzgeo.io.postgis_uri`); they are read by
:mod:`qzgeo.io.postgis_read` (:func:`read_postgis_layer` is re-exported here) and written here.
The optional extra ``qzgeo[postgis]`` (psycopg 3, SQLAlchemy 2, GeoAlchemy2) is imported only
when a table is read or written.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import shapely
from pyproj import CRS

from qzgeo._errors import CRSError, InputError, OutputError, QzgeoError
from qzgeo.geo.crs_twin import gk_twin
from qzgeo.io.postgis_conn import (
    connect,
    db_reason,
    engine_for,
    lock_timeout_message,
    require_postgis,
    set_lock_timeout,
)
from qzgeo.io.postgis_ids import id_column
from qzgeo.io.postgis_read import read_postgis_layer
from qzgeo.io.postgis_uri import (
    MAX_IDENTIFIER_BYTES,
    PostgisSource,
    parse_postgis_uri,
    require_postgis_extras,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

__all__ = ["read_postgis_layer", "write_postgis_layer", "write_postgis_layers"]

_IF_EXISTS = ("replace", "fail", "append")
#: Start of the comment qzgeo puts on every table it writes: only such tables are replaced.
OWNER_MARK = "qzgeo:"
_OWNER_COMMENT = f"{OWNER_MARK} written by qzgeo; replaced by its next run"


def write_postgis_layer(
    gdf: gpd.GeoDataFrame, uri: str, *, if_exists: str = "replace", keep_ids: bool = False
) -> str | None:
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
    keep_ids : bool
        Make the index (the source's feature ids, as :func:`qzgeo.io.vector.read_layer` gives
        them) the new table's primary key, so that reading the table names its rows as the
        source did: a column that holds the same values (a table's own key), else a new
        first column ``ogc_fid`` (the name ``ogr2ogr`` gives the ids it writes). Not with
        ``"append"``.

    Returns
    -------
    str or None
        The primary key column written, with ``keep_ids``.
    """
    return write_postgis_layers([(gdf, uri)], if_exists=if_exists, keep_ids=keep_ids)[0]


def write_postgis_layers(
    items: Sequence[tuple[gpd.GeoDataFrame, str]],
    *,
    if_exists: str = "replace",
    keep_ids: bool = False,
    geometry_type: str | None = None,
) -> list[str | None]:
    """Write several tables of one database in ONE transaction: all are written, or none.

    Each ``(gdf, uri)`` is written as :func:`write_postgis_layer` would; the URIs must name
    the same server and database (they differ by ``table=``). Every table name and column is
    checked before connecting. Returns the primary key column of each (``keep_ids``).
    ``geometry_type`` (``"MULTIPOLYGON"``) types the geometry column of a table whose data
    has no geometry to tell it (no rows, or only NULL ones).
    """
    if if_exists not in _IF_EXISTS:
        msg = f"if_exists must be one of {', '.join(_IF_EXISTS)}; got {if_exists!r}"
        raise ValueError(msg)
    if keep_ids and if_exists == "append":
        msg = "keep_ids makes a new table's primary key: not with if_exists='append'"
        raise ValueError(msg)
    if not items:
        return []
    prepared: list[tuple[PostgisSource, gpd.GeoDataFrame, str | None]] = []
    for gdf, uri in items:
        src = parse_postgis_uri(uri)
        out, key = _prepare_for_postgis(gdf, src), None
        if keep_ids:
            out, key = id_column(out, src)
        prepared.append((src, out, key))
    first = prepared[0][0]
    if any(src.url != first.url for src, _, _ in prepared):
        msg = "the tables of one write must be in the same PostGIS database"
        raise InputError(msg)
    sa = require_postgis_extras()
    from psycopg import Error as DriverError  # from statements run on the driver's cursor

    engine = engine_for(first)
    current, waits = first, 0.0
    existed: list[bool] = []  # of each table reached: whether it was there before
    try:
        with connect(engine, first) as conn, conn.begin():
            require_postgis(conn, first)
            waits = set_lock_timeout(conn)
            for src, out, key in prepared:
                current = src
                existed.append(_exists(conn, sa, src))
                _write_one(conn, src, out, (if_exists, existed[-1]), key, geometry_type)
    except QzgeoError:
        raise  # already explained; InputError is also a ValueError
    except (sa.exc.DBAPIError, DriverError, ValueError) as exc:
        unchanged = "table is" if len(prepared) == 1 else "tables are all"
        reason = db_reason(exc, current).rstrip(".")
        if "other objects depend on it" in reason:
            reason += " (drop or recreate the dependent views after writing)"
        reason += _privilege_fix(exc, current)
        said = f"could not write PostGIS table {current.qualified} on {current.server}: {reason}"
        said = lock_timeout_message(exc, current, waits) or said
        # a new table's write that failed wrote nothing: no "previous table" to speak of
        kept = f"the previous {unchanged} unchanged" if any(existed) else "no table was written"
        msg = f"{said}; {kept}"
        raise OutputError(msg) from None
    finally:
        engine.dispose()
    return [key for _, _, key in prepared]


def _write_one(
    conn: Connection,
    src: PostgisSource,
    out: gpd.GeoDataFrame,
    mode: tuple[str, bool],
    key: str | None,
    geometry_type: str | None = None,
) -> None:
    """Write ``out`` as ``src``; ``mode``: ``if_exists`` and whether the table exists."""
    if_exists, exists = mode
    _require_srid(conn, src, out)
    if exists and if_exists == "replace":
        _require_owned(conn, src)
    if exists and if_exists == "fail":
        msg = f"PostGIS table {src.qualified} already exists; use if_exists='replace'"
        raise OutputError(msg)
    if exists and if_exists == "append":
        out.to_postgis(src.table, conn, schema=src.schema, if_exists="append")
    else:
        _write_and_swap(conn, out, src, replace=exists, key=key, geometry_type=geometry_type)


def _exists(conn: Connection, sa: Any, src: PostgisSource) -> bool:
    """Whether ``src``'s table is there; its schema must be."""
    insp = sa.inspect(conn)
    if src.schema not in insp.get_schema_names():
        msg = (
            f"schema {src.schema!r} does not exist in {src.server}; create it "
            "(CREATE SCHEMA) or name another one in table=schema.name"
        )
        raise OutputError(msg)
    return bool(insp.has_table(src.table, schema=src.schema))


# --- helpers --------------------------------------------------------------------------------


def _privilege_fix(exc: BaseException, src: PostgisSource) -> str:
    """What to do about PostgreSQL's "permission denied" (SQLSTATE 42501) of a write, or ''."""
    orig = getattr(exc, "orig", None) or exc
    if getattr(orig, "sqlstate", None) != "42501":
        return ""
    role = '"{}"'.format(src.user.replace('"', '""')) if src.user else "YOUR_ROLE"
    schema = src.schema.replace('"', '""')
    return (
        f" (a table is written by a role that may create tables in its schema, and replaced "
        f"by the one that owns it: ask the schema's owner to run GRANT CREATE ON SCHEMA "
        f'"{schema}" TO {role}, or name a schema you may write in table=schema.name)'
    )


def _require_srid(conn: Connection, src: PostgisSource, gdf: gpd.GeoDataFrame) -> None:
    """Refuse an SRID the database's ``spatial_ref_sys`` lacks (a trimmed catalog): the table
    was written, and then PostGIS could not transform it nor QGIS place it."""
    sa = require_postgis_extras()
    srid = int(gdf.crs.to_epsg())
    found = conn.execute(
        sa.text("SELECT 1 FROM spatial_ref_sys WHERE srid = :srid"), {"srid": srid}
    ).first()
    if found is not None:
        return
    msg = (
        f"cannot write PostGIS table {src.qualified} on {src.server}: SRID {srid} "
        f"({gdf.crs.name}) is not in the database's spatial_ref_sys, so PostGIS could not "
        "transform the table nor QGIS place it; restore the row (PostGIS's spatial_ref_sys.sql "
        f"holds it: INSERT INTO spatial_ref_sys ... WHERE srid = {srid}), or write the data in "
        "a CRS the table has (qzgeo convert IN OUT --to-crs EPSG:...)"
    )
    raise OutputError(msg)


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


def _prepare_for_postgis(gdf: gpd.GeoDataFrame, src: PostgisSource) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        msg = f"cannot write PostGIS table {src.qualified}: the data has no CRS; set one first"
        raise CRSError(msg)
    if gdf.crs.to_epsg() is None:
        raise CRSError(_no_epsg_message(gdf.crs, src))
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
    _refuse_mixed_dimensions(out.geometry, src)
    out[out.geometry.name] = _promote_to_multi(out.geometry)
    return out


def _refuse_mixed_dimensions(geoms: gpd.GeoSeries, src: PostgisSource) -> None:
    """A column is 2D or 3D: PostgreSQL refused the other rows ("Column has Z dimension but
    geometry does not") with no fix; said before connecting, with the features."""
    values = geoms.array
    solid = ~(shapely.is_missing(values) | shapely.is_empty(values))
    with_z = shapely.has_z(values) & solid
    flat = solid & ~with_z
    if not (with_z.any() and flat.any()):
        return
    first = ", ".join(str(i) for i in geoms.index[flat][:3])
    msg = (
        f"cannot write PostGIS table {src.qualified}: {int(with_z.sum())} geometries have Z "
        f"coordinates and {int(flat.sum())} do not (feature {first}...), and a PostGIS "
        "column is either 2D or 3D: make them all 2D (ogr2ogr -dim XY OUT IN), or give the "
        "others a Z"
    )
    raise OutputError(msg)


def _no_epsg_message(crs: CRS, src: PostgisSource) -> str:
    """The refusal of a CRS without an EPSG code, with the command-line fix: ``--to-crs``,
    and the GK zone whose parameters it has, offered, never taken (the datum may differ)."""
    msg = (
        f"cannot write PostGIS table {src.qualified}: CRS {crs.name!r} has no EPSG code, "
        "which a PostGIS SRID needs; reproject it as you write it: qzgeo convert IN OUT "
        "--to-crs EPSG:4490 (CGCS2000 lon/lat)"
    )
    twin = gk_twin(crs)
    if twin is not None:
        msg += (
            f", or --to-crs EPSG:{twin} ({CRS.from_epsg(twin).name}), whose projection it has "
            "exactly: if its datum is CGCS2000, that keeps the coordinates as they are (qzgeo "
            "does not assume so: its datum is not named CGCS2000)"
        )
    return msg


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
    conn: Connection,
    gdf: gpd.GeoDataFrame,
    src: PostgisSource,
    *,
    replace: bool,
    key: str | None,
    geometry_type: str | None = None,
) -> None:
    """Write to a fresh table, then drop the old one and rename, all in ``conn``'s transaction."""
    from psycopg import sql

    tmp = f"qzgeo_tmp_{uuid.uuid4().hex[:16]}"
    # geopandas' COPY doubles a '%' in a column name (容积率%) and psycopg's COPY never
    # halves it: such columns are written under stand-in names, then renamed.
    stand_in = {
        c: f"qzgeo_col_{k}"
        for k, c in enumerate(gdf.columns)
        if "%" in c and c != gdf.geometry.name
    }
    gdf.rename(columns=stand_in).to_postgis(
        tmp, conn, schema=src.schema, if_exists="fail", index=False
    )
    geom = gdf.geometry.name
    statements = [
        sql.SQL("ALTER TABLE {} RENAME COLUMN {} TO {}").format(
            sql.Identifier(src.schema, tmp), sql.Identifier(alias), sql.Identifier(name)
        )
        for name, alias in stand_in.items()
    ]
    typmod = _column_type(gdf.geometry, geometry_type)
    if typmod is not None:
        statements.append(
            sql.SQL("ALTER TABLE {} ALTER COLUMN {} TYPE geometry({}, {}) USING {}").format(
                sql.Identifier(src.schema, tmp),
                sql.Identifier(geom),
                sql.SQL(typmod),
                sql.Literal(int(gdf.crs.to_epsg())),
                sql.Identifier(geom),
            )
        )
    if replace:
        statements.append(sql.SQL("DROP TABLE {}").format(sql.Identifier(src.schema, src.table)))
    grants = _grants(conn, src) if replace else []
    statements.append(
        sql.SQL("ALTER TABLE {} RENAME TO {}").format(
            sql.Identifier(src.schema, tmp), sql.Identifier(src.table)
        )
    )
    statements.append(
        sql.SQL("COMMENT ON TABLE {} IS {}").format(
            sql.Identifier(src.schema, src.table), sql.Literal(_OWNER_COMMENT)
        )
    )
    if key is not None:
        statements.append(
            sql.SQL("ALTER TABLE {} ADD PRIMARY KEY ({})").format(
                sql.Identifier(src.schema, src.table), sql.Identifier(key)
            )
        )
    _execute(conn, [*statements, *grants])
    # GeoAlchemy2 named the spatial index after the temporary table; give it its usual name,
    # or the first free one: an old output renamed (zones_2022) keeps idx_zones_geometry.
    index = sql.SQL("ALTER INDEX IF EXISTS {} RENAME TO {}").format(
        sql.Identifier(src.schema, f"idx_{tmp}_{geom}"),
        sql.Identifier(_free_index_name(conn, src.schema, f"idx_{src.table}_{geom}")),
    )
    _execute(conn, [index])


def _column_type(geoms: gpd.GeoSeries, fallback: str | None) -> str | None:
    """The geometry type of a column that geopandas leaves untyped (``geometry(Geometry,
    SRID)``, which QGIS splits into a layer per type, and which takes points into a polygon
    table) though its geometries are of one type: some are NULL, or there are none
    (``fallback``). ``None`` where geopandas types it, or the types are mixed."""
    present = geoms.array[~geoms.isna().to_numpy()]
    if len(present) == len(geoms) > 0:
        return None  # geopandas typed it from the geometries
    kinds = set(shapely.get_type_id(present).tolist())
    if len(kinds) > 1 or shapely.GeometryType.LINEARRING in kinds:  # written as LINESTRING
        return None
    name = shapely.GeometryType(kinds.pop()).name if kinds else fallback
    if name is None:
        return None
    return name + ("Z" if shapely.has_z(present).any() else "")


#: Privileges ``aclexplode`` names on a table.
_PRIVILEGES = frozenset(
    ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN")
)


def _grants(conn: Connection, src: PostgisSource) -> list[Any]:
    """GRANTs that give the new table what others were granted on the one it replaces (the
    map server's read-only role would lose the layer at every run)."""
    from psycopg import sql

    sa = require_postgis_extras()
    rows = conn.execute(
        sa.text(
            "SELECT r.rolname, a.privilege_type, a.is_grantable FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace CROSS JOIN aclexplode(c.relacl) a "
            "LEFT JOIN pg_roles r ON r.oid = a.grantee "
            "WHERE n.nspname = :schema AND c.relname = :table AND a.grantee <> c.relowner"
        ),
        {"schema": src.schema, "table": src.table},
    ).all()
    table = sql.Identifier(src.schema, src.table)
    return [
        sql.SQL("GRANT {} ON {} TO {}{}").format(
            sql.SQL(str(privilege)),
            table,
            sql.Identifier(str(role)) if role is not None else sql.SQL("PUBLIC"),
            sql.SQL(" WITH GRANT OPTION" if grantable else ""),
        )
        for role, privilege, grantable in rows
        if str(privilege) in _PRIVILEGES
    ]


def _execute(conn: Connection, statements: Sequence[Any]) -> None:
    """Run psycopg ``sql`` statements on ``conn``'s transaction, without parameters: a '%'
    in a name (容积率%) is then no placeholder, as it is through SQLAlchemy."""
    raw = conn.connection.driver_connection
    assert raw is not None  # an open connection has its driver's
    with raw.cursor() as cur:
        for stmt in statements:
            cur.execute(stmt)


def _free_index_name(conn: Connection, schema: str, wanted: str) -> str:
    """``wanted``, else ``wanted_2``, ``wanted_3``...: the first name not taken in ``schema``,
    cut to PostgreSQL's 63 bytes (which would cut two long names to the same one)."""
    sa = require_postgis_extras()
    taken = set(
        conn.execute(
            sa.text(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = :schema"
            ),
            {"schema": schema},
        ).scalars()
    )
    n = 1
    while True:
        tail = f"_{n}" if n > 1 else ""
        room = MAX_IDENTIFIER_BYTES - len(tail.encode())
        name = wanted.encode()[:room].decode("utf-8", errors="ignore") + tail
        if name not in taken:
            return name
        n += 1
