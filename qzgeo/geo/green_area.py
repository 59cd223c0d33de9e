"""Planar area of polygon intersections by Green's theorem, in numpy, vectorised over pairs.

An independent check of GEOS overlays that shares no code with them. For a pair of polygons
(P, C), with every ring oriented so that the interior lies on its left (exterior
counter-clockwise, holes clockwise)::

    area(P ∩ C) = Σ_{edges e of C} ∫_{e ∩ P} ω + Σ_{edges f of P} ∫_{f ∩ C} ω,   ω = (x dy − y dx)/2

Along a straight sub-segment ``a + t·d``, ``t ∈ [t0, t1]``, ``∫ω = (t1 − t0)·(a × d)/2``, so an
edge contributes ``(a × d)/2`` times the fraction of it that lies inside the other polygon; that
fraction is its start status plus ``Σ ±(1 − t)`` over its transversal crossings (+ entering,
− leaving), without sorting the crossings. Coordinates are taken relative to the parcel's first
vertex (Gauss-Krüger eastings of 36 500 000 m would cancel in the products).

- Crossings and their directions come from orientation signs of the four endpoints.
- Only part edges whose box meets the parcel's box can contribute (:class:`EdgeIndex` finds
  them), and only edge pairs whose boxes meet can cross.
- Statuses (inside the other polygon or not) are propagated along the rings, crossing by
  crossing: a run of part edges starts outside the parcel where the previous edge of its ring
  is not a candidate (its box misses the parcel's); the first edge of a ring whose last edge
  is a candidate (a run that wraps around, a small ring) takes a crossing number against the
  parcel's edges. A parcel ring starts from the direction of its first crossing, or, without
  crossings, from one ``shapely.contains_xy``. Where runs and rings close, the statuses must
  agree.

Any orientation sign that is not certain -- a vertex on, or within ``TOL_ABS`` of, the other
polygon's boundary, collinear overlapping edges, a crossing at an endpoint -- and any status
that is not 0 or 1 make the pair *undecided*: no area is claimed for it, and the caller falls
back to GEOS. In general position the area is exact to floating point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely

__all__ = [
    "AGREE_ABS_M2",
    "AGREE_REL",
    "EdgeIndex",
    "PolygonEdges",
    "agreement_m2",
    "agrees",
    "pair_areas",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
ObjArray = npt.NDArray[np.object_]

#: A point nearer than this (m) to the line of a segment is "on" it: the sign is not trusted.
TOL_ABS = 1e-9
#: ... or nearer than this fraction of its distance to the segment's start (rounding of the
#: cross products, ~4500 ulps).
TOL_REL = 1e-12
#: Parcel boxes are widened by this (m) to find the part edges near them.
EXPAND = 1e-6
#: Green and GEOS agree when they differ by at most AGREE_REL·A + AGREE_ABS_M2, A the parcel's
#: planar area, and never by more than AGREE_CAP·A (conservation: 0.01 m² + 1e-9·A, ≤ 1e-6·A).
AGREE_REL = 1e-9
AGREE_ABS_M2 = 1e-6
AGREE_CAP = 1e-8
_FRACTION_SLACK = 1e-9  # an edge's inside fraction may leave [0, 1] by rounding only


@dataclass(frozen=True)
class PolygonEdges:
    """The edges of polygons, oriented (interior on the left), geometry by geometry.

    Attributes
    ----------
    a, b
        ``(n, 2)`` start and end of each edge (zero-length edges are left out).
    ring
        Global index of the ring of each edge; the edges of a ring are consecutive.
    offsets
        ``len(geoms) + 1`` offsets: the edges of geometry ``k`` are ``offsets[k]:offsets[k+1]``.
    """

    a: FloatArray
    b: FloatArray
    ring: IntArray
    offsets: IntArray

    @classmethod
    def of(cls, geoms: ObjArray) -> PolygonEdges:
        """Edges of ``geoms`` (Polygons, MultiPolygons), rings oriented as Green needs them."""
        simple = _simple_edges(geoms)
        if simple is not None:
            return cls(*simple)
        oriented = shapely.orient_polygons(geoms, exterior_cw=False)
        polys, owner = shapely.get_parts(oriented, return_index=True)
        rings, poly_of_ring = shapely.get_rings(polys, return_index=True)
        xy, ring_of = shapely.get_coordinates(rings, return_index=True)
        keep = (ring_of[1:] == ring_of[:-1]) & np.any(xy[1:] != xy[:-1], axis=1)
        j = np.flatnonzero(keep)
        ring = ring_of[j].astype(np.int64)
        own = owner[poly_of_ring[ring]]
        offsets = np.searchsorted(own, np.arange(len(geoms) + 1)).astype(np.int64)
        return cls(a=xy[j], b=xy[j + 1], ring=ring, offsets=offsets)

    def owner(self) -> IntArray:
        """The geometry of each edge."""
        return np.repeat(np.arange(len(self.offsets) - 1), np.diff(self.offsets))

    def links(self) -> tuple[IntArray, IntArray, BoolArray]:
        """Previous and next edge of each edge in its ring (cyclic), and the rings' first edges."""
        n = len(self.ring)
        idx = np.arange(n)
        first = np.ones(n, dtype=bool)
        first[1:] = self.ring[1:] != self.ring[:-1]
        last = np.ones(n, dtype=bool)
        last[:-1] = first[1:]
        group = np.cumsum(first) - 1
        pred = np.where(first, idx[last][group], idx - 1)
        succ = np.where(last, idx[first][group], idx + 1)
        return pred, succ, first


