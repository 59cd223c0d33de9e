"""Polygons certainly valid by GEOS's rules, found from their coordinates in numpy.

``shapely.is_valid`` costs about a microsecond per parcel; on a million parcels it was the
largest step of reading a chunk. Most parcels are small convex rings (survey quads, Voronoi
cells), and for those validity follows from a few sign tests done on all coordinates at once.
:func:`valid_mask` certifies what it can this way and asks GEOS about the rest only, so its
answer is exactly ``shapely.is_valid``'s: a polygon that is not certified is not called
invalid, it is checked by GEOS.

What is certified
-----------------
A Polygon (or a MultiPolygon of one part) whose coordinates form one closed ring that is
*strictly convex*: with consecutive repeated points dropped (GEOS allows them), at least three
vertices remain; at every vertex the ring turns the same way, each turn shown nonzero beyond
any rounding error; and the edge directions go round exactly once. A closed polygon whose
direction turns monotonically, by less than a half-turn at each vertex and by one full turn
in all, is the boundary of a strictly convex polygon: simple, with no spike, no back-tracking
or collinear overlap, no self-touching vertex, no repeated vertex and a nonzero area. GEOS
finds such a ring valid (its predicates are exact on the coordinates as stored), so a
certificate can never contradict it. Everything else -- holes, several parts, collinear or
nearly collinear vertices, concave rings, bow-ties, rings winding twice, NaN or infinite
coordinates -- goes to GEOS.

Holes need no count of their own: a polygon's coordinates list its exterior ring and then
its holes, and the exterior ring closes on its first point, so the coordinates of a polygon
with a hole visit that point again before their end: they are no simple ring and are not
certified. (An empty hole has no coordinates; GEOS finds it valid, as the certificate does.)
Only where repeated points are dropped (a second pass, for the rings that failed with them)
is GEOS asked for the number of holes: dropping them would merge a hole made of copies of
the first point, invalid, into the closing point.

The error margin
----------------
The turn at vertex ``b`` (from ``a`` to ``c``) is the sign of the cross product of its two
edges, ``det = (b.x - a.x)(c.y - b.y) - (b.y - a.y)(c.x - b.x)``, computed in floating point
as ``l - r``. It has the form of Shewchuk's orientation test (two products of differences of
stored coordinates), and his analysis (``ccwerrboundA``, "Adaptive Precision Floating-Point
Arithmetic", 1997) bounds how far rounding can move it from its exact value: by
``(3 + 16u) u (|l| + |r|)``, ``u = 2**-53``, whatever the size of the coordinates, as each
difference and product is off by at most half a unit in its last place, and the final
subtraction keeps the sign of its exact result. A turn counts only where ``|det|`` exceeds
``8u (|l| + |r|)``, over twice that, plus ``1e-300`` for products so small that they lose
relative precision (underflow); so a turn counted as left is left in exact arithmetic,
and a vertex exactly on its neighbours' line (a spike, a collinear run) never counts. Overflow
or a NaN or infinite coordinate makes the margin infinite or the comparison NaN: no turn
counts. Which half-turn an edge points into (by the signs of its ``dx`` and ``dy``) needs no
margin: the sign of a difference of two floats is exact. The margin is relative, so tiny
parcels far from the origin (0.01 m edges at x = 38 500 000, 1e-7 degree edges at longitude
117) are certified as readily as large ones; only corners within about 1e-15 (relative) of
straight are left to GEOS. Without the margin, collinear triangles whose coordinate
differences round are certified (tests/geo/test_valid_fast.py holds one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

__all__ = ["certified_valid", "valid_mask"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
ComplexArray = npt.NDArray[np.complex128]

#: Relative margin on a turn: twice Shewchuk's bound (3 + 16u) u on the rounding of ``det``.
REL_MARGIN = 8.0 * 2.0**-53
#: Absolute margin, for products that underflow (their error is absolute, ~5e-324).
ABS_MARGIN = 1e-300

#: Features certified first; the others are only where at least WORTH of these were.
SAMPLE = 4096
WORTH = 0.25

_POLYGON, _MULTIPOLYGON = 3, 6
_BLOCK = 1 << 15  # points per block: a few arrays of it fit in a processor's L2 cache


def valid_mask(
    geoms: npt.NDArray[np.object_], types: npt.NDArray[np.int32] | None = None
) -> BoolArray:
    """``shapely.is_valid(geoms)``, exactly, with GEOS asked only about uncertified polygons.

    ``types`` (``shapely.get_type_id(geoms)``) may be passed when already known.

    Examples
    --------
    >>> from shapely import Polygon
    >>> square = Polygon([(0, 0), (1, 0), (1, 1), (0, 1)])
    >>> bowtie = Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    >>> valid_mask(np.array([square, bowtie, None], dtype=object)).tolist()
    [True, False, False]
    """
    if types is None:
        types = shapely.get_type_id(geoms)
    # Certifying costs about a quarter of GEOS's check per feature, wasted on a feature it
    # cannot certify: where a sample shows few it can, the rest goes to GEOS straight away.
    head = min(len(geoms), SAMPLE)
    out = np.zeros(len(geoms), dtype=bool)
    out[:head] = certified_valid(geoms[:head], types[:head])
    if head < len(geoms) and out[:head].mean() >= WORTH:
        out[head:] = certified_valid(geoms[head:], types[head:])
    rest = np.flatnonzero(~out)
    if len(rest):
        out[rest] = shapely.is_valid(geoms[rest])
    return out


def certified_valid(
    geoms: npt.NDArray[np.object_], types: npt.NDArray[np.int32] | None = None
) -> BoolArray:
    """Polygons certainly valid: strictly convex single rings (see the module's notes).

    ``False`` says nothing: the geometry may be valid or not (GEOS decides).
    """
    n = len(geoms)
    out = np.zeros(n, dtype=bool)
    if n == 0:
        return out
    if types is None:
        types = shapely.get_type_id(geoms)
    cand = types == _POLYGON
    multi = np.flatnonzero(types == _MULTIPOLYGON)
    if len(multi):
        cand[multi[shapely.get_num_geometries(geoms[multi]) == 1]] = True
    idx = np.flatnonzero(cand)
    if len(idx) == 0:
        return out
    sub = geoms if len(idx) == n else geoms[idx]
    xy, which = shapely.get_coordinates(sub, return_index=True)
    counts = np.bincount(which, minlength=len(sub)).astype(np.int64)  # cheaper than asking GEOS
    # Points as complex numbers x + iy: one array to compare, subtract and gather.
    z = xy.view(np.complex128).ravel()
    # NaN, infinite and huge coordinates are refused by the comparisons, not reported.
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        out[idx] = convex_rings(z, counts, lambda i: _without_holes(sub[i]))
    return out


def convex_rings(
    z: ComplexArray,
    counts: IntArray,
    one_ring: Callable[[IntArray], BoolArray] | None = None,
) -> BoolArray:
    """Which of the runs of points ``z`` (``counts`` each, in order) are strictly convex rings.

    A run is taken as a closed ring: its last point must equal its first. A run of several
    rings (a polygon with holes) visits its first point where the exterior ring closes, so it
    is no simple ring and is not certified. Runs with repeated points are tested again with
    them dropped, if ``one_ring`` (given the indices of runs) shows they are one ring each:
    dropping repeats would merge a hole of one repeated point (invalid) into the closing point.
    """
    ok = np.zeros(len(counts), dtype=bool)
    runs = np.flatnonzero(counts >= 4)
    if len(runs) < len(counts):  # GEOS builds no ring of 1 to 3 points: empty polygons
        z, counts = z[np.repeat(counts >= 4, counts)], counts[runs]
    if len(runs) == 0:
        return ok
    s, e = _bounds(counts)
    closed, convex = np.empty(len(runs), dtype=bool), np.empty(len(runs), dtype=bool)
    # Blocks of whole rings, of about _BLOCK points: their temporary arrays stay in the
    # processor's cache (twice as fast on a million rings as whole-array operations).
    r0 = 0
    while r0 < len(runs):
        r1 = max(r0 + 1, int(np.searchsorted(e, s[r0] + _BLOCK, side="right")))
        zb, sb, eb = z[s[r0] : e[r1 - 1]], s[r0:r1] - s[r0], e[r0:r1] - s[r0]
        closed[r0:r1] = zb[sb] == zb[eb - 1]
        convex[r0:r1] = _turns_once(zb, sb, eb)
        r0 = r1
    ok[runs] = closed & convex
    # Rings that failed may have failed on a repeated point (a zero-length edge) only.
    if one_ring is None:
        return ok
    redo = closed & ~ok[runs]
    if redo.any():
        ok[runs[redo]] = _without_repeats(
            z[np.repeat(redo, counts)], counts[redo], runs[redo], one_ring
        )
    return ok


def _without_holes(geoms: npt.NDArray[np.object_]) -> BoolArray:
    """Polygons, or MultiPolygons of one part, without interior rings (even empty ones)."""
    # get_geometry(polygon, 0) is the polygon; get_num_interior_rings of a MultiPolygon is 0.
    parts = shapely.get_geometry(geoms, 0)
    return shapely.get_num_interior_rings(parts) == 0


def _without_repeats(
    z: ComplexArray, counts: IntArray, runs: IntArray, one_ring: Callable[[IntArray], BoolArray]
) -> BoolArray:
    """Closed runs with consecutive repeated points dropped: strictly convex (if they had any).

    Runs without repeated points, and runs of several rings, are not tested again (``False``).
    """
    s, e = _bounds(counts)
    keep = np.ones(len(z), dtype=bool)
    np.not_equal(z[1:], z[:-1], out=keep[1:])
    keep[s] = True  # the first point, and the last point only where it is no repeat
    kept = np.cumsum(keep)
    m = kept[e - 1] - kept[s] + 1
    z = z[keep]
    ok = (m >= 4) & (m < counts)  # a closed ring of 3 distinct vertices or more; had repeats
    if ok.any():
        ok[ok] = one_ring(runs[ok])
    if ok.any():
        ok[ok] = _turns_once(z[np.repeat(ok, m)], *_bounds(m[ok]))
    return ok


def _bounds(counts: IntArray) -> tuple[IntArray, IntArray]:
    e = np.cumsum(counts)
    return e - counts, e


def _turns_once(z: ComplexArray, s: IntArray, e: IntArray) -> BoolArray:
    """Closed rings ``[s, e)``, at least 4 points each: which are strictly convex.

    Each vertex's turn must be certain (the margin of the module's notes), all of one sign,
    and the edge directions must go round once.
    """
    # Edge j: point j -> j + 1. Slot e - 1 (which would cross to the next run) holds the
    # ring's first edge again, so that turn j, at point j + 1, from edge j to slot j + 1, covers
    # every vertex of the ring for j in s .. e - 2, the first point (= point e - 1) last.
    turn, change = _turns_and_changes(_edges(z.real, s, e), _edges(z.imag, s, e))
    # With signs in {-1, 0, 1}, |sum| = number of vertices only if all are 1 or all are -1.
    signs = _run_sums(turn, s, e - 1)
    changes = _run_sums(change, s, e - 1)
    return (np.abs(signs) == e - s - 1) & (changes == 2)


def _edges(v: FloatArray, s: IntArray, e: IntArray) -> FloatArray:
    """One coordinate of each edge, contiguous (numpy's fast loops), slot e - 1 as above."""
    d = np.empty(len(v))
    np.subtract(v[1:], v[:-1], out=d[:-1])
    d[e - 1] = d[s]
    return d


def _turns_and_changes(dx: FloatArray, dy: FloatArray) -> tuple[npt.NDArray[np.int8], BoolArray]:
    """Turn signs from each edge to the next, and whether the half-turn changes there."""
    turn = _turn_signs(dx[:-1], dy[:-1], dx[1:], dy[1:])
    half = _half(dx, dy)
    return turn, half[:-1] != half[1:]


def _half(dx: FloatArray, dy: FloatArray) -> BoolArray:
    """Half-turn of an edge's direction: (-90°, 90°] or (90°, 270°]. Exact: signs only.

    With every turn strictly between 0 and a half-turn, the half changes at most once per
    turn and twice per full turn: two changes around a ring is a total turning of one turn.
    """
    return (dx > 0) | ((dx == 0) & (dy > 0))


def _turn_signs(
    ax: FloatArray, ay: FloatArray, bx: FloatArray, by: FloatArray
) -> npt.NDArray[np.int8]:
    """Sign of the turn from edge ``a`` to edge ``b``: 1 left, -1 right, 0 uncertain."""
    left = ax * by
    right = ay * bx
    det = left - right
    np.abs(left, out=left)
    np.abs(right, out=right)
    margin = left
    margin += right
    margin *= REL_MARGIN
    margin += ABS_MARGIN
    # NaN (overflow, non-finite input) fails both comparisons: sign 0.
    out = (det > margin).view(np.int8)
    np.negative(margin, out=margin)
    out -= (det < margin).view(np.int8)
    return out


def _run_sums(v: npt.NDArray[np.generic], s: IntArray, e: IntArray) -> IntArray:
    """Sums of ``v[s:e]`` for each pair (``v`` of -1, 0 or 1), by one cumulative sum."""
    # 32 bits hold any partial sum of fewer than 2**31 terms, and are half the memory to write.
    dtype = np.int32 if len(v) < 2**31 else np.int64
    c: npt.NDArray[np.signedinteger[Any]] = np.empty(len(v) + 1, dtype=dtype)
    c[0] = 0
    np.cumsum(v, dtype=dtype, out=c[1:])
    return (c[e] - c[s]).astype(np.int64)
