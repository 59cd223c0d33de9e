"""The source's feature ids as the primary key of a table qzgeo writes.

``qzgeo convert parcels.gpkg postgresql://...`` wrote a table without a key and without the
GeoPackage's fids: ``qzgeo analyze`` on that table then named its rows 0, 1, ... (with a
warning), and ``source_fid`` no longer matched the GeoPackage. The ids (the frame's index, as
:func:`qzgeo.io.vector.read_layer` gives them) are written as the key: the column that already
holds them (a table's own key, ``宗地代码`` or ``gid``, converted to another table), else a new
first column ``ogc_fid``, the name ``ogr2ogr`` gives the feature ids it writes to PostgreSQL.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from qzgeo._errors import OutputError
from qzgeo.io.postgis_uri import PostgisSource

__all__ = ["ID_COLUMN", "id_column"]

#: The column the feature ids are written to when no column holds them already.
ID_COLUMN = "ogc_fid"


def id_column(gdf: gpd.GeoDataFrame, src: PostgisSource) -> tuple[gpd.GeoDataFrame, str]:
    """``gdf`` with its index as a column, and that column's name: the primary key to give
    the table ``src``.

    Examples
    --------
    >>> from shapely import Point
    >>> from qzgeo.io.postgis_uri import parse_postgis_uri
    >>> src = parse_postgis_uri("postgresql://u@h/db?table=p")
    >>> g = gpd.GeoDataFrame({"名称": ["a"]}, geometry=[Point(0, 0)], index=[17])
    >>> out, key = id_column(g, src)
    >>> key, list(out.columns), out[key].tolist()
    ('ogc_fid', ['ogc_fid', '名称', 'geometry'], [17])
    >>> g["gid"] = [17]
    >>> id_column(g, src)[1]
    'gid'
    """
    ids = gdf.index
    if ids.hasnans or not ids.is_unique:
        repeated = ids[ids.duplicated()].unique()[:3].tolist()
        msg = (
            f"cannot write PostGIS table {src.qualified} keyed by the features' ids: they "
            f"repeat or are missing ({repeated or 'NULL'}...); convert to a GeoPackage first, "
            "which numbers the features afresh"
        )
        raise OutputError(msg)
    for c in gdf.columns:
        if c != gdf.geometry.name and _holds(gdf[c], ids):
            return gdf, str(c)
    taken = {str(c).casefold() for c in gdf.columns}
    name, n = ID_COLUMN, 2
    while name.casefold() in taken:
        name, n = f"{ID_COLUMN}_{n}", n + 1
    out = gdf.copy()
    out.insert(0, name, ids.to_numpy())
    return out, name


def _holds(column: pd.Series, ids: pd.Index) -> bool:
    """Whether ``column`` holds ``ids``, row for row and of the same kind (integer or not)."""
    if column.isna().any() or (column.dtype.kind in "iu") != (ids.dtype.kind in "iu"):
        return False
    return bool(pd.Index(column).equals(ids))
