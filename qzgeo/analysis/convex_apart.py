"""Pairs of convex polygons whose interiors surely do not meet, told apart in numpy.

The overlap search (:mod:`qzgeo.analysis.parcel_overlaps`) checks every parcel along an open
edge against the parcels whose boxes meet its own. In a tiling most of those are neighbours
that touch it at a corner only, and GEOS ``relate`` cost ~7.5 µs a pair: half of the search.
Two convex polygons have interiors that do not meet exactly when a line through an edge of
one of them has the whole other polygon on its outer side (the separating axis theorem; the
edges of the difference ``A - B`` are edges of ``A`` or of ``B``). :func:`convex_apart` tests
that for every pair at once and says "apart" only where floating point cannot be wrong:

- a vertex of the other polygon counts as outside an edge if the cross product that says so
  exceeds :data:`MARGIN` times the sum of the magnitudes of its two products (the computed
  product is off by a few units in the last place of that sum, the differences by one unit
  of their own size: rounding can shrink it by far less than the margin), or if the vertex
  *is* one of the edge's two ends, or each of the two products has a factor that is exactly 0
  (a difference of two floats is 0 only when they are equal): the vertex is then on the
  edge's line for certain, as along the edges of rectangles;
- a polygon's orientation is taken from its signed area only when that is clearly not 0,
  and edges of zero length (repeated vertices) never separate.

Anything not told apart goes on to GEOS, as before: the test only saves work.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import shapely

__all__ = ["MARGIN", "MAX_VERTICES", "convex_apart"]

Ints = npt.NDArray[np.int64]
#: Relative margin of a sign (see the module's docstring): ~10 000 times the worst rounding.
MARGIN = 1e-12
#: Polygons with more distinct vertices are left to GEOS (the test costs vertices² a pair).
MAX_VERTICES = 16
#: Pairs tested at once (memory: pairs x vertices² x 8 bytes a few times).
BLOCK = 8_192


def convex_apart(
    geoms: npt.NDArray[np.object_], convex: npt.NDArray[np.bool_], a: Ints, b: Ints
) -> npt.NDArray[np.bool_]:
    """For each pair (``a[k]``, ``b[k]``) of ``geoms``: True where both are convex (``convex``,
    one ring without holes, as :func:`qzgeo.analysis.parcel_overlaps` finds them) and their
    interiors surely do not meet (the module's test). False says nothing.

    Examples
    --------
    >>> from shapely import box
    >>> g = np.array([box(0, 0, 1, 1), box(1, 1, 2, 2), box(0.5, 0.5, 1.5, 1.5)])
    >>> convex_apart(g, np.ones(3, bool), np.array([0, 0]), np.array([1, 2])).tolist()
    [True, False]
    """
    out = np.zeros(len(a), dtype=bool)
    both = np.flatnonzero(convex[a] & convex[b])
    if not len(both):
        return out
    used = np.unique(np.concatenate([a[both], b[both]]))
    verts, count, sign = _rings(geoms[used])
    fits = (count <= MAX_VERTICES) & (sign != 0)
    where = np.searchsorted(used, np.stack([a[both], b[both]]))
    both = both[fits[where[0]] & fits[where[1]]]
    where = np.searchsorted(used, np.stack([a[both], b[both]]))
    # pairs of small polygons first, each group cut to the widest it holds: a Voronoi cell of
    # twelve vertices must not make every quad's test 9x as big
    width = np.maximum(count[where[0]], count[where[1]])
    order = np.argsort(width, kind="stable")
    cuts = np.flatnonzero(np.diff(width[order])) + 1
    for lo, hi in _blocks(np.r_[0, cuts], np.r_[cuts, len(order)]):
        take = order[lo:hi]
        w = int(width[take[0]])
        i, j = where[0, take], where[1, take]
        vi, vj = verts[i, :w], verts[j, :w]
        apart = _outside(vi, sign[i], count[i], vj, count[j])
        apart |= _outside(vj, sign[j], count[j], vi, count[i])
        out[both[take]] = apart
    return out


def _blocks(starts: Ints, ends: Ints) -> list[tuple[int, int]]:
    """The ranges ``starts[k]:ends[k]`` cut into pieces of at most :data:`BLOCK`."""
    return [
        (lo, min(lo + BLOCK, int(e))) for s, e in zip(starts, ends, strict=True)
        for lo in range(int(s), int(e), BLOCK)
    ]  # fmt: skip


def _rings(
    geoms: npt.NDArray[np.object_],
) -> tuple[npt.NDArray[np.float64], Ints, npt.NDArray[np.float64]]:
    """The polygons' exterior vertices without the closing one (padded with the first to the
    longest, capped at :data:`MAX_VERTICES`), their counts and their orientation (+1 counter-
    clockwise, -1 clockwise, 0 when the signed area is too small to tell)."""
    xy, own = shapely.get_coordinates(shapely.get_exterior_ring(geoms), return_index=True)
    n = np.bincount(own, minlength=len(geoms))
    start = np.cumsum(n) - n
    count = np.maximum(n - 1, 0)  # the closing vertex repeats the first
    width = int(min(count.max(initial=0), MAX_VERTICES))
    k = np.arange(width)
    at = start[:, None] + np.where(k[None, :] < count[:, None], k[None, :], 0)
    at = np.minimum(at, max(len(xy) - 1, 0))
    verts = xy[at] if len(xy) else np.zeros((len(geoms), width, 2))
    rel = verts - verts[:, :1]  # from the first vertex: small numbers, precise
    nxt = np.roll(rel, -1, axis=1)
    real = k[None, :] < count[:, None]
    last = (k[None, :] == count[:, None] - 1)[:, :, None]
    nxt = np.where(last, 0.0, nxt)  # the ring's last edge goes back to the first vertex
    terms = rel[:, :, 0] * nxt[:, :, 1] - rel[:, :, 1] * nxt[:, :, 0]
    mags = np.abs(rel[:, :, 0] * nxt[:, :, 1]) + np.abs(rel[:, :, 1] * nxt[:, :, 0])
    twice = np.where(real, terms, 0.0).sum(axis=1)
    size = np.where(real, mags, 0.0).sum(axis=1)
    sign = np.where(np.abs(twice) > MARGIN * size, np.sign(twice), 0.0)
    return verts, count, sign


def _outside(
    va: npt.NDArray[np.float64],
    sa: npt.NDArray[np.float64],
    na: Ints,
    vb: npt.NDArray[np.float64],
    nb: Ints,
) -> npt.NDArray[np.bool_]:
    """Per pair: an edge of polygon A (vertices ``va``, orientation ``sa``, ``na`` of them)
    has every vertex of B surely on its outer side or at one of its ends."""
    k = np.arange(va.shape[1])
    end = np.where(k[None, :] + 1 < na[:, None], k[None, :] + 1, 0)
    v1 = np.take_along_axis(va, end[:, :, None], axis=1)
    ex, ey = v1[:, :, 0] - va[:, :, 0], v1[:, :, 1] - va[:, :, 1]  # edges (pairs, ka)
    px = vb[:, None, :, 0] - va[:, :, None, 0]  # (pairs, ka, kb)
    py = vb[:, None, :, 1] - va[:, :, None, 1]
    p1, p2 = ex[:, :, None] * py, ey[:, :, None] * px
    cross = (p1 - p2) * sa[:, None, None]  # > 0: B's vertex is inside A's side of the edge
    sure = cross < -MARGIN * (np.abs(p1) + np.abs(p2))
    # on the edge's line for certain: each product has a factor that is exactly 0 (a
    # difference of two floats is 0 only when they are equal), e.g. a rectangle's neighbour
    sure |= ((ex[:, :, None] == 0) | (py == 0)) & ((ey[:, :, None] == 0) | (px == 0))
    at_end = ((vb[:, None, :, :] == va[:, :, None, :]).all(axis=3)) | (
        (vb[:, None, :, :] == v1[:, :, None, :]).all(axis=3)
    )
    real_b = (np.arange(vb.shape[1])[None, :] < nb[:, None])[:, None, :]
    ok = (sure | at_end | ~real_b).all(axis=2)
    edge = (k[None, :] < na[:, None]) & ((ex != 0) | (ey != 0))
    return (ok & edge).any(axis=1)
