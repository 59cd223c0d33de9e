"""The part of a parcel outside the pack's extent: measured, and not counted as available.

A pack declares the lon/lat box its plan data cover (``[pack] extent``), and may narrow it to
the polygons of a layer (``[pack] coverage_layer``, a :class:`~qzgeo.geo.coverage.Coverage`):
"the extent" below is that coverage when the pack declares one. Parcels wholly outside the
box are refused when they are read (:func:`qzgeo.io.input_checks.enforce_extent`); a parcel
that straddles its edge is kept, with a warning, and so is one inside the box but outside
the coverage (a neighbouring city, the sea): all of it is then outside. Outside the extent
the pack's data may stop: a 城镇开发边界 drawn up to its edge says nothing of the land beyond
it. Counting that part as available (a pack without a boundary class) or as constrained
(outside a boundary that ends at the edge) would be a guess either way. So the outside part
that no exclusion class of the pack covers goes to its own column, ``unchecked_m2``
(未核查); what an exclusion covers there stays constrained, since the pack holds that red
line. The class columns keep the whole parcel's overlaps; ``inside_boundary`` and the
boundary test of the conflict flag describe the checked part.
``area_m2 = available_m2 + constrained_m2 + unchecked_m2`` for every parcel.
"""

from __future__ import annotations

import functools
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import CRS

from qzgeo.analysis.coverage_cut import coverage_outside
from qzgeo.analysis.overlay import OverlayPlan, OverlayReport, conflict_flags, overlay_areas
from qzgeo.geo.area import AreaScale
from qzgeo.geo.area_lattice import lattice_wide
from qzgeo.geo.area_moments import measure, wide
from qzgeo.geo.coverage import (
    EDGE_TOLERANCE_M2,
    CheckedArea,
    as_coverage,
    coverage_in,
)
from qzgeo.geo.crs import STORAGE_CRS, cached_transformer
from qzgeo.geo.edges import densify_rings
from qzgeo.geo.overlay_retry import retry_on_grid
from qzgeo.geo.repair import FLATTENED_IDS, Outside, first_ids

__all__ = [
    "UNCHECKED",
    "checked_polygon",
    "count_unchecked",
    "excluded_m2",
    "extent_polygon",
    "inner_box",
    "outside_parts",
    "outside_split",
    "settle_unchecked",
]

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
    >>> p = extent_polygon(CRS.from_epsg(4548).to_wkt(), (117.0, 31.0, 118.0, 32.0))
    >>> round(p.area / 1e6)  # km², planar
    10534
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
    >>> r = inner_box(CRS.from_epsg(4527).to_wkt(), (117.5, 31.6, 117.7, 31.8))
    >>> [round(v) for v in r]
    [39547453, 3497714, 39566287, 3519782]
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


def checked_polygon(crs_wkt: str, area: CheckedArea) -> shapely.Geometry:
    """The area checked (the extent box, or the pack's coverage) in the planar CRS ``crs_wkt``.

    Shared and cached: copy it before preparing it.
    """
    cov = as_coverage(area)
    assert cov is not None
    return extent_polygon(crs_wkt, cov.extent) if cov.is_box else coverage_in(crs_wkt, cov)


def outside_parts(
    geoms: npt.NDArray[np.object_], crs: CRS, extent: CheckedArea, *, edge_m: float | None = None
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.object_]]:
    """Positions of the parcels reaching outside ``extent`` (the box or the pack's coverage),
    and the part of each outside it; ``edge_m``: the box's edges cut in pieces of at most
    this length first (for parts measured in lon/lat, whose cut should stay the planar one)."""
    pos, pieces, _ = outside_split(geoms, crs, extent, edge_m=edge_m)
    return pos, pieces


def outside_split(
    geoms: npt.NDArray[np.object_], crs: CRS, extent: CheckedArea, *, edge_m: float | None = None
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.object_], npt.NDArray[np.bool_]]:
    """:func:`outside_parts`, and whether each part is its whole parcel (the same object).

    A coverage polygon's fast path: parcels properly inside its prepared polygon skip the
    cut, parcels that do not meet it are wholly outside (their part is the parcel itself,
    no overlay); only the parcels across its edge are cut, by its subdivided pieces.
    """
    cov = as_coverage(extent)
    assert cov is not None
    if cov.is_box:
        pos, pieces = _outside_box(geoms, crs, cov.extent, edge_m)
        return pos, pieces, np.zeros(len(pos), dtype=bool)
    return coverage_outside(geoms, crs, cov)