def _simple_edges(geoms: ObjArray) -> tuple[FloatArray, FloatArray, IntArray, IntArray] | None:
    """:meth:`PolygonEdges.of` for polygons without holes (parcels, nearly always), in numpy.

    The same edges as ``shapely.orient_polygons`` then the rings' coordinates: a clockwise ring
    is reversed (its closing vertex stays first), so the arrays are identical. ``None`` (use
    GEOS) for anything else: holes, multi-parts, empty polygons, or a ring whose shoelace sign
    is not certain (``|2A| ≤ 1e-9 Σ|terms|``, far above the rounding of the sum).
    """
    n = len(geoms)
    if n == 0 or not (shapely.get_type_id(geoms) == shapely.GeometryType.POLYGON).all():
        return None
    if shapely.get_num_interior_rings(geoms).any():
        return None
    xy, own = shapely.get_coordinates(geoms, return_index=True)
    start = np.searchsorted(own, np.arange(n + 1))
    if (np.diff(start) < 4).any():  # empty (no coordinates) or not a ring
        return None
    # Shoelace terms relative to each ring's first vertex (GK eastings would cancel).
    first = start[:-1][own]
    dx, dy = xy[:, 0] - xy[first, 0], xy[:, 1] - xy[first, 1]
    term = dx[:-1] * dy[1:] - dx[1:] * dy[:-1]
    term[own[1:] != own[:-1]] = 0.0
    twice = np.bincount(own[:-1], term, n)
    if (np.abs(twice) <= 1e-9 * np.bincount(own[:-1], np.abs(term), n)).any():
        return None
    k = np.arange(len(xy))
    cw = np.flatnonzero(twice[own] < 0.0)
    k[cw] = first[cw] + start[1:][own[cw]] - 1 - k[cw]
    xy = xy[k]
    keep = (own[1:] == own[:-1]) & np.any(xy[1:] != xy[:-1], axis=1)
    j = np.flatnonzero(keep)
    ring = own[j].astype(np.int64)
    offsets = np.searchsorted(ring, np.arange(n + 1)).astype(np.int64)
    return xy[j], xy[j + 1], ring, offsets


