"""Coordinate transformers built once per process, and a ``to_crs`` that shares them.

Building a :class:`pyproj.Transformer` asks the PROJ database for the operations between two
CRSs: ~0.3 ms within one datum, ~40 ms between two (WGS 84 → CGCS2000, the "ballpark" offset
of every GeoJSON site). geopandas caches its own transformers by CRS object and qzgeo's
checks cached theirs by text, so one site file paid for the same pair twice. Here the cache
is keyed on the CRSs' WKT: ``"EPSG:4490"``, ``CRS.from_epsg(4490)`` and its WKT share one
transformer, and :func:`to_crs` (a site file to storage) uses the one the CRS checks built.

Between two datums the search costs a new process 0.1-0.3 s (PROJ tries every member of the
WGS 84 ensemble before it settles on a no-op), more than the rest of a one-site check. When
the search finds exactly one operation, none of them unavailable for want of a grid, PROJ has
no choice to make at any point and that operation's pipeline *is* the transformer: it is kept
in qzgeo's cache (:mod:`qzgeo.cache_store`, ``transforms/``) under a key of the two CRSs,
pyproj's and PROJ's versions and the PROJ database in use, and later processes build the
transformer from it in ~0.1 ms. Pairs with a choice (several operations, grids that may
arrive) are searched every time, as before.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from pyproj import CRS, Transformer
from pyproj.datadir import get_data_dir
from pyproj.exceptions import ProjError
from pyproj.network import is_network_enabled
from pyproj.transformer import TransformerGroup

from qzgeo.cache_store import cache_off, load_entry, save_entry

__all__ = ["cached_transformer", "to_crs"]


def cached_transformer(src: str | CRS, dst: str | CRS) -> Transformer:
    """``Transformer.from_crs(src, dst, always_xy=True)``, built once per pair of CRSs.

    ``src`` and ``dst`` are CRS objects or user-input strings (``"EPSG:4490"``, WKT); two
    spellings of one CRS (the same WKT) share the transformer.

    Examples
    --------
    >>> cached_transformer("EPSG:4490", CRS.from_epsg(4490)) is cached_transformer(
    ...     CRS.from_epsg(4490).to_wkt(), "EPSG:4490")
    True
    """
    return _transformer(_wkt(src), _wkt(dst))


def _wkt(crs: str | CRS) -> str:
    return crs.to_wkt() if isinstance(crs, CRS) else _wkt_of(crs)


@functools.lru_cache(maxsize=256)
def _wkt_of(text: str) -> str:
    return CRS.from_user_input(text).to_wkt()


#: The cache folder of the transformers' pipelines.
TRANSFORMS = "transforms"


@functools.lru_cache(maxsize=64)
def _transformer(src_wkt: str, dst_wkt: str) -> Transformer:
    key = _pipeline_key(src_wkt, dst_wkt)
    if key is not None:
        hit = load_entry(TRANSFORMS, key)
        if hit is not None and isinstance(hit[0].get("pipeline"), str):
            with contextlib.suppress(ProjError):  # a pipeline this PROJ cannot build: search
                return Transformer.from_pipeline(hit[0]["pipeline"])
    t = Transformer.from_crs(src_wkt, dst_wkt, always_xy=True)
    if key is not None and _the_only_operation(src_wkt, dst_wkt, t):
        save_entry(TRANSFORMS, key, {"pipeline": t.definition}, {})
    return t


def _pipeline_key(src_wkt: str, dst_wkt: str) -> str | None:
    """The cache key of a pair between two datums (within one, the search is ~1 ms: not
    worth a file), or ``None``."""
    if cache_off():
        return None
    datums = [_datum(CRS.from_wkt(w)) for w in (src_wkt, dst_wkt)]
    if None in datums or datums[0] == datums[1]:
        return None
    parts = [
        pyproj.__version__,
        pyproj.proj_version_str,
        str(is_network_enabled()),
        src_wkt,
        dst_wkt,
    ]
    # the database the search read: another PROJ_DATA, or the same one updated, is another key
    for folder in get_data_dir().split(os.pathsep):
        db = Path(folder) / "proj.db"
        try:
            st = db.stat()
        except OSError:
            continue
        parts += [str(db.resolve()), str(st.st_size), str(st.st_mtime_ns)]
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def _datum(crs: CRS) -> str | None:
    geodetic = crs.geodetic_crs
    datum = geodetic.datum if geodetic is not None else None
    return datum.to_wkt() if datum is not None else None


def _the_only_operation(src_wkt: str, dst_wkt: str, t: Transformer) -> bool:
    """Whether ``t`` is the one operation PROJ knows between the two CRSs (none waiting for a
    grid), so that its pipeline alone transforms every point as ``t`` does."""
    group = TransformerGroup(src_wkt, dst_wkt, always_xy=True)
    return (
        len(group.transformers) == 1
        and not group.unavailable_operations
        and group.transformers[0].definition == t.definition
    )


def to_crs(gdf: gpd.GeoDataFrame, crs: str | CRS) -> gpd.GeoDataFrame:
    """``gdf.to_crs(crs)`` through :func:`cached_transformer`: the same coordinates, bit for bit.

    Like geopandas, geometries with Z have it transformed too, and a frame already in ``crs``
    (the exact same definition) is returned as a copy. ``gdf`` must have a CRS.

    Examples
    --------
    >>> g = gpd.GeoDataFrame(geometry=[shapely.Point(117.2, 31.7)], crs="EPSG:4326")
    >>> to_crs(g, "EPSG:4548").geometry.iloc[0].equals_exact(g.to_crs(4548).geometry.iloc[0], 0)
    True
    """
    target = CRS.from_user_input(crs)
    if gdf.crs is None or gdf.crs.is_exact_same(target):
        return gdf.to_crs(target)  # geopandas' own message for no CRS; nothing to transform
    t = cached_transformer(gdf.crs, target)
    data = np.asarray(gdf.geometry.values, dtype=object)
    out = np.empty_like(data)
    has_z = shapely.has_z(data)
    for mask, with_z in ((~has_z, False), (has_z, True)):
        xyz = shapely.get_coordinates(data[mask], include_z=with_z)
        if with_z:
            moved = np.array(t.transform(xyz[:, 0], xyz[:, 1], xyz[:, 2]))
        else:
            moved = np.array(t.transform(xyz[:, 0], xyz[:, 1]))
        out[mask] = shapely.set_coordinates(data[mask].copy(), moved.T)
    result = gdf.copy()
    result[gdf.geometry.name] = gpd.GeoSeries(out, index=gdf.index, crs=target)
    return result.set_crs(target, allow_override=True)