def _outside_box(
    geoms: npt.NDArray[np.object_],
    crs: CRS,
    extent: tuple[float, float, float, float],
    edge_m: float | None = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.object_]]:
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
    # A copy of its own to prepare (~1 ms): the cached polygon is shared by threads, and GEOS
    # prepared geometries are not thread-safe.
    box = shapely.Polygon(box.exterior)
    if edge_m is not None:
        box = densify_rings(np.array([box], dtype=object), edge_m)[0]
    shapely.prepare(box)
    cand = near[~shapely.contains_properly(box, geoms[near])]
    try:
        pieces = shapely.difference(geoms[cand], box)
    except shapely.errors.GEOSException:  # near-coincident edges: the engine's 1 mm retry
        pieces = np.asarray(
            [
                retry_on_grid(shapely.difference, g, box, context="the pack extent")[0]
                for g in geoms[cand]
            ],
            dtype=object,
        )
    keep = ~shapely.is_empty(pieces) & (shapely.area(pieces) > 0)
    return cand[keep].astype(np.int64), np.asarray(pieces[keep], dtype=object)


def settle_unchecked(
    measured: pd.DataFrame,
    parcels: gpd.GeoDataFrame,
    plan: OverlayPlan,
    extent: CheckedArea | None,
    *,
    report: OverlayReport,
    tolerance_m2: float = 0.01,
) -> pd.DataFrame:
    """Move the part of each parcel outside ``extent`` (the box, or the pack's coverage) that
    no exclusion covers to ``unchecked_m2``.

    ``measured`` is :func:`qzgeo.analysis.overlay.overlay_areas` of ``parcels`` (planar CRS).
    The outside parts go through the same engine and plan (a parcel wholly outside a
    coverage is its own outside part: its figures are taken from ``measured``, not measured
    again). What the pack's exclusion classes
    cover outside the extent stays constrained (a red line the pack holds is known there
    too); the rest of the outside part is neither available nor constrained. The class
    columns keep the whole parcel's overlaps; ``inside_boundary`` and a boundary's share of
    the conflict flag describe the checked part. Without ``extent``: all 0.
    """
    cols = {c: measured[c].to_numpy() for c in measured.columns}
    cols[UNCHECKED] = np.zeros(len(measured))
    geoms = np.asarray(parcels.geometry.values, dtype=object)
    if extent is not None and len(geoms):
        crs = CRS.from_user_input(parcels.crs)
        pos, pieces, whole = outside_split(geoms, crs, extent)
        if len(pos):
            outside = (pos, pieces, whole)
            part = _outside_figures(cols, outside, parcels.crs, plan, report, tolerance_m2)
            if plan.balance_kind == "removed":  # constrained = the union of the exclusions
                known = part["constrained_m2"]
            else:
                known = excluded_m2(pieces, plan, crs)
            _settle(cols, pos, part, known, plan, tolerance_m2)
    # framed once, ``unchecked_m2`` after ``available_m2`` (see finish_parcels)
    names = list(measured.columns)
    names.insert(names.index("available_m2") + 1, UNCHECKED)
    return pd.DataFrame({c: cols[c] for c in names}, index=measured.index)


Figures = dict[str, npt.NDArray[Any]]


def _outside_figures(
    measured: Figures,
    outside: tuple[npt.NDArray[np.int64], npt.NDArray[np.object_], npt.NDArray[np.bool_]],
    crs: Any,
    plan: OverlayPlan,
    report: OverlayReport,
    tolerance_m2: float,
) -> Figures:
    """The overlay figures of each outside part of :func:`outside_split` (one row each)."""
    pos, pieces, whole = outside
    cols = ["area_m2", "available_m2", "constrained_m2", "inside_boundary", *plan.columns]
    data = {c: np.asarray(measured[c], dtype=float)[pos] for c in cols}
    cut = np.flatnonzero(~whole)
    if len(cut):
        idx = pd.RangeIndex(len(cut))
        side = gpd.GeoDataFrame({"geometry": pieces[cut]}, index=idx, geometry="geometry", crs=crs)
        part, rep = overlay_areas(side, plan, workers=1, tolerance_m2=tolerance_m2)
        report.extend(rep)
        for c in cols:
            data[c][cut] = part[c].to_numpy(dtype=float)
    return data


