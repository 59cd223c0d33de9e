"""``convex_apart`` never says "apart" for two polygons whose interiors meet.

The oracle is GEOS ``relate`` (interiors meeting in two dimensions: ``2********``), pair by
pair; the pairs are built to sit on the edge of the test: shared vertices and edges, a vertex
on the other's edge, nudges of one unit in the last place, slivers, coordinates of a
zone-prefixed Gauss-Krüger plane, lon/lat and small local ones.
"""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qzgeo.analysis.convex_apart import convex_apart

ORIGINS = [(0.0, 0.0), (36_596_098.477, 2_424_544.096), (108.61, 21.94), (-0.5, 0.25)]
SCALES = [1e-4, 1.0, 37.0, 5_000.0]


def _meet(a: shapely.Geometry, b: shapely.Geometry) -> bool:
    return bool(shapely.relate_pattern(a, b, "2********"))


def _apart(polys: list[shapely.Geometry], pairs: list[tuple[int, int]]) -> np.ndarray:
    g = np.array(polys, dtype=object)
    i, j = (np.array(x, dtype=np.int64) for x in zip(*pairs, strict=True))
    return convex_apart(g, np.ones(len(g), dtype=bool), i, j)


@st.composite
def convex_pair(draw: st.DrawFn) -> tuple[shapely.Geometry, shapely.Geometry]:
    """Two convex polygons near one another, often sharing vertices or edges exactly."""
    ox, oy = draw(st.sampled_from(ORIGINS))
    s = draw(st.sampled_from(SCALES))
    ints = st.integers(-6, 6)
    pts = draw(st.lists(st.tuples(ints, ints), min_size=3, max_size=9, unique=True))
    a = shapely.convex_hull(shapely.multipoints([(ox + x * s, oy + y * s) for x, y in pts]))
    hull = list(a.exterior.coords)[:-1] if a.geom_type == "Polygon" else []
    kind = draw(st.sampled_from(["shared", "free", "nudged", "mirror"]))
    if kind == "free" or len(hull) < 2:
        more = draw(st.lists(st.tuples(ints, ints), min_size=3, max_size=9, unique=True))
        b_pts = [(ox + x * s, oy + y * s) for x, y in more]
    else:
        k = draw(st.integers(0, len(hull) - 1))
        p, q = hull[k], hull[(k + 1) % len(hull)]
        extra = draw(st.lists(st.tuples(ints, ints), min_size=1, max_size=6))
        b_pts = [p, q, *((ox + x * s, oy + y * s) for x, y in extra)]
        if kind == "mirror":  # the other side of the shared edge
            b_pts = [p, q, *(_mirror(p, q, r) for r in b_pts[2:])]
        if kind == "nudged":  # one shared vertex moved by an ulp or a hair
            step = draw(st.sampled_from([1, 2, 1e-12 * s, 1e-9 * s]))
            x, y = b_pts[0]
            dx = np.spacing(x) * step if step in (1, 2) else step
            b_pts[0] = (x + draw(st.sampled_from([-1, 1])) * dx, y)
    b = shapely.convex_hull(shapely.multipoints(b_pts))
    return a, b


def _mirror(p: tuple[float, float], q: tuple[float, float], r: tuple[float, float]) -> tuple:
    (px, py), (qx, qy), (rx, ry) = p, q, r
    dx, dy = qx - px, qy - py
    t = ((rx - px) * dx + (ry - py) * dy) / (dx * dx + dy * dy)
    fx, fy = px + t * dx, py + t * dy
    return (2 * fx - rx, 2 * fy - ry)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(convex_pair())
def test_apart_only_where_relate_finds_no_shared_interior(pair: tuple) -> None:
    a, b = pair
    if a.geom_type != "Polygon" or b.geom_type != "Polygon":
        return  # a hull of collinear points: not a parcel
    for ring in (a, shapely.reverse(a)):  # either winding
        told = _apart([ring, b], [(0, 1), (1, 0)])
        if told.any():
            assert not _meet(ring, b), (ring.wkt, b.wkt)


def test_neighbours_of_a_jittered_grid_are_told_apart_at_corners_and_edges() -> None:
    """The case it is for: quads of a tiling sharing corners and edges, far from the origin."""
    rng = np.random.default_rng(7)
    n = 30
    x0, y0 = 36_596_000.0, 2_424_000.0
    gx = x0 + np.arange(n + 1)[:, None] * 40.0 + rng.uniform(-8, 8, (n + 1, n + 1))
    gy = y0 + np.arange(n + 1)[None, :] * 40.0 + rng.uniform(-8, 8, (n + 1, n + 1))
    cells = [
        shapely.Polygon([(gx[i, j], gy[i, j]), (gx[i + 1, j], gy[i + 1, j]),
                         (gx[i + 1, j + 1], gy[i + 1, j + 1]), (gx[i, j + 1], gy[i, j + 1])])
        for i in range(n) for j in range(n)
    ]  # fmt: skip
    g = np.array(cells, dtype=object)
    convex = shapely.equals(g, shapely.convex_hull(g))
    q, r = shapely.STRtree(g).query(g, predicate="intersects")
    keep = q != r
    q, r = q[keep].astype(np.int64), r[keep].astype(np.int64)
    told = convex_apart(g, convex, q, r)
    meet = shapely.relate_pattern(g[q], g[r], "2********")
    assert not (told & meet).any()
    assert told[convex[q] & convex[r]].all()  # every touching pair of convex cells


def test_hand_cases() -> None:
    sq = shapely.box(0, 0, 1, 1)
    cases = [
        (shapely.box(1, 1, 2, 2), True),  # a corner
        (shapely.box(1, 0, 2, 1), True),  # an edge
        (shapely.box(1, 0.5, 2, 1.5), True),  # part of an edge
        (shapely.box(0.999999, 0, 2, 1), False),  # a sliver over the edge
        (shapely.box(0.5, 0.5, 1.5, 1.5), False),  # a real overlap
        (shapely.box(0, 0, 1, 1), False),  # the same
        (shapely.box(0.25, 0.25, 0.75, 0.75), False),  # inside
        (shapely.Polygon([(1, 0), (2, 0), (1, 1), (1, 1), (1, 0.5)]), True),  # a repeated vertex
    ]
    polys = [sq, *(c for c, _ in cases)]
    got = _apart(polys, [(0, k + 1) for k in range(len(cases))])
    assert got.tolist() == [want for _, want in cases]
    assert not any(_meet(sq, c) for c, want in cases if want)


def test_a_vertex_one_ulp_inside_the_edge_is_not_told_apart() -> None:
    x = 36_596_100.0
    inside = x - np.spacing(x)  # B's corner one unit in the last place over A's edge x = 100
    a = shapely.Polygon([(x - 100, 0), (x, 0), (x, 100), (x - 100, 100)])
    b = shapely.Polygon([(inside, 50), (x + 100, 0), (x + 100, 100)])
    assert _meet(a, b)
    assert not _apart([a, b], [(0, 1), (1, 0)]).any()


def test_non_convex_flags_and_big_polygons_are_left_to_geos() -> None:
    a, b = shapely.box(0, 0, 1, 1), shapely.box(1, 1, 2, 2)
    g = np.array([a, b], dtype=object)
    pair = (np.array([0]), np.array([1]))
    assert not convex_apart(g, np.array([True, False]), *pair).any()
    many = shapely.Point(0, 0).buffer(1, 16)  # 64 vertices: more than MAX_VERTICES
    g = np.array([shapely.box(1, -1, 2, 1), many], dtype=object)
    assert not convex_apart(g, np.ones(2, dtype=bool), *pair).any()
