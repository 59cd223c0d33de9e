"""PostGIS columns of types no output format holds, read as PostgreSQL's text of them.

psycopg hands an ``interval`` to pandas as a timedelta, which no GDAL writer takes (pyogrio
raised ``NotImplementedError`` from .shp, .geojson and .fgb, and the GeoPackage writer refused
it naming neither the table nor a fix); a ``json``, ``jsonb`` or ``hstore`` becomes a Python
dict (a bare ``KeyError`` from the GeoPackage writer), a ``uuid`` a UUID object (16 raw bytes in
a GeoPackage), a ``bytea`` bytes (Python's ``b'\\x01'`` in a Shapefile), an array a list
(Python's ``['x', 'y']``), a ``timetz`` a time whose offset some writers drop. Such columns are
read as ``column::text`` instead, as ``ogr2ogr`` reads them, with a notice naming the table,
each column and its type, and the fix: a view that casts them as the user wants them.

Kept as they are: integers, floats, ``numeric`` (see :mod:`qzgeo.io.postgis_numeric`),
booleans, text of every kind (``varchar``, ``char``, ``citext``...), enums, ``date``,
``timestamp``, ``timestamptz`` and PostGIS' own types, but for a geometry or geography column
beside the one read as geometry: it is read as its WKT (``ST_AsText``), not as hex EWKB. A
domain counts as its base type.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import geopandas as gpd

from qzgeo._errors import InputError
from qzgeo.io.postgis_uri import PostgisSource, require_postgis_extras
from qzgeo.notices import Notice, Notices, attach_notices, notices_of

if TYPE_CHECKING:
    from pyproj import CRS
    from sqlalchemy.engine import Connection

__all__ = ["column_items", "other_types_as_text", "read_frame"]

#: ``pg_type.typname`` of the types every writer holds (or qzgeo handles elsewhere).
_KEPT = frozenset(
    (
        *("int2", "int4", "int8", "float4", "float8", "numeric", "bool", "oid"),
        *("date", "timestamp", "timestamptz"),
        *("geometry", "geography", "box2d", "box3d", "raster"),
    )
)
#: Prefix of the label a column is read as text under, before it takes its own name back.
_LABEL = "qzgeo:as_text:"


#: Types of a second geometry column: its hex EWKB is no use to anyone; read as WKT.
_SHAPES = frozenset(("geometry", "geography"))


def column_items(
    conn: Connection, src: PostgisSource, geom_col: str
) -> tuple[list[Any], dict[str, str]]:
    """The select items that read the table (``*`` when every type is kept), and
    ``{column: declared type}`` of the columns they read as text (a geometry or geography
    column other than ``geom_col`` as its WKT)."""
    sa = require_postgis_extras()
    rows = conn.execute(
        sa.text(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), b.typname, b.typtype, "
            "b.typcategory FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_type t ON t.oid = a.atttypid "
            "JOIN pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype "
            "ELSE t.oid END "
            "WHERE n.nspname = :schema AND c.relname = :table AND a.attnum > 0 "
            "AND NOT a.attisdropped ORDER BY a.attnum"
        ),
        {"schema": src.schema, "table": src.table},
    ).all()
    as_text = {
        str(name): str(declared)
        for name, declared, base, kind, category in rows
        if (str(base) not in _KEPT and str(kind) != "e" and str(category) != "S")
        or (str(base) in _SHAPES and str(name) != geom_col)
    }
    if not as_text:
        return [sa.text("*")], {}
    shapes = {str(r[0]) for r in rows if str(r[2]) in _SHAPES}

    def item(c: str) -> Any:
        if c not in as_text:
            return sa.column(c)
        text = sa.func.ST_AsText(sa.column(c)) if c in shapes else sa.cast(sa.column(c), sa.Text)
        return text.label(_LABEL + c)

    items = [item(str(r[0])) for r in rows]
    return items, as_text


def other_types_as_text(
    gdf: gpd.GeoDataFrame, columns: dict[str, str], src: PostgisSource
) -> gpd.GeoDataFrame:
    """Give each of ``columns`` (read by :func:`column_items`) its name back, with a notice."""
    if not columns:
        return gdf
    gdf = gdf.rename(columns={_LABEL + c: c for c in columns})
    listed = ", ".join(f"{c} ({t})" for c, t in columns.items())
    msg = (
        f"PostGIS table {src.qualified}: {listed} are of types that GIS formats do not hold; "
        "read as PostgreSQL's text of them (column::text; a geometry or geography column "
        "other than the one read as geometry: its WKT, ST_AsText); to have them otherwise, read a "
        "view that casts them (an interval's seconds: extract(epoch FROM column); a field of a "
        "json: column ->> 'key'; an array: array_to_string(column, ';'))"
    )
    notes = notices_of(gdf)  # beside those of the read (a table without a key, say)
    notes.extend(Notices([Notice(msg, source=src.qualified)]))
    attach_notices(gdf, notes)
    return gdf


def read_frame(
    query: Any, conn: Connection, src: PostgisSource, geom_col: str, crs: CRS
) -> gpd.GeoDataFrame:
    """``gpd.read_postgis``; curved geometries (CURVEPOLYGON, MULTISURFACE) and 3D surfaces
    (POLYHEDRALSURFACE, TIN, TRIANGLE), which shapely does not read, are refused with the fix
    instead of a traceback."""
    from shapely.errors import GEOSException

    try:
        return gpd.read_postgis(query, conn, geom_col=geom_col, crs=crs)
    except GEOSException as exc:
        if "Unknown WKB type" not in str(exc):
            raise
        g = geom_col
        msg = (
            f"PostGIS table {src.qualified} holds 3D surfaces in {g!r} (POLYHEDRALSURFACE, "
            "TIN or TRIANGLE: a CityGML or terrain import), which qzgeo does not read; read a "
            "view of their footprints: CREATE VIEW ... AS SELECT <columns>, CASE WHEN "
            f"GeometryType({g}) IN ('POLYHEDRALSURFACE', 'TIN', 'TRIANGLE') THEN (SELECT "
            "ST_Multi(ST_CollectionExtract(ST_Union(ST_MakePolygon(ST_ExteriorRing("
            f"ST_Force2D(d.geom)))), 3)) FROM ST_Dump({g}) d) ELSE {g} END AS {g} FROM ..."
        )
        raise InputError(msg) from None
    except NotImplementedError:
        msg = (
            f"PostGIS table {src.qualified} holds curved geometries in {geom_col!r} "
            "(CURVEPOLYGON, MULTISURFACE... with arcs), which qzgeo does not read; read a "
            f"view that makes them straight segments: CREATE VIEW ... AS SELECT <columns>, "
            f"ST_CurveToLine({geom_col}) AS {geom_col} FROM ..."
        )
        raise InputError(msg) from None