def excluded_m2(
    pieces: npt.NDArray[np.object_], plan: OverlayPlan, crs: CRS
) -> npt.NDArray[np.float64]:
    """Ellipsoidal m² of each piece covered by the union of the plan's exclusion classes."""
    out = np.zeros(len(pieces))
    groups = [k for k, m in enumerate(plan.modes) if m == "exclusion"]
    parts = plan.classes.parts[np.isin(plan.classes.group, groups)]
    if not len(parts) or not len(pieces):
        return out
    pi, pj = shapely.STRtree(parts).query(pieces, predicate="intersects")
    if not len(pi):
        return out
    order = np.argsort(pi, kind="stable")
    pi, pj = pi[order], pj[order]
    bits = shapely.intersection(pieces[pi], parts[pj])
    heads = np.flatnonzero(np.r_[True, pi[1:] != pi[:-1]])
    # Classes may overlap each other (a red line on farmland): their union, piece by piece
    covered = np.asarray([shapely.union_all(g) for g in np.split(bits, heads[1:])], dtype=object)
    b = shapely.total_bounds(covered)
    scale = AreaScale(crs, (float(b[0]), float(b[1]), float(b[2]), float(b[3])))
    # As the overlay measures: wide pieces get the scale factor integrated over them, the
    # widest cell by cell.
    bounds = shapely.bounds(covered)
    out[pi[heads]] = measure(covered, scale, wide(bounds), lattice_wide(bounds)).m2
    return out


def _settle(
    out: Figures,
    pos: npt.NDArray[np.int64],
    part: Figures,
    known: npt.NDArray[np.float64],
    plan: OverlayPlan,
    tolerance_m2: float,
) -> None:
    """Apply the outside parts' figures (``part``, one row per ``pos``) to the columns
    ``out`` (replaced by new arrays: the measured ones are left as they were)."""
    area = np.asarray(out["area_m2"], dtype=float)
    outside = np.minimum(part["area_m2"], area[pos])
    known = np.clip(known, 0.0, outside)
    avail = np.array(out["available_m2"], dtype=float)
    avail[pos] = np.maximum(avail[pos] - part["available_m2"], 0.0)
    cons = np.array(out["constrained_m2"], dtype=float)
    cons[pos] = cons[pos] - part["constrained_m2"] + known
    cons[pos] = np.maximum(cons[pos], 0.0)
    unchecked = np.zeros(len(area))
    unchecked[pos] = outside - known
    out["available_m2"], out["constrained_m2"], out[UNCHECKED] = avail, cons, unchecked
    checked = area[pos] - outside
    share = np.array(out["inside_boundary"], dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        inside = share[pos] * area[pos] - part["inside_boundary"] * outside
        share[pos] = np.clip(np.where(checked > 0, inside / checked, np.nan), 0.0, 1.0)
    out["inside_boundary"] = share
    # The conflict flag: any exclusion overlap (anywhere: the pack holds it), or a part of
    # the checked land outside a boundary.
    inner = {col: np.asarray(out[col])[pos] for col in plan.columns}
    for col in plan.boundary_columns:
        inner[col] = inner[col] - part[col]
    flags = np.array(out["conflict"], dtype=bool)
    flags[pos] = conflict_flags(inner, plan, checked, tolerance_m2)
    out["conflict"] = flags


def count_unchecked(
    result: pd.DataFrame, extent: CheckedArea | None, *, source: str
) -> Outside | None:
    """The parcels of ``result`` (a parcel table) with a part no plan data check
    (``unchecked_m2`` over 0.01 m²) outside a coverage layer's ``extent``: one warning for
    them all.

    A coverage hugs the land, and thousands of parcels may cross it: the notice of each that
    the pack's box gets (:func:`qzgeo.io.input_checks.enforce_extent`) would flood the
    report. Counted from the table, it agrees with it, and the counts of chunks add up
    (:meth:`qzgeo.geo.repair.RepairReport.add_outside`). ``None`` for a box, or no such parcel.
    """
    area = as_coverage(extent)
    if area is None or area.is_box or result.empty:
        return None
    m2 = result[UNCHECKED].to_numpy(dtype=float)
    # above the reporting precision: a parcel on a red line outside keeps ~1e-9 m² of round-off
    hit = np.flatnonzero(m2 > EDGE_TOLERANCE_M2)
    if not len(hit):
        return None
    area_m2 = result["area_m2"].to_numpy(dtype=float)[hit]
    whole = int((m2[hit] >= area_m2 - EDGE_TOLERANCE_M2).sum())
    ids: Any = result.index[hit]
    if pd.api.types.is_integer_dtype(ids):  # the smallest without a text of every one
        ids = np.sort(ids.to_numpy())[:FLATTENED_IDS]
    return Outside(source, area.describe(), len(hit) - whole, whole, first_ids(ids))
