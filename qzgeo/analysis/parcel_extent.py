"""The part of a parcel outside the pack's extent: measured, and counted as neither available
nor constrained.

A pack declares the lon/lat box its plan data cover (``[pack] extent``). Parcels wholly outside
it are refused when they are read (:func:`qzgeo.io.input_checks.enforce_extent`); a parcel that
straddles its edge is kept, with a warning. Outside the box the pack knows nothing: no red
line, no boundary, no zone. Counting that part as available (a pack without a boundary class)
or as constrained (outside a 城镇开发边界 that ends at the box) would be a guess either way, so
it goes to its own column, ``unchecked_m2`` (未核查), and the available and constrained areas,
the class overlaps, ``inside_boundary`` and the conflict flag describe the checked part only.
``area_m2 = available_m2 + constrained_m2 + unchecked_m2`` for every parcel.
"""

from __future__ import annotations

import functools

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import CRS

from qzgeo.analysis.overlay import OverlayPlan, OverlayReport, conflict_flags, overlay_areas
from qzgeo.geo.crs import STORAGE_CRS, cached_transformer

__all__ = ["UNCHECKED", "extent_polygon", "inner_box", "settle_unchecked"]

#: The column holding the m² of a parcel outside the pack extent (未核查).
UNCHECKED = "unchecked_m2"

#: Points per edge of the extent box: < 100 m apart in a pack of a few degrees, where the
#: chord departs from the projected graticule line by well under a millimetre.
_EDGE_POINTS = 2048


@functools.lru_cache(maxsize=16)
def extent_polygon(crs_wkt: str, extent: tuple[float, float, float, float]) -> shapely.Polygon:
    """The lon/lat ``extent`` box as a polygon of the planar CRS ``crs_wkt``.

    Its edges (meridians and parallels) are densified before projecting, since they are
    curves in a Gauss-Krüger plane.

    Examples
    --------
    >>> p = extent_polygon(CRS.from_epsg(4545).to_wkt(), (108.0, 21.0, 109.0, 22.0))
    >>> round(p.area / 1e6)  # km², planar
    11474
    """
    lon0, lat0, lon1, lat1 = extent
    t = np.linspace(0.0, 1.0, _EDGE_POINTS, endpoint=False)
    lon = np.concatenate([lon0 + t * (lon1 - lon0), np.full_like(t, lon1)])
    lat = np.concatenate([np.full_like(t, lat0), lat0 + t * (lat1 - lat0)])
    lon = np.concatenate([lon, lon1 - t * (lon1 - lon0), np.full_like(t, lon0)])
    lat = np.concatenate([lat, np.full_like(t, lat1), lat1 - t * (lat1 - lat0)])
    x, y = cached_transformer(STORAGE_CRS, crs_wkt).transform(lon, lat)
    return shapely.Polygon(np.column_stack([x, y]))


@functools.lru_cache(maxsize=16)
def inner_box(
    crs_wkt: str, extent: tuple[float, float, float, float], *, n: int = 512
) -> tuple[float, float, float, float] | None:
    """An axis-aligned rectangle of ``crs_wkt`` wholly inside the lon/lat ``extent``.

    The extent's edges are densified (``n`` points each, < 1 km apart in a county-sized
    pack) and projected; the rectangle spans from the innermost point of each edge, minus
    2 m, and is checked by projecting its own densified edges back (``None`` if that fails,
    e.g. for an extent the CRS cannot hold).

    Examples
    --------
    >>> r = inner_box(CRS.from_epsg(4524).to_wkt(), (108.5, 21.6, 108.7, 21.8))
    >>> [round(v) for v in r]
    [36551777, 2389674, 36572384, 2411736]
    """
    lon0, lat0, lon1, lat1 = extent
    t = np.linspace(0.0, 1.0, n)
    fwd = cached_transformer(STORAGE_CRS, crs_wkt)
    with np.errstate(all="ignore"):
        west = fwd.transform(np.full(n, lon0), lat0 + t * (lat1 - lat0))[0]
        east = fwd.transform(np.full(n, lon1), lat0 + t * (lat1 - lat0))[0]
        south = fwd.transform(lon0 + t * (lon1 - lon0), np.full(n, lat0))[1]
        north = fwd.transform(lon0 + t * (lon1 - lon0), np.full(n, lat1))[1]
    rect = (np.max(west) + 2.0, np.max(south) + 2.0, np.min(east) - 2.0, np.min(north) - 2.0)
    if not np.isfinite(rect).all() or rect[0] >= rect[2] or rect[1] >= rect[3]:
        return None
    x = np.concatenate([rect[0] + t * (rect[2] - rect[0]), np.full(n, rect[2])])
    y = np.concatenate([np.full(n, rect[1]), rect[1] + t * (rect[3] - rect[1])])
    x = np.concatenate([x, rect[2] - t * (rect[2] - rect[0]), np.full(n, rect[0])])
    y = np.concatenate([y, np.full(n, rect[3]), rect[3] - t * (rect[3] - rect[1])])
    with np.errstate(all="ignore"):
        lon, lat = cached_transformer(crs_wkt, STORAGE_CRS).transform(x, y)
    # Its edges bow by micrometres between points 1 km apart: inside here is inside.
    inside = (lon > lon0) & (lon < lon1) & (lat > lat0) & (lat < lat1)
    if not bool(inside.all()):
        return None
    return float(rect[0]), float(rect[1]), float(rect[2]), float(rect[3])