@dataclass(frozen=True)
class EdgeIndex:
    """The edges of polygon parts, and an STRtree over runs of ``GROUP`` consecutive edges.

    Built once per set of parts; queries are read-only once the tree is built (:meth:`build`
    builds it), so one index may be shared by threads.
    """

    edges: PolygonEdges
    owner: IntArray
    pred: IntArray
    succ: IntArray
    first: BoolArray
    lo: tuple[FloatArray, FloatArray]  # lower corner of each edge's box: x, y
    hi: tuple[FloatArray, FloatArray]
    groups: IntArray  # offsets of the runs of edges in the tree
    tree: shapely.STRtree

    GROUP = 8

    @classmethod
    def build(cls, parts: ObjArray) -> EdgeIndex:
        """Index the edges of ``parts``."""
        edges = PolygonEdges.of(parts)
        owner = edges.owner()
        n = len(owner)
        lo, hi = np.minimum(edges.a, edges.b), np.maximum(edges.a, edges.b)
        starts = np.flatnonzero((np.arange(n) - edges.offsets[owner]) % cls.GROUP == 0)
        boxes = np.zeros(0, dtype=object)
        if n:
            glo = np.minimum.reduceat(lo, starts, axis=0)
            ghi = np.maximum.reduceat(hi, starts, axis=0)
            boxes = shapely.box(glo[:, 0], glo[:, 1], ghi[:, 0], ghi[:, 1])
        tree = shapely.STRtree(np.asarray(boxes, dtype=object))
        tree.query(shapely.Point(0.0, 0.0))  # GEOS builds the tree on its first query
        pred, succ, first = edges.links()
        groups = np.r_[starts, n].astype(np.int64)
        lo_xy = (lo[:, 0].copy(), lo[:, 1].copy())
        hi_xy = (hi[:, 0].copy(), hi[:, 1].copy())
        return cls(edges, owner, pred, succ, first, lo_xy, hi_xy, groups, tree)

    def candidates(self, bounds: FloatArray, part: IntArray) -> tuple[IntArray, IntArray]:
        """(query, edge), sorted, for the edges of ``part[q]`` whose box meets ``bounds[q]``."""
        if len(bounds) == 0 or len(self.owner) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        qlx, qly = bounds[:, 0] - EXPAND, bounds[:, 1] - EXPAND
        qhx, qhy = bounds[:, 2] + EXPAND, bounds[:, 3] + EXPAND
        q, g = self.tree.query(shapely.box(qlx, qly, qhx, qhy))
        keep = np.flatnonzero(self.owner[self.groups[g]] == part[q])
        q, g = q[keep], g[keep]
        k, e = _repeat_ranges(self.groups[g], self.groups[g + 1] - self.groups[g])
        q = q[k]
        lo, hi = self.lo, self.hi
        k = np.flatnonzero((lo[0][e] <= qhx[q]) & (hi[0][e] >= qlx[q]))
        q, e = q[k], e[k]
        k = np.flatnonzero((lo[1][e] <= qhy[q]) & (hi[1][e] >= qly[q]))
        # One sort of (query, edge) keys instead of a two-key lexsort.
        n = np.int64(len(self.owner))
        key = np.sort(q[k].astype(np.int64) * n + e[k])
        return key // n, key % n


def _side(
    ux: FloatArray, uy: FloatArray, vx: FloatArray, vy: FloatArray
) -> tuple[FloatArray, BoolArray]:
    """``u × v`` and whether its sign is certain (``v`` clear of the line of ``u``)."""
    o = ux * vy - uy * vx
    nu = np.abs(ux) + np.abs(uy)
    sure = np.abs(o) > nu * (TOL_REL * (np.abs(vx) + np.abs(vy)) + TOL_ABS)
    return o, sure


def _repeat_ranges(start: IntArray, count: IntArray) -> tuple[IntArray, IntArray]:
    """For ranges ``start[i] : start[i] + count[i]``: (range of each element, element)."""
    owner = np.repeat(np.arange(len(count)), count)
    first = np.cumsum(count) - count
    return owner, start[owner] + (np.arange(int(count.sum())) - first[owner])


def _sums(index: IntArray, weights: npt.ArrayLike, n: int) -> FloatArray:
    """``np.bincount`` with weights, typed."""
    return np.bincount(index, weights, n).astype(np.float64, copy=False)


def _propagate(first: BoolArray, status0: FloatArray, net: FloatArray) -> FloatArray:
    """Status at the start of each edge of runs that begin at ``first`` with ``status0``."""
    group = np.cumsum(first) - 1
    before = np.cumsum(net) - net
    return status0[group] + before - before[np.flatnonzero(first)][group]


@dataclass(frozen=True)
class _PairEdges:
    """The parcel's edges repeated for each pair, in the pair's local coordinates."""

    pair: IntArray  # pair of each pair-edge
    offsets: IntArray  # first pair-edge of each pair
    count: IntArray  # pair-edges of each pair
    a: FloatArray
    b: FloatArray
    first: BoolArray  # first edge of a ring of the pair
    origin: FloatArray  # (n_pairs, 2) the parcel's first vertex
    start_xy: FloatArray  # absolute start of each ring's first edge (rows of ``first``)


