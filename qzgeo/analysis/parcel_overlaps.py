"""Parcels that overlap one another: every such pair, cheap to rule out on a clean coverage.

A duplicated parcel (the same polygon twice after a bad merge), or two parcels that overlap,
are each measured in full: every parcel's own numbers are right, but the zone totals and the
command's line add the shared land once per parcel over it. :func:`find_overlaps` finds every
pair whose interiors share at least :data:`OVERLAP_MIN_M2`, so that the run says so
(:class:`ParcelOverlaps`).

How, sound on any input and cheap where parcels tile:

1. Segment matching (numpy, no GEOS call): each ring is taken with its interior on its left.
   A segment is *matched* when exactly one other segment is its reverse and none runs the same
   way. Summed as chains, the parcels' boundaries give at each point the number of parcels
   over it (the winding number), and matched pairs cancel in that sum: land under two parcels
   can only be bounded by unmatched segments. Parcels with one (the coverage's edge, a gap,
   a vertex the neighbour lacks, or an overlap) are *open*.
2. Every open parcel is checked exactly against its neighbours (GEOS ``relate``: interiors
   meeting in two dimensions; not for two convex parcels with a matched segment between
   them, which lie on either side of its line). From each parcel found in a pair (sharing
   more than a rounding sliver, :data:`SLIVER_M2`), its matched neighbours are checked too,
   until none is new: the count of parcels over a point does not change across a matched
   segment, so land under two parcels is reached from its open edge that way.
3. The shared land of each pair is cut and measured on the ellipsoid; pairs sharing less
   than :data:`OVERLAP_MIN_M2` are rounding slivers (neighbours whose shared edge has a vertex
   on one side only), not overlaps.

A clean coverage (every shared edge with the same vertices on both sides) has only its outer
parcels open: ~1.5 CPU-s per million parcels, all numpy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from qzgeo.analysis.convex_apart import convex_apart
from qzgeo.analysis.overlap_area import shared_m2, sliver_area
from qzgeo.analysis.zone_pick import ZONE_MIN_M2
from qzgeo.geo.area import (
    M2_PER_HA,
    M2_PER_MU,
    fixed_point_m2,
    from_fixed_point_m2,
)

__all__ = [
    "MAX_PAIRS_NAMED",
    "OVERLAP_MIN_M2",
    "ParcelOverlaps",
    "find_overlaps",
    "overlapping_pairs",
    "shared_m2",
    "sliver_area",
]

#: Parcels sharing less than this (m²) do not overlap: the overlay's conflict tolerance, the
#: sliver below which a parcel is not in a zone either (:data:`ZONE_MIN_M2`).
OVERLAP_MIN_M2 = ZONE_MIN_M2
#: The pairs named in the warning and in the report (the first by feature id); the rest are
#: counted.
MAX_PAIRS_NAMED = 10

Ints = npt.NDArray[np.int64]
_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xBF58476D1CE4E5B9)


@dataclass
class _Rings:
    """Every ring's coordinates, one after the other: the parcel of each coordinate, where
    each ring starts, and whether it is an exterior ring."""

    xy: npt.NDArray[np.float64]
    owner: Ints
    start: npt.NDArray[np.bool_]  # True at the first coordinate of a ring
    shell: npt.NDArray[np.bool_]  # by ring


def _rings(geoms: npt.NDArray[np.object_]) -> _Rings:
    """The rings of polygons: single-ring polygons (nearly all) read at once, others by part."""
    simple = (shapely.get_type_id(geoms) == 3) & (shapely.get_num_interior_rings(geoms) == 0)
    if simple.all():  # most chunks: no copies of the coordinates, no lookups
        xy, own = shapely.get_coordinates(geoms, return_index=True)
        start = np.r_[True, own[1:] != own[:-1]] if len(own) else np.zeros(0, bool)
        return _Rings(xy, own.astype(np.int64), start, np.ones(int(start.sum()), bool))
    ids = np.flatnonzero(simple)
    xy1, own1 = shapely.get_coordinates(geoms[ids], return_index=True)
    own1 = ids[own1]
    rest = np.flatnonzero(~simple & ~shapely.is_missing(geoms))
    parts, part_of = shapely.get_parts(geoms[rest], return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    xy2, coord_ring = shapely.get_coordinates(rings, return_index=True)
    own2 = rest[part_of[ring_of[coord_ring]]]
    start1 = np.r_[True, own1[1:] != own1[:-1]] if len(own1) else np.zeros(0, bool)
    start2 = np.r_[True, coord_ring[1:] != coord_ring[:-1]] if len(xy2) else np.zeros(0, bool)
    shell2 = np.r_[True, ring_of[1:] != ring_of[:-1]] if len(rings) else np.zeros(0, bool)
    # rings that lost every coordinate (empty parts) have no start: keep the shells aligned
    shell2 = shell2[np.unique(coord_ring)] if len(xy2) else shell2[:0]
    return _Rings(
        np.concatenate([xy1, xy2]),
        np.concatenate([own1, own2]).astype(np.int64),
        np.concatenate([start1, start2]),
        np.concatenate([np.ones(int(start1.sum()), bool), shell2]),
    )


@dataclass
class _Matching:
    """What segment matching tells: the open parcels, and the matched segments (as their
    first coordinates; their parcels, the matched neighbours, are looked up when needed)."""

    open: npt.NDArray[np.bool_]
    owner: Ints  # the parcel of each coordinate
    first: Ints
    second: Ints
    known: npt.NDArray[np.bool_] | None = None  # whose convexity was worked out
    is_convex: npt.NDArray[np.bool_] | None = None

    def convex(self, geoms: npt.NDArray[np.object_], rows: Ints) -> npt.NDArray[np.bool_]:
        """Whether each parcel is convex (:func:`_convex`), for all of them; those of
        ``rows`` worked out (once: the searches ask about the same parcels again)."""
        if self.known is None:
            self.known = np.zeros(len(geoms), dtype=bool)
            self.is_convex = np.zeros(len(geoms), dtype=bool)
        assert self.is_convex is not None
        todo = np.unique(rows[~self.known[rows]])
        self.is_convex[todo] = _convex(geoms[todo])
        self.known[todo] = True
        return self.is_convex

    def neighbours(self) -> tuple[Ints, Ints]:
        """Pairs of distinct parcels with a matched segment between them."""
        left, right = self.owner[self.first], self.owner[self.second]
        apart = left != right
        return left[apart], right[apart]


def _mix(h: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    h ^= h >> np.uint64(29)
    h *= _M2
    h ^= h >> np.uint64(32)
    return h


def _segment_keys(bits: npt.NDArray[np.uint64], sa: Ints) -> tuple[npt.NDArray[Any], ...]:
    """Two independent 64-bit hashes of each segment's two ends (the same both ways),
    whether it runs from its lesser end by the first hash, and whether its ends hash alike
    (a repeated vertex, most likely)."""
    with np.errstate(over="ignore"):
        h1 = _mix((bits[:, 0] * _M1) ^ bits[:, 1])
        h2 = _mix((bits[:, 1] * _M2) ^ (bits[:, 0] + _M1))
        keys = []
        for h, m in ((h1, _M1), (h2, _M2)):
            a, b = h[sa], h[sa + 1]
            keys.append(_mix((np.minimum(a, b) * m) ^ np.maximum(a, b)))
        up, flat = h1[sa] < h1[sa + 1], h1[sa] == h1[sa + 1]
    return keys[0], keys[1], up, flat


def _match_segments(geoms: npt.NDArray[np.object_]) -> _Matching:
    """Open parcels and matched neighbours (step 1 of the module's method).

    Segments are brought together by sorting a hash of their ends (its top bits, with the
    segment's way and position below them); two are matched if they are the only two of
    their group, run opposite ways, and a second, independent 64-bit hash of their ends
    agrees (two different segments pass with a chance of ~2⁻¹⁰⁰: no coordinate is gathered
    again, which cost a third of the time).
    """
    r = _rings(geoms)
    first = np.flatnonzero(r.start)
    counts = np.diff(np.r_[first, len(r.xy)])
    ring_id = np.repeat(np.arange(len(first)), counts)
    sa = np.flatnonzero(~r.start[1:])  # segment k runs from coordinate sa[k] to sa[k] + 1
    # signed area of each ring (from its first point, for precision): its orientation; the
    # products of consecutive coordinates by slices, those across two rings left out
    rel = r.xy - np.repeat(r.xy[first], counts, axis=0)
    cross = rel[:-1, 0] * rel[1:, 1] - rel[1:, 0] * rel[:-1, 1]
    cross[r.start[1:]] = 0.0
    twice = np.bincount(ring_id[:-1], weights=cross, minlength=len(first))
    flip = (twice > 0) != r.shell  # the interior is on the right: reverse its segments
    bits = np.ascontiguousarray(r.xy + 0.0).view(np.uint64)  # + 0.0: -0.0 is 0.0
    key, check, up, flat = _segment_keys(bits, sa)
    fwd = up ^ flip[ring_id[sa]]
    ib = max(1, len(sa).bit_length())  # the segment's position, in the key's low bits
    packed = (key >> np.uint64(ib + 1)) << np.uint64(ib + 1)
    packed |= (fwd.astype(np.uint64) << np.uint64(ib)) | np.arange(len(sa), dtype=np.uint64)
    packed.sort()
    head = packed >> np.uint64(ib + 1)
    same = head[1:] == head[:-1]
    # a group of exactly two, one each way, whose second hashes agree
    two = same & np.r_[True, ~same[:-1]] & np.r_[~same[1:], True]
    k0 = np.flatnonzero(two)
    low = np.uint64((1 << ib) - 1)
    s0, s1 = (packed[k0] & low).astype(np.int64), (packed[k0 + 1] & low).astype(np.int64)
    ok = ((packed[k0] ^ packed[k0 + 1]) >> np.uint64(ib)) & np.uint64(1) == 1
    ok &= check[s0] == check[s1]
    s0, s1 = s0[ok], s1[ok]
    matched = np.zeros(len(sa), bool)
    matched[s0] = matched[s1] = True
    dot = np.flatnonzero(flat)  # a repeated vertex: no segment
    dot = dot[(bits[sa[dot]] == bits[sa[dot] + 1]).all(axis=1)]
    matched[dot] = True
    open_ = np.zeros(len(geoms), bool)
    open_[r.owner[sa[~matched]]] = True
    return _Matching(open_, r.owner, sa[s0], sa[s1])


def _overlapping(
    geoms: npt.NDArray[np.object_], tree: shapely.STRtree, which: Ints, m: _Matching, least: float
) -> tuple[Ints, Ints]:
    """Pairs (a in ``which``, b) of parcels whose interiors meet in two dimensions.

    Two convex parcels with a matched segment between them lie on either side of its line:
    no ``relate`` for them (most of an open parcel's neighbours in a coverage).
    """
    if not len(which):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    # boxes only: GEOS's intersects per pair cost more than the numpy test of _meeting
    q, b = tree.query(geoms[which])
    a = which[q]
    keep = a != b
    a, b = a[keep].astype(np.int64), b[keep].astype(np.int64)
    a, b = _not_apart(geoms, a, b, m)
    return _meeting(geoms, a, b, least, m)


def _meeting(
    geoms: npt.NDArray[np.object_], a: Ints, b: Ints, least: float, m: _Matching
) -> tuple[Ints, Ints]:
    """The pairs whose interiors meet and share at least ``least`` (CRS units²): less is a
    rounding sliver along an edge with a vertex on one side only, which neither counts nor
    leads on (a cadastre's every such edge would otherwise be cut and measured).

    Convex pairs told apart in numpy (:func:`qzgeo.analysis.convex_apart.convex_apart`: most
    of an open parcel's neighbours, those meeting it at a corner) skip GEOS; of the rest, only
    those that intersect at all are related.
    """
    if len(a):
        rest = ~convex_apart(geoms, m.convex(geoms, np.concatenate([a, b])), a, b)
        a, b = a[rest], b[rest]
        touch = shapely.intersects(geoms[a], geoms[b])
        a, b = a[touch], b[touch]
    inner = shapely.relate_pattern(geoms[a], geoms[b], "2********")
    a, b = a[inner], b[inner]
    if least > 0 and len(a):
        try:
            area = shapely.area(shapely.intersection(geoms[a], geoms[b]))
        except shapely.errors.GEOSException:  # measured with the 1 mm retry (shared_m2)
            return a, b
        a, b = a[area >= least], b[area >= least]
    return a, b


def _not_apart(geoms: npt.NDArray[np.object_], a: Ints, b: Ints, m: _Matching) -> tuple[Ints, Ints]:
    """The pairs (a, b) but those of two convex parcels with a matched segment between
    them: each lies on its side of the segment's line, so their interiors cannot meet."""
    left, right = m.neighbours()
    n = len(geoms)
    involved = np.zeros(n, dtype=bool)
    involved[a] = involved[b] = True
    mine = involved[left] | involved[right]
    sides = np.unique(np.minimum(left, right)[mine] * n + np.maximum(left, right)[mine])
    apart = np.isin(np.minimum(a, b) * n + np.maximum(a, b), sides)
    convex = m.convex(geoms, np.concatenate([a[apart], b[apart]]))
    apart &= convex[a] & convex[b]
    return a[~apart], b[~apart]


def _convex(geoms: npt.NDArray[np.object_]) -> npt.NDArray[np.bool_]:
    """Polygons of one ring that turn one way only at every vertex (collinear ones allowed)."""
    out = (shapely.get_type_id(geoms) == 3) & (shapely.get_num_interior_rings(geoms) == 0)
    ids = np.flatnonzero(out)
    xy, own = shapely.get_coordinates(geoms[ids], return_index=True)
    if not len(xy):
        return out
    d = np.diff(xy, axis=0)  # edge vectors; those between two polygons are left out below
    turn = d[:-1, 0] * d[1:, 1] - d[:-1, 1] * d[1:, 0]
    same = own[2:] == own[:-2]  # both edges of the turn in one ring
    start = np.flatnonzero(np.r_[True, own[1:] != own[:-1]])
    last = np.r_[start[1:], len(xy)] - 1
    # the turn at the first vertex: the ring's last edge, then its first
    wrap = d[last - 1, 0] * d[start, 1] - d[last - 1, 1] * d[start, 0]
    turns, of = np.r_[turn[same], wrap], np.r_[own[1:-1][same], own[start]]
    pos = np.bincount(of, weights=turns > 0, minlength=len(ids))
    neg = np.bincount(of, weights=turns < 0, minlength=len(ids))
    out[ids] = (pos == 0) | (neg == 0)
    return out


def overlapping_pairs(
    geoms: npt.NDArray[np.object_],
    among: tuple[Ints, Ints] | None = None,
    least: float = 0.0,
) -> tuple[Ints, Ints]:
    """Every pair ``i < j`` of polygons whose interiors meet (see the module's method), by
    at least ``least`` (CRS units², planar: :func:`sliver_area`).

    ``among``: only pairs of these (``i``, ``j``) are wanted (those across chunks); when they
    are fewer than the open parcels' neighbours, each is checked as it is instead.
    """
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    m = _match_segments(geoms)
    if among is not None and len(among[0]) <= PAIRS_PER_OPEN * int(m.open.sum()):
        i, j = _not_apart(geoms, np.minimum(*among), np.maximum(*among), m)
        return _pairs(*([x] for x in _meeting(geoms, i, j, least, m)))
    tree = shapely.STRtree(geoms)
    checked = m.open.copy()
    found_a, found_b = _overlapping(geoms, tree, np.flatnonzero(m.open), m, least)
    pairs = [(found_a, found_b)]
    neighbours: tuple[Ints, Ints] | None = None
    while len(found_a):
        if neighbours is None:  # built only when something overlaps
            neighbours = _adjacency(len(geoms), *m.neighbours())
        near = np.unique(np.concatenate([found_a, found_b]))
        starts, counts = neighbours[0][near], np.diff(neighbours[0])[near]
        at = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        todo = np.unique(np.concatenate([near, neighbours[1][at]]))
        todo = todo[~checked[todo]]
        checked[todo] = True
        found_a, found_b = _overlapping(geoms, tree, todo, m, least)
        pairs.append((found_a, found_b))
    return _pairs([p[0] for p in pairs], [p[1] for p in pairs])


#: An open parcel costs an exact check against each of its neighbours (about six to eight).
PAIRS_PER_OPEN = 8


def _pairs(a: list[Ints], b: list[Ints]) -> tuple[Ints, Ints]:
    """The pairs, each once, as ``i < j``, sorted."""
    x, y = np.concatenate(a).astype(np.int64), np.concatenate(b).astype(np.int64)
    both = np.unique(np.column_stack([np.minimum(x, y), np.maximum(x, y)]), axis=0)
    return both[:, 0], both[:, 1]


def _adjacency(n: int, left: Ints, right: Ints) -> tuple[Ints, Ints]:
    """Matched neighbours as CSR: ``starts`` (n + 1) and the neighbours, both ways."""
    src, dst = np.concatenate([left, right]), np.concatenate([right, left])
    order = np.argsort(src, kind="stable")
    starts = np.searchsorted(src[order], np.arange(n + 1))
    return starts.astype(np.int64), dst[order].astype(np.int64)


@dataclass
class ParcelOverlaps:
    """Overlapping parcel pairs of one run, as counted chunk by chunk (in any order).

    ``m2``: the area the pairs share, summed pair by pair (exact integer parts, so every
    path gives the same float); land under three parcels is in three pairs.
    """

    source: str
    pairs: int = 0
    hi: int = 0
    lo: int = 0
    named: list[tuple[Any, Any, float]] = field(default_factory=list)

    @property
    def m2(self) -> float:
        return from_fixed_point_m2(self.hi, self.lo)

    def add(self, fa: Any, fb: Any, m2: npt.NDArray[np.float64]) -> None:
        """Count pairs of feature ids ``fa``, ``fb`` sharing ``m2`` each."""
        if not len(m2):
            return
        hi, lo = fixed_point_m2(m2)
        self.pairs += len(m2)
        self.hi, self.lo = self.hi + int(hi.sum()), self.lo + int(lo.sum())
        fa, fb, m2 = _first_named(np.asarray(fa, dtype=object), np.asarray(fb, dtype=object), m2)
        rows = [(_plain(p), _plain(q), float(v)) for p, q, v in zip(fa, fb, m2, strict=True)]
        rows = [(min(p, q), max(p, q), v) if type(p) is type(q) else (p, q, v) for p, q, v in rows]
        self.named = sorted([*self.named, *rows], key=_pair_key)[:MAX_PAIRS_NAMED]

    def extend(self, other: ParcelOverlaps) -> None:
        self.pairs += other.pairs
        self.hi, self.lo = self.hi + other.hi, self.lo + other.lo
        self.named = sorted([*self.named, *other.named], key=_pair_key)[:MAX_PAIRS_NAMED]

    def message(self) -> str | None:
        """The warning, or ``None`` when no parcels overlap."""
        if not self.pairs:
            return None
        m2 = self.m2
        said = "; ".join(f"fid {p} and {q}: {v:,.2f} m²" for p, q, v in self.named)
        more = self.pairs - len(self.named)
        return (
            f"{self.source}: {self.pairs} pair(s) of parcels overlap ({said}"
            + (f"; and {more} more pair(s)" if more else "")
            + f"), sharing {m2:,.2f} m² ({m2 / M2_PER_HA:.6f} 公顷, {m2 / M2_PER_MU:.5f} 亩) "
            "in all. Each parcel's own row is right, but the zone totals of "
            "parcels_summary (面积, 受约束, 可用) and the run's totals count that land once "
            "per parcel over it (as its 合计 row says): subtract overlapping_parcels.overlap_m2 "
            "of parcels_report.json, or remove the duplicate parcels or dissolve the "
            "overlapping ones (in QGIS: select them by feature id) and run qzgeo analyze again"
        )

    def to_dict(self) -> dict[str, Any]:
        m2 = self.m2
        return {
            "pairs": self.pairs,
            "overlap_m2": m2,
            "overlap_ha": m2 / M2_PER_HA,
            "overlap_mu": m2 / M2_PER_MU,
            "first_pairs": [{"fids": [p, q], "m2": v} for p, q, v in self.named],
        }


def _first_named(
    fa: npt.NDArray[np.object_], fb: npt.NDArray[np.object_], m2: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.object_], npt.NDArray[np.float64]]:
    """The pairs that can be among the first named: all of them, unless the ids are integers
    (a whole layer twice: a million pairs, not a million Python tuples to sort)."""
    try:
        a, b = fa.astype(np.int64), fb.astype(np.int64)
    except (TypeError, ValueError, OverflowError):
        return fa, fb, m2
    if not (a == fa).all() or not (b == fb).all():
        return fa, fb, m2
    pick = np.lexsort((np.maximum(a, b), np.minimum(a, b)))[:MAX_PAIRS_NAMED]
    return fa[pick], fb[pick], m2[pick]


def _plain(v: Any) -> Any:
    v = v.item() if isinstance(v, np.generic) else v
    return v if isinstance(v, int | str) else str(v)


def _pair_key(row: tuple[Any, Any, float]) -> tuple[tuple[int, int, str], ...]:
    return (_id_key(row[0]), _id_key(row[1]))


def _id_key(v: Any) -> tuple[int, int, str]:
    """Integer ids in number order, any other after them as text."""
    return (0, v, "") if isinstance(v, int) else (1, 0, str(v))


def find_overlaps(
    geoms: npt.NDArray[np.object_], fids: Any, crs: Any, source: str, *, planar: Any = None
) -> ParcelOverlaps:
    """The pairs of parcels ``geoms`` (feature ids ``fids``) sharing at least
    :data:`OVERLAP_MIN_M2`, counted in a :class:`ParcelOverlaps` of ``source``; lon/lat
    parcels measured in ``planar`` (the overlay's CRS), as their areas are."""
    geoms = np.asarray(geoms, dtype=object)
    i, j = overlapping_pairs(geoms, least=sliver_area(crs))
    m2 = shared_m2(geoms[i], geoms[j], crs, planar=planar)
    keep = m2 >= OVERLAP_MIN_M2
    found = ParcelOverlaps(source)
    ids = np.asarray(fids, dtype=object)
    found.add(ids[i[keep]], ids[j[keep]], m2[keep])
    return found