def outside_parts(
    geoms: npt.NDArray[np.object_], crs: CRS, extent: tuple[float, float, float, float]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.object_]]:
    """Positions of the parcels reaching outside ``extent``, and the part of each outside it."""
    box = extent_polygon(crs.to_wkt(), extent)
    # A parcel whose box lies in a rectangle inside the extent needs no overlay: most of them.
    b = shapely.bounds(geoms)
    rect = inner_box(crs.to_wkt(), extent)
    near = np.arange(len(geoms))
    if rect is not None:
        inside = (b[:, 0] >= rect[0]) & (b[:, 1] >= rect[1])
        near = np.flatnonzero(~(inside & (b[:, 2] <= rect[2]) & (b[:, 3] <= rect[3])))
    if not len(near):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=object)
    cand = near[~shapely.contains_properly(box, geoms[near])]
    pieces = shapely.difference(geoms[cand], box)
    keep = ~shapely.is_empty(pieces) & (shapely.area(pieces) > 0)
    return cand[keep].astype(np.int64), np.asarray(pieces[keep], dtype=object)


def settle_unchecked(
    measured: pd.DataFrame,
    parcels: gpd.GeoDataFrame,
    plan: OverlayPlan,
    extent: tuple[float, float, float, float] | None,
    *,
    report: OverlayReport,
    tolerance_m2: float = 0.01,
) -> pd.DataFrame:
    """Move the part of each parcel outside ``extent`` to ``unchecked_m2``.

    ``measured`` is :func:`qzgeo.analysis.overlay.overlay_areas` of ``parcels`` (planar CRS).
    The outside parts go through the same engine and plan, and their overlaps, constrained
    and available areas are taken off the parcel's; ``inside_boundary`` becomes the share of
    the checked part; the conflict flag is recomputed for it. Without ``extent``: all 0.
    """
    out = measured.copy()
    out.insert(list(out.columns).index("available_m2") + 1, UNCHECKED, 0.0)
    if extent is None or parcels.empty:
        return out
    geoms = np.asarray(parcels.geometry.values, dtype=object)
    pos, pieces = outside_parts(geoms, CRS.from_user_input(parcels.crs), extent)
    if not len(pos):
        return out
    idx = pd.RangeIndex(len(pos))
    side = gpd.GeoDataFrame(geometry=gpd.GeoSeries(pieces, index=idx), crs=parcels.crs)
    part, rep = overlay_areas(side, plan, workers=1, tolerance_m2=tolerance_m2)
    report.extend(rep)
    _subtract(out, pos, part, plan, tolerance_m2)
    return out


def _subtract(
    out: pd.DataFrame,
    pos: npt.NDArray[np.int64],
    part: pd.DataFrame,
    plan: OverlayPlan,
    tolerance_m2: float,
) -> None:
    """Take the outside parts' figures (``part``, one row per ``pos``) off ``out`` in place."""
    cols = [*plan.columns, "constrained_m2", "available_m2"]
    for col in cols:
        v = out[col].to_numpy(dtype=float).copy()
        v[pos] = np.maximum(v[pos] - part[col].to_numpy(dtype=float), 0.0)
        out[col] = v
    area = out["area_m2"].to_numpy(dtype=float)
    unchecked = np.zeros(len(out))
    unchecked[pos] = np.minimum(part["area_m2"].to_numpy(dtype=float), area[pos])
    out[UNCHECKED] = unchecked
    checked = area[pos] - unchecked[pos]
    share = out["inside_boundary"].to_numpy(dtype=float).copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        inside = share[pos] * area[pos] - part["inside_boundary"].to_numpy() * unchecked[pos]
        share[pos] = np.clip(np.where(checked > 0, inside / checked, np.nan), 0.0, 1.0)
    out["inside_boundary"] = share
    flags = out["conflict"].to_numpy(dtype=bool).copy()
    flags[pos] = conflict_flags(out.iloc[pos], plan, checked, tolerance_m2)
    out["conflict"] = flags