def _pair_edges(parcels: ObjArray, parcel_of: IntArray) -> _PairEdges:
    uniq, pc = np.unique(parcel_of, return_inverse=True)
    pe = PolygonEdges.of(parcels[uniq])
    begin = pe.offsets[:-1][pc]
    count = np.diff(pe.offsets)[pc]
    pair, edge = _repeat_ranges(begin, count)
    origin = pe.a[np.minimum(begin, max(len(pe.a) - 1, 0))] if len(pe.a) else np.zeros((0, 2))
    origin = origin.reshape(-1, 2)
    first = np.ones(len(edge), dtype=bool)
    first[1:] = (pe.ring[edge[1:]] != pe.ring[edge[:-1]]) | (pair[1:] != pair[:-1])
    return _PairEdges(
        pair=pair,
        offsets=np.cumsum(count) - count,
        count=count,
        a=pe.a[edge] - origin[pair],
        b=pe.b[edge] - origin[pair],
        first=first,
        origin=origin,
        start_xy=pe.a[edge[first]],
    )


@dataclass(frozen=True)
class _Crossings:
    """Transversal crossings of part edges (candidates) with parcel edges (pair-edges)."""

    acc_e: FloatArray  # per candidate: Σ ±(1 − t)
    net_e: FloatArray  # per candidate: Σ ±1
    acc_f: FloatArray  # per pair-edge
    net_f: FloatArray
    start_f: FloatArray  # per pair-edge: its start status from its first crossing (or NaN)
    undecided: IntArray  # candidates of the rows whose configuration is not certain


def _crossings(ea: FloatArray, eb: FloatArray, pe: _PairEdges, cq: IntArray) -> _Crossings:
    """Crossings of every candidate with the parcel edges of its pair whose boxes meet it.

    A part edge enters the parcel where its start is right of the parcel edge (``o1 < 0``);
    a parcel edge enters the part where its start is right of the part edge (``o3 < 0``).
    """
    cand, pedge = _repeat_ranges(pe.offsets[cq], pe.count[cq])
    for axis in (0, 1):
        elo = np.minimum(ea[:, axis], eb[:, axis]) - EXPAND
        ehi = np.maximum(ea[:, axis], eb[:, axis]) + EXPAND
        flo, fhi = (
            np.minimum(pe.a[:, axis], pe.b[:, axis]),
            np.maximum(pe.a[:, axis], pe.b[:, axis]),
        )
        near = np.flatnonzero((elo[cand] <= fhi[pedge]) & (ehi[cand] >= flo[pedge]))
        cand, pedge = cand[near], pedge[near]
    e0, e1, f0, f1 = ea[cand], eb[cand], pe.a[pedge], pe.b[pedge]
    fd, ed = f1 - f0, e1 - e0
    o1, s1 = _side(fd[:, 0], fd[:, 1], e0[:, 0] - f0[:, 0], e0[:, 1] - f0[:, 1])
    o2, s2 = _side(fd[:, 0], fd[:, 1], e1[:, 0] - f0[:, 0], e1[:, 1] - f0[:, 1])
    o3, s3 = _side(ed[:, 0], ed[:, 1], f0[:, 0] - e0[:, 0], f0[:, 1] - e0[:, 1])
    o4, s4 = _side(ed[:, 0], ed[:, 1], f1[:, 0] - e0[:, 0], f1[:, 1] - e0[:, 1])
    apart = (s1 & s2 & ((o1 > 0) == (o2 > 0))) | (s3 & s4 & ((o3 > 0) == (o4 > 0)))
    cross = s1 & s2 & s3 & s4 & ((o1 > 0) != (o2 > 0)) & ((o3 > 0) != (o4 > 0))
    k = np.flatnonzero(cross)
    we, wf = np.where(o1[k] < 0, 1.0, -1.0), np.where(o3[k] < 0, 1.0, -1.0)
    t, u = o1[k] / (o1[k] - o2[k]), o3[k] / (o3[k] - o4[k])
    c, f = cand[k], pedge[k]
    order = np.lexsort((u, f))
    firsts = order[np.r_[True, f[order][1:] != f[order][:-1]]] if len(k) else order
    start_f = np.full(len(pe.pair), np.nan)
    start_f[f[firsts]] = (wf[firsts] < 0).astype(float)  # entering: it started outside
    n_e, n_f = len(cq), len(pe.pair)
    return _Crossings(
        acc_e=_sums(c, we * (1.0 - t), n_e),
        net_e=_sums(c, we, n_e),
        acc_f=_sums(f, wf * (1.0 - u), n_f),
        net_f=_sums(f, wf, n_f),
        start_f=start_f,
        undecided=cand[~(apart | cross)],
    )


