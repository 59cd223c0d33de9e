"""Area and centroid of polygon ∩ convex window by Sutherland-Hodgman clipping, in numpy.

For many pairs (window, part) at once: each ring of the part, oriented (exterior
counter-clockwise, holes clockwise), is clipped against the half-planes of the window's edges
one edge at a time, every pair together (a loop over window edges, not over pairs). Against a
convex window this is exact for the area and first moments of any subject, convex or not,
holed or not: where the subject leaves a half-plane, the path outside is replaced by a path
along the line, which leaves the winding number of every point inside the half-plane as it
was and makes it 0 outside; the degenerate bridge edges it may create have no area. The
shoelace sums of the clipped rings are then ∫ winding over the window: the area of
window ∩ part, holes subtracted.

Before clipping, a ring is thinned with the window's bounding box: any stretch of the ring
lying in one open half-plane beyond a side of the box (x < min x, say) may be replaced by its
chord, as both lie in that half-plane, away from the window, and so wind the same around every
point of it. The rings are cut once into runs of ``GROUP`` edges with their boxes
(:class:`RingRuns`); a pair keeps every vertex of the runs whose box meets the window's box
and one vertex per stretch of the other runs, then the stretches of single vertices.

A pair is *uncertain* -- no area is claimed for it -- when a vertex of a clipped ring comes
within rounding (``TOL_ABS`` m, or ``TOL_REL`` of the distances involved) of the line of a
window edge: the part may touch the window there, and an overlay would report the lines or
points of contact. The windows are parcels that :func:`convex_windows` found convex.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely

from qzgeo.geo.green_area import TOL_ABS, TOL_REL

__all__ = ["ClipResult", "RingRuns", "Windows", "clip_areas", "convex_windows"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
ObjArray = npt.NDArray[np.object_]

# A vertex within TOL_ABS (m), or TOL_REL of its distance to the edge's start, of the line of
# a window edge makes the pair uncertain: the rounding of the same cross products as in the
# Green check, hence its tolerances.
#: Angle (rad) by which a window's turning may miss 2π (rounding is far smaller; a star
#: turns by 4π or more).
_TURN_SLACK = 0.5


def _repeat_ranges(start: IntArray, count: IntArray) -> tuple[IntArray, IntArray]:
    """For ranges ``start[i] : start[i] + count[i]``: (range of each element, element)."""
    owner = np.repeat(np.arange(len(count)), count)
    first = np.cumsum(count) - count
    return owner, start[owner] + (np.arange(int(count.sum())) - first[owner])


@dataclass(frozen=True)
class RingRuns:
    """The oriented rings of polygon parts, open (no closing vertex), cut into runs.

    Attributes
    ----------
    x, y
        The vertices, ring after ring, part after part.
    part_rings
        ``len(parts) + 1`` offsets: the rings of part ``k`` are ``part_rings[k]:part_rings[k+1]``.
    ring_runs
        Offsets of each ring's runs; ``run_ring``: the ring of each run; ``run_start``,
        ``run_len``: its vertices.
    lo, hi
        x and y of the corners of each run's box (its vertices and the next run's first).
    valid
        Per part: a valid polygon (others are not clipped here).
    """

    x: FloatArray
    y: FloatArray
    part_rings: IntArray
    ring_runs: IntArray
    run_ring: IntArray
    run_start: IntArray
    run_len: IntArray
    lo: tuple[FloatArray, FloatArray]
    hi: tuple[FloatArray, FloatArray]
    valid: BoolArray

    GROUP = 16

    @classmethod
    def build(cls, parts: ObjArray) -> RingRuns:
        """Cut the rings of ``parts`` (Polygons, MultiPolygons) into runs of ``GROUP`` edges."""
        kinds = shapely.get_type_id(parts)
        polygonal = (kinds == shapely.GeometryType.POLYGON) | (
            kinds == shapely.GeometryType.MULTIPOLYGON
        )
        valid = polygonal & shapely.is_valid(parts) & ~shapely.is_empty(parts)
        parts = parts.copy()
        parts[~polygonal] = shapely.Polygon()  # not clipped here (a GEOS overlay reports them)
        oriented = shapely.orient_polygons(parts, exterior_cw=False)
        polys, owner = shapely.get_parts(oriented, return_index=True)
        rings, poly_of = shapely.get_rings(polys, return_index=True)
        xy, ring_of = shapely.get_coordinates(rings, return_index=True)
        closing = np.r_[ring_of[1:] != ring_of[:-1], True] if len(xy) else np.zeros(0, bool)
        xy, ring_of = xy[~closing], ring_of[~closing]
        n_rings = len(rings)
        ring_start = np.searchsorted(ring_of, np.arange(n_rings + 1)).astype(np.int64)
        part_rings = np.searchsorted(owner[poly_of], np.arange(len(parts) + 1)).astype(np.int64)
        size = np.diff(ring_start)
        n_runs = -(-size // cls.GROUP)
        ring_runs = np.r_[0, np.cumsum(n_runs)].astype(np.int64)
        run_ring, run_start = _repeat_ranges(np.zeros(n_rings, np.int64), n_runs)
        run_start = ring_start[run_ring] + run_start * cls.GROUP
        ring_end = ring_start[run_ring + 1]
        run_len = np.minimum(cls.GROUP, ring_end - run_start)
        nxt = np.where(run_start + run_len == ring_end, ring_start[run_ring], run_start + run_len)
        lo = np.zeros((len(run_start), 2))
        hi = np.zeros((len(run_start), 2))
        if len(run_start):
            lo = np.minimum(np.minimum.reduceat(xy, run_start, axis=0), xy[nxt])
            hi = np.maximum(np.maximum.reduceat(xy, run_start, axis=0), xy[nxt])
        return cls(
            xy[:, 0].copy(), xy[:, 1].copy(), part_rings, ring_runs, run_ring, run_start,
            run_len, (lo[:, 0].copy(), lo[:, 1].copy()), (hi[:, 0].copy(), hi[:, 1].copy()), valid,
        )  # fmt: skip


@dataclass(frozen=True)
class Windows:
    """Convex windows: vertices counter-clockwise, relative to ``origin``, without repeats.

    ``of[k]``: the window of geometry ``k``, or -1 where it is not a convex polygon.
    """

    of: IntArray
    xy: FloatArray
    offsets: IntArray
    origin: FloatArray  # (windows, 2): the first vertex, absolute
    lo: FloatArray  # (windows, 2): box, absolute
    hi: FloatArray


def convex_windows(geoms: ObjArray) -> Windows:
    """Which of ``geoms`` are convex polygons without holes, and their vertices.

    Convex: a Polygon without interior rings whose ring, repeated vertices dropped, has at
    least 3 vertices, turns one way only at every vertex (a zero turn only straight on, never
    back), turns by 2π in all (not a star) and has a non-zero area. A turn whose sign is
    decided by rounding may call a nearly straight vertex convex; the notch it misses is of
    the order of the rounding of the area.
    """
    n = len(geoms)
    cand = np.flatnonzero(
        (shapely.get_type_id(geoms) == shapely.GeometryType.POLYGON)
        & ~shapely.is_empty(geoms)
        & (shapely.get_num_interior_rings(geoms) == 0)
    )
    xy, own = shapely.get_coordinates(geoms[cand], return_index=True)
    last = np.r_[own[1:] != own[:-1], True] if len(own) else np.zeros(0, bool)
    xy, own = xy[~last], own[~last]  # open rings
    start = np.searchsorted(own, np.arange(len(cand) + 1))
    size = np.diff(start)
    nxt = np.arange(len(own)) + 1
    if len(own):
        nxt[start[1:][size > 0] - 1] = start[:-1][size > 0]
    keep = np.any(xy != xy[nxt], axis=1)  # drop a vertex equal to the next one
    xy, own = xy[keep], own[keep]
    start = np.searchsorted(own, np.arange(len(cand) + 1))
    size = np.diff(start)
    ok = size >= 3
    nxt = np.arange(len(own)) + 1
    if len(own):
        nxt[start[1:][size > 0] - 1] = start[:-1][size > 0]
    origin = xy[np.minimum(start[:-1], max(len(xy) - 1, 0))] if len(xy) else np.zeros((0, 2))
    loc = xy - origin[own] if len(xy) else xy
    d = loc[nxt] - loc
    dn = d[nxt]
    turn = d[:, 0] * dn[:, 1] - d[:, 1] * dn[:, 0]
    dot = (d * dn).sum(axis=1)
    straight_back = (turn == 0.0) & (dot <= 0.0)
    left = np.bincount(own, turn > 0, len(cand)) > 0
    right = np.bincount(own, turn < 0, len(cand)) > 0
    ok &= (left != right) & (np.bincount(own, straight_back, len(cand)) == 0)
    angle = np.bincount(own, np.arctan2(turn, dot), len(cand))
    ok &= np.abs(np.abs(angle) - 2 * np.pi) < _TURN_SLACK
    area2 = np.bincount(own, loc[:, 0] * loc[nxt, 1] - loc[nxt, 0] * loc[:, 1], len(cand))
    ok &= (area2 != 0.0) & ((area2 > 0) == left)
    # Clockwise windows are reversed, keeping the first vertex first.
    k = np.arange(len(own))
    cw = np.flatnonzero(~left[own] & (k != start[:-1][own]))
    k[cw] = start[:-1][own[cw]] + start[1:][own[cw]] - k[cw]
    loc = loc[k]
    sel = ok[own]
    loc, own, xy = loc[sel], own[sel], xy[sel]
    idx = np.flatnonzero(ok)
    remap = np.full(len(cand), -1, dtype=np.int64)
    remap[idx] = np.arange(len(idx))
    offsets = np.searchsorted(remap[own], np.arange(len(idx) + 1)).astype(np.int64)
    of = np.full(n, -1, dtype=np.int64)
    of[cand[idx]] = np.arange(len(idx))
    lo, hi = np.zeros((len(idx), 2)), np.zeros((len(idx), 2))
    if len(idx):
        lo = np.minimum.reduceat(xy, offsets[:-1], axis=0)
        hi = np.maximum.reduceat(xy, offsets[:-1], axis=0)
    return Windows(of, loc, offsets, origin[idx], lo, hi)


@dataclass(frozen=True)
class ClipResult:
    """Per pair: planar area of window ∩ part, its centroid (absolute), and ``sure``.

    Where ``sure`` is False (a vertex within rounding of a window edge's line, an invalid part,
    a zero area) the other values mean nothing.
    """

    area: FloatArray
    x: FloatArray
    y: FloatArray
    sure: BoolArray
    #: Central second moments of area (∫(x−cx)² dA, ∫(x−cx)(y−cy) dA, ∫(y−cy)² dA) of the
    #: pairs asked for (``second`` of :func:`clip_areas`), 0 for the others.
    sxx: FloatArray
    sxy: FloatArray
    syy: FloatArray


@dataclass
class _Rings:
    """Subject rings of the pairs being clipped (sorted by pair), relative to their origin."""

    x: FloatArray
    y: FloatArray
    offsets: IntArray  # rings + 1
    pair: IntArray  # per ring

    def vertex_pair(self) -> IntArray:
        return np.repeat(self.pair, np.diff(self.offsets))

    def following(self) -> IntArray:
        """The next vertex of each vertex in its ring (cyclic)."""
        nxt = np.arange(len(self.x)) + 1
        ends = self.offsets[1:][np.diff(self.offsets) > 0]
        nxt[ends - 1] = self.offsets[:-1][np.diff(self.offsets) > 0]
        return nxt


def _side(
    lo_x: FloatArray,
    lo_y: FloatArray,
    hi_x: FloatArray,
    hi_y: FloatArray,
    box: tuple[FloatArray, ...],
) -> npt.NDArray[np.int8]:
    """1, 2, 4, 8 for boxes wholly left of, right of, below, above ``box`` (lo x, lo y, hi x,
    hi y; the first that holds), 0 where they meet it."""
    bits = (hi_x < box[0]).astype(np.int8)
    bits |= (lo_x > box[2]).astype(np.int8) << 1
    bits |= (hi_y < box[1]).astype(np.int8) << 2
    bits |= (lo_y > box[3]).astype(np.int8) << 3
    return bits & -bits  # the lowest bit set


def _thinned(
    runs: RingRuns, part: IntArray, origin: FloatArray, box: tuple[FloatArray, ...]
) -> _Rings:
    """The rings of ``part[k]`` near ``box[k]`` (absolute), relative to ``origin[k]``."""
    r0, r1 = runs.part_rings[part], runs.part_rings[part + 1]
    pk, run = _repeat_ranges(runs.ring_runs[r0], runs.ring_runs[r1] - runs.ring_runs[r0])
    code = _side(runs.lo[0][run], runs.lo[1][run], runs.hi[0][run], runs.hi[1][run],
                 tuple(b[pk] for b in box))  # fmt: skip
    ring = runs.run_ring[run]
    first = np.r_[True, (ring[1:] != ring[:-1]) | (pk[1:] != pk[:-1])]
    # A run away from the box is one vertex, none if it continues a stretch on its side.
    new = first | np.r_[True, code[1:] != code[:-1]]
    count = np.where(code == 0, runs.run_len[run], new.astype(np.int64))
    row, vertex = _repeat_ranges(runs.run_start[run], count)
    seg = (np.cumsum(first) - 1)[row]
    vp = pk[row]
    x, y = runs.x[vertex], runs.y[vertex]
    # The same for single vertices: a stretch on one side keeps its first and last vertex.
    code = _side(x, y, x, y, tuple(b[vp] for b in box))
    brk = np.r_[True, (seg[1:] != seg[:-1]) | (code[1:] != code[:-1])]
    keep = np.flatnonzero((code == 0) | brk | np.r_[brk[1:], True])
    seg, vp = seg[keep], vp[keep]
    starts = np.flatnonzero(np.r_[True, seg[1:] != seg[:-1]]) if len(seg) else np.zeros(0, int)
    size = np.diff(np.r_[starts, len(seg)])
    big = size >= 3  # fewer vertices enclose no area
    sel = keep[np.repeat(big, size)]
    vp = vp[np.repeat(big, size)]
    counts = size[big]
    return _Rings(
        x=x[sel] - origin[vp, 0],
        y=y[sel] - origin[vp, 1],
        offsets=np.r_[0, np.cumsum(counts)].astype(np.int64),
        pair=vp[np.cumsum(counts) - counts] if len(counts) else np.zeros(0, np.int64),
    )


def _clip_edge(rings: _Rings, a: FloatArray, d: FloatArray, near: BoolArray) -> _Rings:
    """Clip ``rings`` to the left of the lines ``a[p] + t·d[p]`` of their pairs ``p``.

    Marks in ``near`` the pairs with a vertex within rounding of their line.
    """
    vp = rings.vertex_pair()
    rx, ry = rings.x - a[vp, 0], rings.y - a[vp, 1]
    dx, dy = d[vp, 0], d[vp, 1]
    s = dx * ry - dy * rx
    tol = (np.abs(dx) + np.abs(dy)) * (TOL_REL * (np.abs(rx) + np.abs(ry)) + TOL_ABS)
    near[vp[np.abs(s) <= tol]] = True
    nxt = rings.following()
    inside = s >= 0.0
    change = inside != inside[nxt]
    count = inside.astype(np.int64) + change
    end = np.cumsum(count)
    pos = end - count
    x, y = np.empty(int(end[-1]) if len(end) else 0), np.empty(int(end[-1]) if len(end) else 0)
    i = np.flatnonzero(inside)
    x[pos[i]], y[pos[i]] = rings.x[i], rings.y[i]
    c = np.flatnonzero(change)
    j = nxt[c]
    t = s[c] / (s[c] - s[j])
    at = pos[c] + inside[c]
    x[at] = rings.x[c] + t * (rings.x[j] - rings.x[c])
    y[at] = rings.y[c] + t * (rings.y[j] - rings.y[c])
    offsets = np.r_[0, end][rings.offsets]
    return _Rings(x, y, offsets, rings.pair)


def _moments(rings: _Rings, n: int, second: BoolArray | None) -> FloatArray:
    """Per pair (rows): twice the signed area, three times the first moments (× 2A), and for
    the pairs ``second`` 12 ∫x², 24 ∫xy, 12 ∫y² (about the pair's origin; 0 elsewhere)."""
    nxt = rings.following()
    vp = rings.vertex_pair()
    x, y, xn, yn = rings.x, rings.y, rings.x[nxt], rings.y[nxt]
    cross = x * yn - xn * y
    out = np.zeros((3 if second is None else 6, n))
    out[0] = np.bincount(vp, cross, n)
    out[1] = np.bincount(vp, (x + xn) * cross, n)
    out[2] = np.bincount(vp, (y + yn) * cross, n)
    if second is not None:
        k = np.flatnonzero(second[vp])
        x, y, xn, yn, c, v = x[k], y[k], xn[k], yn[k], cross[k], vp[k]
        out[3] = np.bincount(v, c * (x * x + x * xn + xn * xn), n)
        out[4] = np.bincount(v, c * (x * (2 * y + yn) + xn * (y + 2 * yn)), n)
        out[5] = np.bincount(v, c * (y * y + y * yn + yn * yn), n)
    return out


def clip_areas(
    runs: RingRuns,
    part: IntArray,
    windows: Windows,
    window: IntArray,
    second: BoolArray | None = None,
) -> ClipResult:
    """Area and centroid of ``window ∩ part`` for the pairs ``(window[k], part[k])``.

    Parameters
    ----------
    runs
        :meth:`RingRuns.build` of the parts.
    part, window
        The pairs, as positions in the parts and in ``windows`` (:func:`convex_windows`).
    second
        Pairs whose central second moments of area are wanted too (default none).

    Examples
    --------
    >>> from shapely import Polygon, box
    >>> parts = np.array([Polygon([(5, 5), (20, 5), (20, 20), (5, 20)])], dtype=object)
    >>> win = convex_windows(np.array([box(0, 0, 10, 10)], dtype=object))
    >>> r = clip_areas(RingRuns.build(parts), np.array([0]), win, np.array([0]))
    >>> float(r.area[0]), float(r.x[0]), float(r.y[0]), bool(r.sure[0])
    (25.0, 7.5, 7.5, True)
    """
    n = len(part)
    count = np.diff(windows.offsets)[window]
    order = np.argsort(-count, kind="stable")  # most edges first: a prefix stays active
    w, m = window[order], count[order]
    box = (windows.lo[w, 0], windows.lo[w, 1], windows.hi[w, 0], windows.hi[w, 1])
    rings = _thinned(runs, part[order], windows.origin[w], box)
    near = ~runs.valid[part[order]]
    want = None if second is None or not second.any() else second[order]
    sums = np.zeros((3 if want is None else 6, n))
    for j in range(int(m.max()) if n else 0):
        active = int(np.searchsorted(-m, -j, side="left"))  # pairs with more than j edges
        # Pairs whose window has j edges are done: measure them and leave them out.
        stop = int(np.searchsorted(rings.pair, active))
        done = _Rings(
            rings.x[rings.offsets[stop] :] if stop < len(rings.pair) else np.zeros(0),
            rings.y[rings.offsets[stop] :] if stop < len(rings.pair) else np.zeros(0),
            rings.offsets[stop:] - rings.offsets[stop],
            rings.pair[stop:],
        )
        if len(done.pair):
            sums += _moments(done, n, want)
        cut = int(rings.offsets[stop])
        rings = _Rings(rings.x[:cut], rings.y[:cut], rings.offsets[: stop + 1], rings.pair[:stop])
        edge = windows.offsets[w[:active]] + j
        following = windows.offsets[w[:active]] + (j + 1) % m[:active]
        a = windows.xy[edge]
        rings = _clip_edge(rings, a, windows.xy[following] - a, near)
    sums += _moments(rings, n, want)
    twice = sums[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        dx, dy = sums[1] / (3.0 * twice), sums[2] / (3.0 * twice)
    x, y = windows.origin[w, 0] + dx, windows.origin[w, 1] + dy
    sure = ~near & (twice > 0.0)
    central = np.zeros((3, n))
    if want is not None:
        a, k = twice / 2.0, want & sure
        central[0, k] = (sums[3] / 12.0 - a * dx * dx)[k]
        central[1, k] = (sums[4] / 24.0 - a * dx * dy)[k]
        central[2, k] = (sums[5] / 12.0 - a * dy * dy)[k]
    inv = np.empty(n, dtype=np.int64)
    inv[order] = np.arange(n)
    return ClipResult(twice[inv] / 2.0, x[inv], y[inv], sure[inv], *central[:, inv])
