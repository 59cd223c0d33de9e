"""The parts of parcels outside a coverage polygon (``[pack] coverage_layer``), fast.

Most parcels lie far inside the coverage or far outside it (a neighbouring city, the sea).
Three tests, cheapest first, each for what the one before left undecided:

1. a grid of cells over the coverage (cached per CRS), each wholly inside it, wholly
   outside it or on its edge: a parcel whose box lies in inside cells is inside, one whose
   box lies in outside cells is outside, by two lookups in summed-area tables (numpy, no
   GEOS call);
2. the prepared coverage polygon: inside properly, or not meeting it at all;
3. the cut, for the parcels across its edge only: minus the coverage's subdivided pieces
   they meet (:func:`qzgeo.analysis.overlay_plan.subdivide`), one at a time.

A parcel wholly outside is its own part outside (the same object, no overlay).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS

from qzgeo.analysis.overlay_plan import DEFAULT_MAX_VERTICES, subdivide
from qzgeo.geo.coverage import EDGE_TOLERANCE_M2, Coverage, coverage_in
from qzgeo.geo.repair import retry_on_grid

__all__ = ["coverage_outside"]

#: Cells per side of the grid over the coverage's bounds (~0.7 km for a city of 150 km):
#: a parcel of a few hundred metres lies in one or two cells; the grid is built in ~30 ms.
GRID_CELLS = 256


@dataclass(frozen=True)
class _Cells:
    """Summed-area tables of the cells wholly inside and wholly outside a coverage."""

    x0: float
    y0: float
    size: float
    inside: npt.NDArray[np.int64]  # (n + 1, n + 1), rows along y
    outside: npt.NDArray[np.int64]

    def classify(
        self, bounds: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
        """Boxes (minx, miny, maxx, maxy) surely inside the coverage, and surely outside.

        A box in closed cells each inside the coverage's interior is in its interior; one
        in closed cells each apart from it is apart from it. Cells are counted over the
        box's range of cells (its edges on a cell line take the next cell too: safe).
        """
        n = self.inside.shape[0] - 1
        with np.errstate(invalid="ignore"):
            i = np.floor((bounds[:, [0, 2]] - self.x0) / self.size)
            j = np.floor((bounds[:, [1, 3]] - self.y0) / self.size)
            within = (i[:, 0] >= 0) & (j[:, 0] >= 0) & (i[:, 1] < n) & (j[:, 1] < n)
            beyond = (i[:, 1] < 0) | (j[:, 1] < 0) | (i[:, 0] >= n) | (j[:, 0] >= n)
            finite = np.isfinite(bounds).all(axis=1)
        i = np.clip(np.nan_to_num(i), 0, n - 1).astype(np.int64)
        j = np.clip(np.nan_to_num(j), 0, n - 1).astype(np.int64)
        cells = (i[:, 1] - i[:, 0] + 1) * (j[:, 1] - j[:, 0] + 1)

        def total(sat: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
            return (
                sat[j[:, 1] + 1, i[:, 1] + 1] - sat[j[:, 0], i[:, 1] + 1]
                - sat[j[:, 1] + 1, i[:, 0]] + sat[j[:, 0], i[:, 0]]
            )  # fmt: skip

        sure_in = finite & within & (total(self.inside) == cells)
        # cells beyond the grid lie outside the coverage's bounds: apart from it
        sure_out = finite & (beyond | (total(self.outside) == cells))
        return sure_in, sure_out


#: Parcels from which the cell grid of the coverage pays for itself (one check: none).
_CELLS_FROM = 2_000


@functools.lru_cache(maxsize=8)
def _coverage_cells(crs_wkt: str, cov: Coverage) -> _Cells:
    shape = shapely.from_wkb(shapely.to_wkb(coverage_in(crs_wkt, cov)))  # ours to prepare
    shapely.prepare(shape)
    x0, y0, x1, y1 = (float(v) for v in shapely.bounds(shape))
    size = max(x1 - x0, y1 - y0, 1e-6) / GRID_CELLS * (1 + 1e-9)  # the last cell holds x1
    edges = np.arange(GRID_CELLS) * size
    xs, ys = np.meshgrid(x0 + edges, y0 + edges)  # rows along y
    boxes = shapely.box(xs, ys, xs + size, ys + size)

    def table(flags: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
        sat = np.zeros((GRID_CELLS + 1, GRID_CELLS + 1), dtype=np.int64)
        sat[1:, 1:] = flags.astype(np.int64).cumsum(axis=0).cumsum(axis=1)
        return sat

    inside = shapely.contains_properly(shape, boxes)
    outside = ~shapely.intersects(shape, boxes)
    return _Cells(x0, y0, size, table(inside), table(outside))


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
    if len(near) >= _CELLS_FROM:
        sure_in, sure_out = _coverage_cells(wkt, cov).classify(shapely.bounds(geoms[near]))
    else:  # the grid costs ~0.1 s to build: a few sites go straight to the prepared polygon
        sure_in = sure_out = np.zeros(len(near), dtype=bool)
    test = near[~sure_in & ~sure_out]
    meets = np.zeros(0, dtype=bool)
    if len(test):
        # A copy of its own to prepare (~3 ms): the cached polygon is shared by threads, and
        # GEOS prepared geometries are not thread-safe.
        shape = shapely.from_wkb(shapely.to_wkb(coverage_in(wkt, cov)))
        shapely.prepare(shape)
        test = test[~shapely.contains_properly(shape, geoms[test])]
        meets = shapely.intersects(shape, geoms[test])
    whole = np.sort(np.concatenate([near[sure_out], test[~meets]]))
    cut = test[meets]
    pieces = np.concatenate([geoms[whole], _cut(geoms[cut], wkt, cov)]).astype(object)
    pos = np.concatenate([whole, cut]).astype(np.int64)
    flag = np.r_[np.ones(len(whole), dtype=bool), np.zeros(len(cut), dtype=bool)]
    area = shapely.area(pieces)
    keep = ~shapely.is_empty(pieces) & (area > 0) & (flag | (area >= EDGE_TOLERANCE_M2))
    order = np.argsort(pos[keep], kind="stable")
    return pos[keep][order], pieces[keep][order], flag[keep][order]


@functools.lru_cache(maxsize=8)
def _coverage_pieces(crs_wkt: str, cov: Coverage) -> tuple[npt.NDArray[np.object_], Any]:
    """The coverage in ``crs_wkt`` subdivided (pieces of at most 512 vertices) and indexed:
    a parcel is cut by the few pieces it meets, not by the whole outline."""
    pieces = [
        q
        for poly in shapely.get_parts(coverage_in(crs_wkt, cov))
        for q in subdivide(poly, DEFAULT_MAX_VERTICES)
    ]
    arr = np.asarray(pieces, dtype=object).reshape(-1)
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