def _ray_status(p: FloatArray, pe: _PairEdges, pair: IntArray) -> tuple[FloatArray, BoolArray]:
    """Inside the parcel of ``pair[k]`` or not, for points ``p[k]``: a crossing number.

    The +x ray from ``p`` crosses a parcel edge that spans its ordinate (half-open) and has
    ``p`` on its left going up, on its right going down; a point on the line of such an edge is
    not certain.
    """
    owner, pedge = _repeat_ranges(pe.offsets[pair], pe.count[pair])
    q, f0, f1 = p[owner], pe.a[pedge], pe.b[pedge]
    o, sure = _side(
        f1[:, 0] - f0[:, 0], f1[:, 1] - f0[:, 1], q[:, 0] - f0[:, 0], q[:, 1] - f0[:, 1]
    )
    spans = (f0[:, 1] > q[:, 1]) != (f1[:, 1] > q[:, 1])
    hit = spans & ((o > 0) == (f1[:, 1] > f0[:, 1]))
    return _sums(owner, hit, len(p)) % 2.0, _sums(owner, spans & ~sure, len(p)) > 0


def _part_status(
    index: EdgeIndex, cq: IntArray, ce: IntArray, ea: FloatArray, pe: _PairEdges, net: FloatArray
) -> tuple[FloatArray, BoolArray]:
    """Status (inside the parcel) at the start of each candidate, and inconsistent candidates.

    ``(cq, ce)`` are sorted. A candidate whose previous edge is not one starts outside (the
    previous edge's box misses the parcel's); the first edge of a ring whose last edge is a
    candidate takes a crossing number; every other one continues its predecessor, the one
    before it in the sorted order. A run must end outside, or where its successor starts.
    """
    key = cq * len(index.owner) + ce

    def find(edge: IntArray) -> IntArray:
        want = cq * len(index.owner) + edge
        i = np.minimum(np.searchsorted(key, want), len(key) - 1)
        return np.where(key[i] == want, i, -1)

    pred, succ = find(index.pred[ce]), find(index.succ[ce])
    ray = (pred >= 0) & index.first[ce]
    start = (pred < 0) | ray
    status0 = np.zeros(len(cq))
    status0[ray], unsure = _ray_status(ea[ray], pe, cq[ray])
    status = _propagate(start, status0[start], net)
    end = status + net
    bad = np.where(succ >= 0, status[succ] != end, end != 0.0)
    bad[ray] |= unsure
    return status, bad


def _parcel_status(
    pe: _PairEdges, parts: ObjArray, part_of: IntArray, cr: _Crossings
) -> tuple[FloatArray, BoolArray]:
    """Status (inside the part) at the start of each pair-edge, and inconsistent pair-edges.

    A ring with crossings starts from its first crossing's direction, one without crossings
    from ``shapely.contains_xy`` at its first vertex; its crossings must add up to zero.
    """
    group = np.cumsum(pe.first) - 1
    starts = np.flatnonzero(pe.first)
    before = np.cumsum(cr.net_f) - cr.net_f
    rel = before - before[starts][group]
    s0 = np.full(len(starts), np.nan)
    crossed = np.flatnonzero(~np.isnan(cr.start_f))
    g, at = np.unique(group[crossed], return_index=True)
    s0[g] = cr.start_f[crossed[at]] - rel[crossed[at]]
    rest = np.flatnonzero(np.isnan(s0))
    owner = parts[part_of[pe.pair[starts[rest]]]]
    s0[rest] = shapely.contains_xy(owner, pe.start_xy[rest, 0], pe.start_xy[rest, 1])
    loop = _sums(group, cr.net_f, len(starts)) != 0.0
    return s0[group] + rel, loop[group]


