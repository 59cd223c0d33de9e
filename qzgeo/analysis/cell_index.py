"""A raster index over polygon parts: parcels far from every part boundary skip GEOS.

A regular grid covers the parts' total bounds plus a margin. Every cell that a part boundary
(exterior and interior rings, subdivision cuts included) passes through is a *boundary cell*,
found conservatively (see :func:`boundary_mask`). The other cells form 4-connected components;
no boundary crosses a component, so each part either contains the whole component in its
interior or misses it entirely, and one point per component tells which parts contain it.

A parcel whose bounding box covers no boundary cell lies in one component (its cells form a
rectangle, which is 4-connected): the parts of that component contain it properly, and no
other part touches it. Those are exactly the pairs that an STRtree query with ``intersects``
followed by ``contains_properly`` would give, at the cost of four lookups in a summed-area
table instead of GEOS predicates. :mod:`qzgeo.analysis.overlay_kernel` sends only the other
parcels to GEOS; :mod:`qzgeo.analysis.coverage_cut` tells parcels inside and outside the pack's
coverage with the index of the coverage's polygons.

Rounding cannot break this: "the cell of a point" is defined by one monotone function of its
coordinates (:meth:`Grid.col`, :meth:`Grid.row`), used alike for ring points, parcel boxes
and component centres, so a box holds exactly the cells between those of its corners, and
the points of a component's cells form a connected set that no ring meets.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

__all__ = [
    "CELLS",
    "MARGIN",
    "SLACK",
    "CellIndex",
    "Grid",
    "ParcelTrees",
    "boundary_mask",
    "cached_cell_index",
    "summed_area",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
ObjArray = npt.NDArray[np.object_]
CompArray = npt.NDArray[Any]  # uint8, uint16 or int32: the smallest that holds the lists

#: Cells on the long side of the grid, margin included (measured: benchmarks/README_overlay.md).
CELLS = 2048
#: Cells around the parts' bounds: the outer ring of the grid then holds no boundary cell and
#: lies outside every part, and parcels beyond the grid, clamped onto it, pass.
MARGIN = 3
#: Slack of the marked boxes, relative to the largest coordinate (x 2^-40: 33 µm at a
#: Gauss-Krüger easting of 3.6e7 m, 4096 ulps), for the rounding of the interpolated samples.
SLACK = 2.0**-40
#: Ranges of at least this many cells are not looked up in the summed-area table (it wraps).
_WRAP = 2**16
#: Parts whose rings are segmentized at once (bounds the memory of the samples).
_BATCH = 256


@dataclass(frozen=True)
class Grid:
    """A regular grid of ``rows × cols`` square cells of side ``cell`` from ``(x0, y0)``."""

    x0: float
    y0: float
    cell: float
    rows: int
    cols: int

    def col(self, x: FloatArray) -> IntArray:
        """Column of ``x``: ``floor((x - x0) / cell)``, clamped to the grid.

        A monotone function of ``x`` (each floating-point step is): a point of a box always
        falls in the box's column range. Clamped before the cast, so far away and infinite
        values land on the outer ring.
        """
        return np.floor(np.clip((x - self.x0) / self.cell, 0.0, self.cols - 1.0)).astype(np.int64)

    def row(self, y: FloatArray) -> IntArray:
        """Row of ``y``, as :meth:`col`."""
        return np.floor(np.clip((y - self.y0) / self.cell, 0.0, self.rows - 1.0)).astype(np.int64)


def boundary_mask(parts: ObjArray, grid: Grid) -> BoolArray:
    """Cells of ``grid`` that the rings of ``parts`` may pass through (``rows × cols``).

    The rings are segmentized so that consecutive points are at most ``cell / 2`` apart; each
    segment between consecutive points spans at most two columns and two rows, and all the
    cells of its box, widened by ``SLACK``, are marked (at most 2 × 2). Why this misses no
    cell that a ring passes through, under :meth:`Grid.col` and :meth:`Grid.row` (the
    functions that also give a parcel's cell range): a ring point lies on a segment between
    two original vertices; the densified points on it are off that line by a few ulps only,
    so the ring point lies in the box of two consecutive densified points widened by
    ``SLACK``, and the column and row functions, being monotone, map it into the cell range
    of that widened box. No dilation is needed: a parcel box that holds a ring point has that
    point's cell in its own cell range, and so holds a marked cell.
    """
    mask = np.zeros((grid.rows, grid.cols), dtype=bool)
    for s in range(0, len(parts), _BATCH):
        rings = shapely.get_rings(shapely.get_parts(parts[s : s + _BATCH]))
        dense = shapely.segmentize(rings, grid.cell / 2.0)
        xy, ring = shapely.get_coordinates(dense, return_index=True)
        seg = np.flatnonzero(ring[1:] == ring[:-1])  # segments: consecutive points of a ring
        a, b = xy[seg], xy[seg + 1]
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        slack = SLACK * max(float(np.abs(xy).max(initial=0.0)), 1.0)
        c0, c1 = grid.col(lo[:, 0] - slack), grid.col(hi[:, 0] + slack)
        r0, r1 = grid.row(lo[:, 1] - slack), grid.row(hi[:, 1] + slack)
        if len(seg) and max(int((c1 - c0).max()), int((r1 - r0).max())) > 1:
            msg = "a densified ring segment spans more than two cells"  # never: cell / 2
            raise RuntimeError(msg)
        for r in (r0, r1):
            for c in (c0, c1):
                mask[r, c] = True
    return mask


@dataclass(frozen=True)
class CellIndex:
    """Boundary cells and boundary-free components of a grid over polygon parts.

    ``sat`` is the summed-area table of the boundary cells, ``(rows + 1) × (cols + 1)``;
    ``comp`` the list of parts of every cell's component (meaningless on boundary cells): the
    parts of list ``k`` are ``members[ptr[k]:ptr[k + 1]]``, sorted.

    Examples
    --------
    >>> from shapely import box
    >>> parts = np.asarray([box(0, 0, 100, 100), box(50, 50, 150, 150)], dtype=object)
    >>> index = CellIndex.build(parts)
    >>> parcels = np.asarray([box(60, 60, 61, 61), box(10, 10, 11, 11), box(300, 0, 301, 1),
    ...                       box(99, 10, 101, 11)], dtype=object)
    >>> passed, ci, pi = index.pairs(shapely.bounds(parcels))
    >>> passed.tolist(), ci.tolist(), pi.tolist()
    ([True, True, True, False], [0, 0, 1], [0, 1, 0])
    """

    grid: Grid
    sat: npt.NDArray[np.uint16]
    comp: CompArray
    ptr: IntArray
    members: IntArray

    @property
    def nbytes(self) -> int:
        """Memory held by the index."""
        return self.sat.nbytes + self.comp.nbytes + self.ptr.nbytes + self.members.nbytes

    @classmethod
    def build(cls, parts: ObjArray, *, cells: int | None = None) -> CellIndex | None:
        """Index ``parts`` on a grid of ``cells`` (default ``CELLS``) on its long side.

        Without parts, or with parts whose total bounds have no width or height (or are not
        finite), there is nothing to index. Cells are at least 8 × ``SLACK`` wide (fewer of
        them, then), so that the slack stays below a quarter of a cell.
        """
        if len(parts) == 0:
            return None
        minx, miny, maxx, maxy = (float(v) for v in shapely.total_bounds(parts))
        w, h = maxx - minx, maxy - miny
        if not (math.isfinite(w) and math.isfinite(h)) or w <= 0 or h <= 0:
            return None
        cell = max(
            max(w, h) / ((cells or CELLS) - 2 * MARGIN),
            8 * SLACK * max(abs(minx), abs(miny), abs(maxx), abs(maxy), 1.0),
        )
        grid = Grid(
            x0=minx - MARGIN * cell,
            y0=miny - MARGIN * cell,
            cell=cell,
            rows=math.ceil(h / cell) + 2 * MARGIN,
            cols=math.ceil(w / cell) + 2 * MARGIN,
        )
        mask = boundary_mask(parts, grid)
        comp, ptr, members = _component_parts(parts, grid, ~mask)
        return cls(grid, summed_area(mask), comp, ptr, members)

    def pairs(self, bounds: FloatArray) -> tuple[BoolArray, IntArray, IntArray]:
        """Which parcels (by their ``shapely.bounds``) pass, and their (parcel, part) pairs.

        A parcel passes if its box covers no boundary cell; each part of its component then
        contains it properly, and no other part meets it (see :func:`boundary_mask`). Pairs
        are sorted by parcel, then part. NaN or infinite bounds (empty parcels) never pass.
        """
        ok = np.asarray(np.isfinite(bounds).all(axis=1))
        b = np.where(ok[:, None], bounds, 0.0)
        g = self.grid
        i0, i1 = g.col(b[:, 0]), g.col(b[:, 2]) + 1
        j0, j1 = g.row(b[:, 1]), g.row(b[:, 3]) + 1
        s = self.sat
        # Sums modulo 2^16 (see summed_area): exact for ranges of fewer than 2^16 cells.
        small = (i1 - i0) * (j1 - j0) < _WRAP
        passed = ok & small & (s[j1, i1] - s[j0, i1] - s[j1, i0] + s[j0, i0] == 0)
        ci = np.flatnonzero(passed)
        lst = self.comp[j0[ci], i0[ci]].astype(np.int64)
        lo, count = self.ptr[lst], self.ptr[lst + 1] - self.ptr[lst]
        pair_ci = np.repeat(ci, count)
        # Position of each pair within its parcel's list: 0, 1, ... count - 1.
        within = np.arange(len(pair_ci)) - np.repeat(np.cumsum(count) - count, count)
        return passed, pair_ci, self.members[np.repeat(lo, count) + within]


def summed_area(mask: BoolArray) -> npt.NDArray[np.uint16]:
    """The summed-area table of ``mask``, ``(rows + 1) × (cols + 1)``, modulo 2^16.

    Half the memory of 32-bit sums: the sum over a range of cells, computed by wrapping
    uint16 arithmetic, equals the true count modulo 2^16, which is the count itself for a
    range of fewer than 2^16 cells (larger ranges are not looked up).

    Examples
    --------
    >>> m = np.ones((300, 300), dtype=bool)
    >>> m[150, :] = False  # 89 700 marked cells: the table wraps
    >>> s = summed_area(m)
    >>> int(s[300, 300]), 89_700 % 2**16
    (24164, 24164)
    >>> int(s[151, 300] - s[150, 300]), int(s[152, 300] - s[151, 300])  # rows 150 and 151
    (0, 300)
    """
    sat = np.zeros((mask.shape[0] + 1, mask.shape[1] + 1), dtype=np.uint16)
    sat[1:, 1:] = mask
    # Row by row: numpy's accumulate along the first axis is ~10x slower.
    for r in range(2, sat.shape[0]):
        np.add(sat[r], sat[r - 1], out=sat[r])
    np.cumsum(sat, axis=1, out=sat)
    return sat


def components(free: BoolArray) -> tuple[IntArray, IntArray, IntArray]:
    """4-connected components of the ``True`` cells of ``free``, by horizontal runs.

    Returns the runs' ``start`` and ``end`` (exclusive) as flat indices into ``free`` padded
    with one ``False`` column (so that no run wraps to the next row), and each run's
    component: the index of one of its runs. (scipy.ndimage.label does the same in the same
    time, but importing scipy costs each process ~0.13 s.)

    Examples
    --------
    >>> free = np.array([[1, 1, 0, 1], [0, 1, 0, 1], [1, 0, 0, 1]], dtype=bool)
    >>> start, end, comp = components(free)
    >>> start.tolist(), end.tolist(), comp.tolist()
    ([0, 3, 6, 8, 10, 13], [2, 4, 7, 9, 11, 14], [0, 1, 0, 1, 4, 1])
    """
    rows, cols = free.shape
    w = cols + 1
    padded = np.zeros((rows, w), dtype=np.int8)
    padded[:, :cols] = free
    step = np.diff(padded.ravel(), prepend=np.int8(0))
    start, end = np.flatnonzero(step == 1), np.flatnonzero(step == -1)
    # The runs of the row above that overlap run b (columns in common) are a contiguous range.
    lo = np.searchsorted(end, start - w, side="right")
    count = np.maximum(np.searchsorted(start, end - w, side="left") - lo, 0)
    b = np.repeat(np.arange(len(start)), count)
    a = np.repeat(lo, count) + np.arange(len(b)) - np.repeat(np.cumsum(count) - count, count)
    # Union by hooking roots to the smaller root of an edge, then pointer jumping; every round
    # merges at least two trees, and grids need a handful of rounds.
    comp = np.arange(len(start))
    while True:
        ca, cb = comp[a], comp[b]
        split = ca != cb
        if not split.any():
            return start, end, comp
        np.minimum.at(comp, np.maximum(ca, cb)[split], np.minimum(ca, cb)[split])
        while not np.array_equal(nxt := comp[comp], comp):
            comp = nxt


def _component_parts(
    parts: ObjArray, grid: Grid, free: BoolArray
) -> tuple[CompArray, IntArray, IntArray]:
    """The list of parts of every cell's component, as ``(comp, ptr, members)``.

    One cell centre per component is looked up in an STRtree of the parts; components with the
    same parts share a list, so ``comp`` fits a small integer type.
    """
    start, end, comp = components(free)
    w = grid.cols + 1
    roots = np.flatnonzero(comp == np.arange(len(comp)))
    # Cell centres are > 10^4 ulps inside their cells (cell >= 8 SLACK × the coordinates): the
    # centre of a cell of a component lies in it, on no ring (``intersects`` is ``within``).
    cx = grid.x0 + (start[roots] % w + 0.5) * grid.cell
    cy = grid.y0 + (start[roots] // w + 0.5) * grid.cell
    pt, pa = shapely.STRtree(parts).query(shapely.points(cx, cy), predicate="intersects")
    order = np.lexsort((pa, pt))
    pt, pa = pt[order], pa[order]
    bounds = np.searchsorted(pt, np.arange(len(roots) + 1))
    key: dict[tuple[int, ...], int] = {(): 0}
    lut = np.zeros(len(comp), dtype=np.int64)  # root run -> list; no part: the empty list 0
    members: list[int] = []
    ptr = [0, 0]
    for r in np.unique(pt).tolist():
        lst = tuple(pa[bounds[r] : bounds[r + 1]].tolist())
        k = key.get(lst)
        if k is None:
            k = key[lst] = len(key)
            members.extend(lst)
            ptr.append(len(members))
        lut[roots[r]] = k
    dtype = next(t for t in (np.uint8, np.uint16, np.int32) if len(key) <= np.iinfo(t).max)
    # Boundary cells (between runs) get list 0 too: they are never looked up.
    edges = np.c_[start, end].ravel()
    values = np.c_[np.zeros(len(start), dtype=np.int64), lut[comp]].ravel()
    lengths = np.diff(np.r_[0, edges, grid.rows * w])
    cells = np.repeat(np.r_[values, 0].astype(dtype), lengths).reshape(grid.rows, w)
    return cells, np.asarray(ptr, dtype=np.int64), np.asarray(members, dtype=np.int64)


@dataclass
class _Entry:
    parts: ObjArray
    seen: int = 0  # parcels measured against the parts in this process
    built: bool = False
    index: CellIndex | None = None


# One index per set of parts and process, shared by the threads (lookups are read-only).
_INDEXES: dict[int, _Entry] = {}
_INDEXES_LOCK = threading.Lock()
_INDEXES_KEPT = 8


def cached_cell_index(parts: ObjArray, *, parcels: int, least: int) -> CellIndex | None:
    """The :class:`CellIndex` of ``parts``, built once per process, or ``None``.

    ``parcels`` are about to be measured against ``parts``; the index is built once this
    process has measured at least ``least`` parcels against them, this call's included (the
    build costs about as much as measuring ``least`` parcels saves). ``None``: not yet, or
    the parts cannot be indexed.
    """
    with _INDEXES_LOCK:
        entry = _INDEXES.get(id(parts))
        if entry is None or entry.parts is not parts:
            if len(_INDEXES) >= _INDEXES_KEPT:
                _INDEXES.pop(next(iter(_INDEXES)))
            entry = _INDEXES[id(parts)] = _Entry(parts)
        entry.seen += parcels
        if not entry.built and entry.seen >= least:
            entry.index, entry.built = CellIndex.build(parts), True
        return entry.index


class ParcelTrees:
    """STRtrees over one chunk of parcels, for the targets measured one after the other.

    One tree over all the parcels, built on first use and shared by the targets, or, for a
    target whose cell index left at most half of the parcels, a tree over those only.
    ``bounds``: the parcels' ``shapely.bounds``, if the caller has them already.
    """

    def __init__(self, geoms: ObjArray, *, bounds: FloatArray | None = None) -> None:
        self.geoms = geoms
        self.full: shapely.STRtree | None = None
        self._bounds: FloatArray | None = bounds

    def bounds(self) -> FloatArray:
        """``shapely.bounds`` of the parcels, computed once."""
        if self._bounds is None:
            self._bounds = shapely.bounds(self.geoms)
        return self._bounds

    def query(self, parts: ObjArray, sel: IntArray | None) -> tuple[IntArray, IntArray]:
        """(part, parcel) pairs that intersect, among the parcels ``sel`` (``None``: all)."""
        if len(parts) == 0 or (sel is not None and len(sel) == 0):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        if sel is not None and 2 * len(sel) <= len(self.geoms):
            pi, ci = shapely.STRtree(self.geoms[sel]).query(parts, predicate="intersects")
            return pi, sel[ci]
        if self.full is None:
            self.full = shapely.STRtree(self.geoms)
        pi, ci = self.full.query(parts, predicate="intersects")
        if sel is None:
            return pi, ci
        keep = np.zeros(len(self.geoms), dtype=bool)
        keep[sel] = True
        return pi[keep[ci]], ci[keep[ci]]
