"""GeoParquet files in: read with geopandas (GDAL's Parquet driver is optional)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import shapely

from qzgeo._errors import InputError
from qzgeo.notices import Notices, attach_notices

__all__ = ["read_geoparquet"]


def read_geoparquet(path: Path) -> gpd.GeoDataFrame:
    """Read a GeoParquet file; no ``attrs`` come from the file.

    pandas restores the attrs a file stores (``PANDAS_ATTRS``): in one qzgeo converted, the
    notes and encoding of the file it was converted from (earlier versions wrote them), which
    are not this file's. Geometry columns besides the primary one (GeoParquet allows several:
    DuckDB and Sedona exports, a centroid column) become WKT text, with a note: a layer has
    one geometry, and GDAL writes no second one.
    """
    try:
        gdf = gpd.read_parquet(path)
    except (OSError, ValueError, TypeError) as exc:
        msg = f"cannot read {path} as GeoParquet: {exc}"
        raise InputError(msg) from exc
    gdf.attrs = {}
    others = [
        c
        for c in gdf.columns
        if c != gdf.geometry.name and isinstance(gdf[c].dtype, gpd.array.GeometryDtype)
    ]
    notes = Notices()
    for c in others:
        # every digit (shapely's default rounds to 6 decimals)
        gdf[c] = shapely.to_wkt(gdf[c].array, rounding_precision=-1)
    if others:
        notes.add(
            f"{path.name}: geometry column(s) {', '.join(map(str, others))} besides the "
            f"layer's geometry {gdf.geometry.name!r} are kept as WKT text",
            source=path.name,
        )
    attach_notices(gdf, notes)
    return gdf
