"""A GeoDataFrame as bytes and back, exactly: Arrow IPC for the columns, WKB for the geometry.

For :mod:`qzgeo.cache_store` (no pickle: reading a cache executes nothing). The attribute
columns and the index go through Arrow with pandas' metadata (dtypes, index, names restored);
the geometry as ISO WKB (Z and M kept); the CRS as the text it was made from
(``CRS.srs``, e.g. ``"EPSG:4490"``) and ``attrs`` as JSON. :func:`same_frame` tells whether
a round trip gave back exactly what went in: callers cache only what passes it.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

__all__ = ["frame_from_bytes", "frame_to_bytes", "same_frame"]

_GEOM = "__qzgeo_wkb"
_META = b"qzgeo"
# M coordinates need GEOS 3.12 in WKB; older GEOS have none to keep.
_DIMS: Literal[3, 4] = 4 if shapely.geos_version >= (3, 12, 0) else 3


def frame_to_bytes(gdf: gpd.GeoDataFrame) -> bytes:
    """``gdf`` as one Arrow IPC stream (raises ``ValueError``/``TypeError``/Arrow errors for
    what it cannot hold: a second geometry column, mixed-type object columns, ...)."""
    name = gdf.geometry.name
    if _GEOM in gdf.columns:
        msg = f"a column is named {_GEOM!r}"
        raise ValueError(msg)
    meta = {
        "geometry": name,
        "position": list(gdf.columns).index(name),
        "crs": None if gdf.crs is None else gdf.crs.srs,
        "attrs": gdf.attrs,
    }
    plain = pd.DataFrame(gdf).drop(columns=[name])
    table = pa.Table.from_pandas(plain, preserve_index=None)  # a RangeIndex stays one
    wkb = shapely.to_wkb(np.asarray(gdf.geometry.values), output_dimension=_DIMS, flavor="iso")
    table = table.append_column(pa.field(_GEOM, pa.binary()), pa.array(wkb, type=pa.binary()))
    schema_meta = {**(table.schema.metadata or {}), _META: json.dumps(meta).encode("utf-8")}
    table = table.replace_schema_metadata(schema_meta)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def frame_from_bytes(data: bytes) -> gpd.GeoDataFrame:
    """The GeoDataFrame :func:`frame_to_bytes` wrote (raises on anything else)."""
    table = pa.ipc.open_stream(pa.py_buffer(data)).read_all()
    meta = json.loads(table.schema.metadata[_META])
    wkb = table.column(_GEOM).to_numpy(zero_copy_only=False)
    plain = table.drop_columns([_GEOM]).to_pandas()
    geoms = gpd.GeoSeries(shapely.from_wkb(wkb), index=plain.index, crs=meta["crs"])
    plain.insert(int(meta["position"]), meta["geometry"], geoms)
    out = gpd.GeoDataFrame(plain, geometry=meta["geometry"])
    out.attrs = meta["attrs"]
    return out


def same_frame(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> bool:
    """Whether ``a`` and ``b`` are the same: columns, dtypes, index, values, geometry bytes and
    types, CRS (its text and WKT) and ``attrs``."""
    try:
        if type(a) is not type(b) or list(a.columns) != list(b.columns):
            return False
        if a.geometry.name != b.geometry.name or a.attrs != b.attrs:
            return False
        if (a.crs is None) != (b.crs is None) or (
            a.crs is not None and (a.crs.srs != b.crs.srs or a.crs.to_wkt() != b.crs.to_wkt())
        ):
            return False
        ga, gb = np.asarray(a.geometry.values), np.asarray(b.geometry.values)
        if not np.array_equal(shapely.get_type_id(ga), shapely.get_type_id(gb)):
            return False
        if _wkb_list(ga) != _wkb_list(gb):
            return False
        name = a.geometry.name
        pd.testing.assert_frame_equal(
            pd.DataFrame(a).drop(columns=[name]),
            pd.DataFrame(b).drop(columns=[name]),
            check_exact=True,
            check_index_type=True,
            check_column_type=True,
            check_frame_type=True,
            check_names=True,
            check_flags=True,
        )
    except (AssertionError, ValueError, TypeError):
        return False
    return True


def _wkb_list(geoms: Any) -> list[bytes | None]:
    return list(shapely.to_wkb(geoms, output_dimension=_DIMS, flavor="iso"))