def _not01(s: FloatArray) -> BoolArray:
    return (s != 0.0) & (s != 1.0)


def _edge_terms(
    a: FloatArray, b: FloatArray, start: FloatArray, acc: FloatArray, net: FloatArray
) -> tuple[FloatArray, BoolArray]:
    """∫ω over the inside part of each edge, and whether the edge is inconsistent."""
    m = start + acc  # the fraction of the edge inside the other polygon
    bad = _not01(start) | _not01(start + net)
    bad |= (m < -_FRACTION_SLACK) | (m > 1.0 + _FRACTION_SLACK)
    return m * (a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]) / 2.0, bad


def pair_areas(
    parcels: ObjArray,
    parcel_of: IntArray,
    parts: ObjArray,
    part_of: IntArray,
    index: EdgeIndex,
    *,
    bounds: FloatArray | None = None,
) -> tuple[FloatArray, BoolArray]:
    """Planar area of ``parcels[parcel_of[k]] ∩ parts[part_of[k]]`` for every pair ``k``.

    Parameters
    ----------
    parcels, parts
        Polygons or MultiPolygons, either ring orientation; ``parts`` may be prepared (one
        point-in-polygon test per parcel ring and pair is made on them).
    parcel_of, part_of
        The pairs, as positions in ``parcels`` and ``parts``.
    index
        :meth:`EdgeIndex.build` of ``parts``.
    bounds
        ``shapely.bounds(parcels)`` if the caller has them (computed here otherwise).

    Returns
    -------
    (area, decided)
        The areas (m² for metric coordinates) and, per pair, whether the configuration was
        certain; an undecided pair's area means nothing.

    Examples
    --------
    >>> from shapely import box
    >>> parts = np.array([box(5, 5, 20, 20)], dtype=object)
    >>> area, decided = pair_areas(
    ...     np.array([box(0, 0, 10, 10)], dtype=object), np.array([0]), parts, np.array([0]),
    ...     EdgeIndex.build(parts))
    >>> round(float(area[0]), 9), bool(decided[0])
    (25.0, True)
    """
    n = len(parcel_of)
    if n == 0:
        return np.zeros(0), np.zeros(0, dtype=bool)
    pe = _pair_edges(parcels, parcel_of)
    box = shapely.bounds(parcels[parcel_of]) if bounds is None else bounds[parcel_of]
    cq, ce = index.candidates(box, part_of)
    ea = index.edges.a[ce] - pe.origin[cq]
    eb = index.edges.b[ce] - pe.origin[cq]
    cr = _crossings(ea, eb, pe, cq)
    status_e, link_e = _part_status(index, cq, ce, ea, pe, cr.net_e)
    term_e, bad_e = _edge_terms(ea, eb, status_e, cr.acc_e, cr.net_e)
    status_f, loop_f = _parcel_status(pe, parts, part_of, cr)
    term_f, bad_f = _edge_terms(pe.a, pe.b, status_f, cr.acc_f, cr.net_f)
    area = _sums(cq, term_e, n) + _sums(pe.pair, term_f, n)
    bad = pe.count == 0
    bad[cq[cr.undecided]] = True
    bad[cq[bad_e | link_e]] = True
    bad[pe.pair[bad_f | loop_f]] = True
    return area, ~bad


def agrees(
    green: FloatArray, decided: BoolArray, geos: FloatArray, parcel_area: FloatArray
) -> BoolArray:
    """Whether a decided Green area confirms a GEOS area, pair by pair.

    The tolerance, ``min(AGREE_REL·A + AGREE_ABS_M2, AGREE_CAP·A)`` with ``A`` the parcel's
    planar area, covers GEOS's rounding of the crossing points it computes (half an ulp of a
    Gauss-Krüger easting, ~4e-9 m, over edges of tens of metres: ~1e-7 m²) and stays a hundred
    times below the 1e-6 relative conservation check for any parcel with fewer than 100 pairs.
    """
    return decided & (np.abs(green - geos) <= agreement_m2(parcel_area))


def agreement_m2(parcel_area: FloatArray) -> FloatArray:
    """The tolerance of :func:`agrees` for parcels of planar area ``parcel_area``."""
    return np.minimum(AGREE_REL * parcel_area + AGREE_ABS_M2, AGREE_CAP * parcel_area)
