"""PostGIS ``numeric`` columns that a float cannot hold, read as PostgreSQL's text of them;
integer columns with NULLs kept integers.

pandas turns every ``numeric`` into a float64: 15 significant digits survive, no more. A
19-digit parcel number kept as ``numeric(19,0)`` (what a DBF ``N(19,0)`` field often becomes
once loaded) lost its last digits in every output, silently. Such a column is read as text
instead, digit for digit, with a notice: ``numeric(p, 0)`` with ``p`` over 15 always (codes);
an unconstrained ``numeric``, or a ``numeric(p, s)`` with ``p`` over 15 and decimals (ArcGIS
keeps a Double as ``numeric(38,8)``), when one of its values does not survive the round trip
through a float8.

An integer column with a NULL comes out of pandas as floats too (a ``bigint`` 宗地代码 of 19
digits rounded to 16, 4507020010010000001 and …002 both written as 4507020010009999872). A
nullable ``bigint`` is read as text beside itself, and such columns become pandas' nullable
integers, digit for digit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from qzgeo.io.postgis_uri import PostgisSource, require_postgis_extras
from qzgeo.notices import Notice, Notices, attach_notices, notices_of

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

__all__ = [
    "FLOAT_DIGITS",
    "integer_columns",
    "nullable_integers",
    "read_as_text",
    "text_columns",
    "wide_numerics",
]

#: Significant decimal digits every float64 keeps (DBL_DIG).
FLOAT_DIGITS = 15
#: Prefix of the label a numeric column is read as text under, before it takes its place.
_LABEL = "qzgeo:text:"


def wide_numerics(conn: Connection, src: PostgisSource) -> dict[str, str]:
    """``{column: declared type}`` of the table's numeric columns a float would round."""
    sa = require_postgis_extras()
    rows = conn.execute(
        sa.text(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), "
            "information_schema._pg_numeric_precision(a.atttypid, a.atttypmod), "
            "information_schema._pg_numeric_scale(a.atttypid, a.atttypmod) "
            "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :schema AND c.relname = :table AND a.attnum > 0 "
            "AND NOT a.attisdropped AND a.atttypid = 'numeric'::regtype ORDER BY a.attnum"
        ),
        {"schema": src.schema, "table": src.table},
    ).all()
    table = sa.table(src.table, schema=src.schema)
    out = {}
    for name, declared, precision, scale in rows:
        if precision is not None and int(precision) <= FLOAT_DIGITS:
            continue
        if precision is not None and not scale:  # numeric(19,0): codes, text as they are
            out[str(name)] = str(declared)
            continue
        # unconstrained, or quantities declared wide (ArcGIS's numeric(38,8) for a Double):
        # text only if a value does not survive a float8
        col = sa.column(str(name))
        lossy = sa.select(sa.literal(1)).select_from(table)
        lossy = lossy.where(sa.cast(sa.cast(col, sa.Float(53)), sa.Numeric) != col)
        if conn.execute(sa.select(sa.exists(lossy))).scalar_one():
            out[str(name)] = str(declared)
    return out


#: pandas' nullable integer dtype of each PostgreSQL integer type.
_NULLABLE = {"smallint": "Int16", "integer": "Int32", "bigint": "Int64"}


def nullable_integers(conn: Connection, src: PostgisSource) -> dict[str, str]:
    """``{column: type}`` of the table's integer columns that may hold NULL."""
    sa = require_postgis_extras()
    rows = conn.execute(
        sa.text(
            "SELECT a.attname, format_type(a.atttypid, NULL) FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :schema AND c.relname = :table AND a.attnum > 0 "
            "AND NOT a.attisdropped AND NOT a.attnotnull "
            "AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype) "
            "ORDER BY a.attnum"
        ),
        {"schema": src.schema, "table": src.table},
    ).all()
    return {str(name): str(declared) for name, declared in rows}


def read_as_text(columns: dict[str, str]) -> list[Any]:
    """The select items that read ``columns`` as text, beside ``*`` (of integer columns, the
    ``bigint`` ones: a float holds every ``integer`` and ``smallint`` exactly)."""
    sa = require_postgis_extras()
    return [
        sa.cast(sa.column(c), sa.Text).label(_LABEL + c)
        for c, t in columns.items()
        if t not in _NULLABLE or t == "bigint"
    ]


def integer_columns(gdf: gpd.GeoDataFrame, columns: dict[str, str]) -> gpd.GeoDataFrame:
    """Make each of ``columns`` (:func:`nullable_integers`) that pandas read as floats (it
    holds a NULL) nullable integers, from its text for a ``bigint``."""
    for c, t in columns.items():
        text = gdf.pop(_LABEL + c) if t == "bigint" else None
        if c not in gdf.columns or gdf[c].dtype.kind != "f":
            continue
        if text is None:  # a float holds every integer and smallint exactly
            gdf[c] = gdf[c].astype(_NULLABLE[t])
        else:
            digits = [None if pd.isna(v) else int(v) for v in text]
            gdf[c] = pd.Series(digits, index=gdf.index, dtype=_NULLABLE[t])
    return gdf


def text_columns(
    gdf: gpd.GeoDataFrame, columns: dict[str, str], src: PostgisSource
) -> gpd.GeoDataFrame:
    """Put the text of each of ``columns`` in its place, with a notice naming them."""
    if not columns:
        return gdf
    for c in columns:
        gdf[c] = gdf.pop(_LABEL + c).astype(object)
    listed = ", ".join(f"{c} ({t})" for c, t in columns.items())
    msg = (
        f"PostGIS table {src.qualified}: {listed} hold more significant digits than a float "
        f"keeps ({FLOAT_DIGITS}); read as text, digit for digit (cast them to bigint or to "
        "numeric(15, s) in the table if they are quantities)"
    )
    notes = notices_of(gdf)  # beside those of the read (a table without a key, say)
    notes.extend(Notices([Notice(msg, source=src.qualified)]))
    attach_notices(gdf, notes)
    return gdf
