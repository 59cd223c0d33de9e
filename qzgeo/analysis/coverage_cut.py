"""The parts of parcels outside a coverage polygon (``[pack] coverage_layer``), fast.

Most parcels lie far inside the coverage or far outside it (a neighbouring city, the sea).
Three tests, cheapest first, each for what the one before left undecided:

1. the coverage's cell index (:class:`~qzgeo.analysis.cell_index.CellIndex` over its
   polygons, built once per process and CRS): a parcel whose box covers no cell its edges
   pass through lies properly inside the coverage or apart from it, told by four lookups in
   a summed-area table (numpy, no GEOS call) — the same index the overlay engine uses for
   its targets;
2. the prepared coverage polygon: inside properly, or not meeting it at all;
3. the cut, for the parcels across its edge only: minus the coverage's subdivided pieces
   they meet (:func:`qzgeo.analysis.overlay_plan.subdivide`), one at a time.

A parcel wholly outside is its own part outside (the same object, no overlay).
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS

from qzgeo.analysis.cell_index import CellIndex
from qzgeo.analysis.coverage_store import coverage_parts
from qzgeo.geo.coverage import EDGE_TOLERANCE_M2, Coverage, coverage_in
from qzgeo.geo.overlay_retry import retry_on_grid

__all__ = ["coverage_outside", "coverage_sides"]

#: Parcels from which the cell index of the coverage pays for itself (~15 ms to build).
_CELLS_FROM = 2_000


def coverage_sides(
    bounds: npt.NDArray[np.float64], index: CellIndex
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Boxes (``shapely.bounds``) surely properly inside the polygons of ``index``, and
    surely apart from all of them; the others are undecided.

    A box that covers no boundary cell lies in one component of the grid: properly inside
    each polygon of the component's list, and apart from every other polygon (see
    :class:`~qzgeo.analysis.cell_index.CellIndex`); an empty list is apart from all.

    Examples
    --------
    >>> from shapely import box
    >>> index = CellIndex.build(np.asarray([box(0, 0, 100, 100)], dtype=object))
    >>> boxes = shapely.bounds(np.asarray([box(10, 10, 11, 11), box(300, 0, 301, 1),
    ...                                    box(99, 10, 101, 11)], dtype=object))
    >>> [a.tolist() for a in coverage_sides(boxes, index)]
    [[True, False, False], [False, True, False]]
    """
    passed, ci, _ = index.pairs(bounds)
    inside = np.zeros(len(bounds), dtype=bool)
    inside[ci] = True
    return inside, passed & ~inside


# Per-thread prepared copies of the coverage: GEOS prepared geometries are not thread-safe
# (libgeos/geos#825), and preparing a coastline of ~10^5 vertices again for every chunk cost
# a few ms each time.
_PREPARED = threading.local()


def _prepared_coverage(crs_wkt: str, cov: Coverage) -> shapely.Geometry:
    cache: dict[tuple[str, Coverage], shapely.Geometry] | None = getattr(_PREPARED, "cache", None)
    if cache is None:
        cache = _PREPARED.cache = {}
    shape = cache.get((crs_wkt, cov))
    if shape is None:
        shape = shapely.from_wkb(shapely.to_wkb(coverage_in(crs_wkt, cov)))  # ours to prepare
        shapely.prepare(shape)
        if len(cache) >= 8:
            cache.pop(next(iter(cache)))
        cache[(crs_wkt, cov)] = shape
    return shape


def coverage_outside(
    geoms: npt.NDArray[np.object_], crs: CRS, cov: Coverage
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.object_], npt.NDArray[np.bool_]]:
    """Positions of ``geoms`` (in the planar ``crs``) reaching outside the coverage ``cov``,
    the part of each outside it, and whether that part is the whole parcel (the same object).

    Parts of a parcel across the edge under :data:`~qzgeo.geo.coverage.EDGE_TOLERANCE_M2`
    (planar m², within 0.5 % of the ellipsoidal ones in a GK zone) are none: a parcel drawn
    along the coverage's edge leaves slivers of 1e-9 m² outside.
    """
    wkt = crs.to_wkt()
    near = np.flatnonzero(~(shapely.is_missing(geoms) | shapely.is_empty(geoms)))
    index = coverage_parts(wkt, cov).index if len(near) >= _CELLS_FROM else None
    if index is not None:
        sure_in, sure_out = coverage_sides(shapely.bounds(geoms[near]), index)
    else:  # a few sites go straight to the prepared polygon
        sure_in = sure_out = np.zeros(len(near), dtype=bool)
    test = near[~sure_in & ~sure_out]
    meets = np.zeros(0, dtype=bool)
    if len(test):
        shape = _prepared_coverage(wkt, cov)
        test = test[~shapely.contains_properly(shape, geoms[test])]
        meets = shapely.intersects(shape, geoms[test])
    whole = np.sort(np.concatenate([near[sure_out], test[~meets]]))
    cut = test[meets]
    pieces = np.concatenate([geoms[whole], _cut(geoms[cut], wkt, cov)]).astype(object)
    pos = np.concatenate([whole, cut]).astype(np.int64)
    flag = np.r_[np.ones(len(whole), dtype=bool), np.zeros(len(cut), dtype=bool)]
    area = shapely.area(pieces)
    empty = np.zeros(len(pieces), dtype=bool)  # a whole parcel is one of `near`: not empty
    empty[len(whole) :] = shapely.is_empty(pieces[len(whole) :])
    keep = ~empty & (area > 0) & (flag | (area >= EDGE_TOLERANCE_M2))
    order = np.argsort(pos[keep], kind="stable")
    return pos[keep][order], pieces[keep][order], flag[keep][order]


@functools.lru_cache(maxsize=8)
def _coverage_pieces(crs_wkt: str, cov: Coverage) -> tuple[npt.NDArray[np.object_], Any]:
    """The coverage in ``crs_wkt`` subdivided (pieces of at most 512 vertices) and indexed:
    a parcel is cut by the few pieces it meets, not by the whole outline."""
    arr = coverage_parts(crs_wkt, cov).pieces
    return arr, shapely.STRtree(arr)


def _cut(geoms: npt.NDArray[np.object_], crs_wkt: str, cov: Coverage) -> npt.NDArray[np.object_]:
    """Each of ``geoms`` minus the coverage: minus the pieces it meets, one at a time (they
    are disjoint, so the differences are exact; their seams are axis-parallel lines)."""
    rest = np.asarray(geoms, dtype=object).copy()
    if not len(rest):
        return rest
    pieces, tree = _coverage_pieces(crs_wkt, cov)
    gi, pj = tree.query(rest, predicate="intersects")
    order = np.lexsort((pj, gi))
    gi, pj = gi[order], pj[order]
    starts = np.flatnonzero(np.r_[True, gi[1:] != gi[:-1]]) if len(gi) else np.zeros(0, int)
    rank = np.arange(len(gi)) - np.repeat(starts, np.diff(np.r_[starts, len(gi)]))
    for r in range(int(rank.max()) + 1 if len(rank) else 0):
        m = rank == r
        try:
            rest[gi[m]] = shapely.difference(rest[gi[m]], pieces[pj[m]])
        except shapely.errors.GEOSException:  # near-coincident edges: the engine's 1 mm retry
            rest[gi[m]] = [
                retry_on_grid(shapely.difference, g, p, context="the pack coverage")[0]
                for g, p in zip(rest[gi[m]], pieces[pj[m]], strict=True)
            ]
    return rest
