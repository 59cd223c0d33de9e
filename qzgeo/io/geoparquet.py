"""GeoParquet files in: read with geopandas (GDAL's Parquet driver is optional)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from qzgeo._errors import InputError

__all__ = ["read_geoparquet"]


def read_geoparquet(path: Path) -> gpd.GeoDataFrame:
    """Read a GeoParquet file; no ``attrs`` come from the file.

    pandas restores the attrs a file stores (``PANDAS_ATTRS``): in one qzgeo converted, the
    notes and encoding of the file it was converted from (earlier versions wrote them), which
    are not this file's.
    """
    try:
        gdf = gpd.read_parquet(path)
    except (OSError, ValueError, TypeError) as exc:
        msg = f"cannot read {path} as GeoParquet: {exc}"
        raise InputError(msg) from exc
    gdf.attrs = {}
    return gdf
