"""The numpy validity certificate, against GEOS as the oracle.

The oracle is ``shapely.is_valid`` (GEOS's IsValidOp, exact predicates, sharing no code with
:mod:`qzgeo.geo.valid_fast`). The one property that matters: a certified polygon is valid.
The rings are drawn to be awkward -- small integer grids (collinear, repeated, touching and
crossing points), near-collinear vertices a few units in the last place off a line, stars
winding twice, NaN and infinities -- at the coordinates qzgeo sees: Gauss-Krüger with and
without a zone prefix, longitude/latitude, parcels of 0.01 m, and around 0 where the
differences of coordinates round.
"""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from shapely import MultiPolygon, Polygon

import qzgeo.geo.repair as repair
import qzgeo.geo.valid_fast as vf
from qzgeo.geo.valid_fast import certified_valid, valid_mask

# (origin, unit): GK without and with a zone prefix, lon/lat, a 0.01 m parcel, around 0.
FRAMES = [
    ((0.0, 0.0), 1.0),
    ((500_000.0, 2_500_000.0), 1.0),
    ((38_500_000.0, 2_500_000.0), 7.0),
    ((38_512_345.678, 2_512_345.678), 0.01),
    ((108.123456789, 21.987654321), 1e-7),
    ((0.0, 0.0), 1e-150),
]


def arr(*geoms: shapely.Geometry | None) -> np.ndarray:
    return np.array(geoms, dtype=object)


def check(geoms: np.ndarray) -> np.ndarray:
    """Certified ⇒ valid, and valid_mask is exactly is_valid; the certificate returned."""
    sure = certified_valid(geoms)
    valid = shapely.is_valid(geoms)
    wrong = np.flatnonzero(sure & ~valid)
    assert len(wrong) == 0, [shapely.to_wkt(g, rounding_precision=-1) for g in geoms[wrong]]
    assert (valid_mask(geoms) == valid).all()
    return sure


def placed(points: list[tuple[float, float]], frame: int) -> list[tuple[float, float]]:
    (ox, oy), unit = FRAMES[frame]
    return [(ox + x * unit, oy + y * unit) for x, y in points]


def ring_polygon(points: list[tuple[float, float]]) -> Polygon | None:
    """A polygon of the closed ring, or None where GEOS builds none (fewer than 4 points)."""
    try:
        return Polygon(points)
    except (ValueError, shapely.errors.GEOSException):
        return None


# --- hand-made cases ---------------------------------------------------------------------

SQUARE = [(0, 0), (10, 0), (10, 10), (0, 10)]
INVALID = {
    "bow-tie": [(0, 0), (10, 10), (10, 0), (0, 10)],
    "spike": [(0, 0), (10, 0), (10, 10), (10, 20), (10, 10), (0, 10)],
    "back-track along an edge": [(0, 0), (10, 0), (5, 0), (5, 5)],
    "self-touch at a vertex": [(0, 0), (10, 0), (5, 5), (10, 10), (0, 10), (5, 5)],
    "zero area": [(0, 0), (5, 0), (10, 0)],
    "two distinct points": [(0, 0), (10, 0), (10, 0), (0, 0)],
    "star winding twice": [
        (10 * math.cos(a), 10 * math.sin(a)) for a in (k * 4 * math.pi / 5 for k in range(5))
    ],
    "triangle winding twice": [(0, 0), (10, 0), (5, 8), (0, 0), (10, 0), (5, 8)],
}


@pytest.mark.parametrize("frame", range(len(FRAMES)))
@pytest.mark.parametrize("kind", sorted(INVALID))
def test_invalid_kinds_are_not_certified(kind: str, frame: int) -> None:
    poly = Polygon(placed(INVALID[kind], frame))
    assert not shapely.is_valid(poly)
    assert not certified_valid(arr(poly))[0]
    assert not valid_mask(arr(poly))[0]


@pytest.mark.parametrize("frame", range(len(FRAMES)))
def test_convex_rings_are_certified(frame: int) -> None:
    hexagon = [(10 * math.cos(a), 10 * math.sin(a)) for a in np.linspace(0, 2 * np.pi, 7)[:-1]]
    cases = [
        Polygon(placed(SQUARE, frame)),
        Polygon(placed(SQUARE[::-1], frame)),  # clockwise
        Polygon(placed([(0, 0), (3, 0), (0, 4)], frame)),
        Polygon(placed(hexagon, frame)),
        # repeated points, also at the start and at the closing point: GEOS allows them
        Polygon(placed([(0, 0), (0, 0), (10, 0), (10, 10), (10, 10), (0, 10)], frame)),
        Polygon(placed([(0, 0), (10, 0), (10, 10), (0, 10), (0, 0), (0, 0)], frame)),
        MultiPolygon([Polygon(placed(SQUARE, frame))]),
    ]
    assert check(arr(*cases)).all()


def test_what_is_left_to_geos() -> None:
    """Valid, but beyond the simple criterion: GEOS decides."""
    square_hole = Polygon(SQUARE, [[(2, 2), (2, 4), (4, 4), (4, 2)]])
    collinear = Polygon([(0, 0), (5, 0), (10, 0), (10, 10), (0, 10)])
    concave = Polygon([(0, 0), (10, 0), (10, 10), (5, 5), (0, 10)])
    two_parts = MultiPolygon([Polygon(SQUARE), Polygon([(20, 0), (30, 0), (30, 10)])])
    geoms = arr(square_hole, collinear, concave, two_parts, Polygon(), None, shapely.Point(1, 1))
    assert not check(geoms).any()
    assert valid_mask(geoms).tolist() == [True, True, True, True, True, False, True]


def _wkb_polygon(*rings: list[tuple[float, float]]) -> shapely.Geometry:
    """A polygon built from WKB, so that its rings are stored as given (holes of 0 points)."""
    body = struct.pack("<BII", 1, 3, len(rings))
    for ring in rings:
        body += struct.pack("<I", len(ring)) + b"".join(struct.pack("<dd", *p) for p in ring)
    return shapely.from_wkb(body)


def test_holes() -> None:
    """A polygon's coordinates hold its holes after the exterior ring: never one ring."""
    shell = [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 0.0)]
    degenerate_at_start = _wkb_polygon(shell, [(0.0, 0.0)] * 4)  # invalid: too few points
    at_start = _wkb_polygon(shell, [(0.0, 0.0), (5.0, 1.0), (6.0, 2.0), (0.0, 0.0)])
    empty = _wkb_polygon(shell, [])  # no coordinates: as without it, valid in GEOS
    sure = check(arr(degenerate_at_start, at_start, empty))
    assert sure.tolist() == [False, False, True]
    assert not shapely.is_valid(degenerate_at_start)


def test_non_finite_coordinates() -> None:
    cases = []
    for bad in (math.nan, math.inf, -math.inf):
        cases.append(Polygon([(0, 0), (10, 0), (bad, 10), (0, 10)]))
        cases.append(Polygon([(0, 0), (10, 0), (10, bad), (0, 10)]))
    cases.append(Polygon([(math.inf, 0), (10, 0), (10, 10), (math.inf, 0)]))
    cases.append(Polygon([(1e308, 0), (-1e308, 1e308), (-1e308, -1e308)]))  # overflows
    assert not check(arr(*cases)).any()


def test_the_margin_is_needed() -> None:
    """A collinear triangle whose coordinate differences round (found by a search): without
    the margin every turn would be taken as a left turn and the ring certified."""
    tri = Polygon(
        [
            (-8.73533746128968e-20, -2.620601238386904e-19),
            (3.0455703381448984e-05, 9.136711014434695e-05),
            (6.290186149726651e-10, 1.8870558449179953e-09),
        ]
    )
    assert not shapely.is_valid(tri)
    assert not certified_valid(arr(tri))[0]


def test_the_margin_is_needed_without_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The case above is a real trap: with no margin it is certified (so the test can fail)."""
    monkeypatch.setattr(vf, "REL_MARGIN", 0.0)
    monkeypatch.setattr(vf, "ABS_MARGIN", 0.0)
    tri = Polygon(
        [
            (-8.73533746128968e-20, -2.620601238386904e-19),
            (3.0455703381448984e-05, 9.136711014434695e-05),
            (6.290186149726651e-10, 1.8870558449179953e-09),
        ]
    )
    assert certified_valid(arr(tri))[0]


def test_grids_are_all_certified() -> None:
    """Jittered grid quads and Voronoi-like cells, as in the benchmarks: all certified."""
    rng = np.random.default_rng(7)
    n = 60
    gx, gy = np.meshgrid(np.arange(n + 1) * 150.0, np.arange(n + 1) * 200.0)
    gx = gx + rng.uniform(-20, 20, gx.shape) + 38_500_000.0
    gy = gy + rng.uniform(-20, 20, gy.shape) + 2_500_000.0
    quads = [
        Polygon([(gx[i, j], gy[i, j]), (gx[i, j + 1], gy[i, j + 1]),
                 (gx[i + 1, j + 1], gy[i + 1, j + 1]), (gx[i + 1, j], gy[i + 1, j])])
        for i in range(n) for j in range(n)
    ]  # fmt: skip
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(rng.uniform(0, 5000, (2000, 2)) + 500_000))
    )
    assert check(arr(*quads)).all()
    assert check(cells).mean() > 0.99


# --- generated rings ---------------------------------------------------------------------

small = st.integers(-3, 3)
grid_rings = st.lists(st.tuples(small, small), min_size=3, max_size=8)


@st.composite
def near_line_rings(draw: st.DrawFn) -> list[tuple[float, float]]:
    """A convex ring with one vertex moved a few units in the last place off its neighbours'
    line (to either side: a barely convex, straight or barely concave corner)."""
    n = draw(st.integers(3, 7))
    angles = sorted(draw(st.lists(st.floats(0, 2 * math.pi, exclude_max=True), min_size=n,
                                  max_size=n, unique=True)))  # fmt: skip
    pts = [(100 * math.cos(a), 100 * math.sin(a)) for a in angles]
    k = draw(st.integers(0, n - 1))
    (ax, ay), (bx, by) = pts[k - 1], pts[(k + 1) % n]
    t = draw(st.floats(-0.5, 1.5))
    mx, my = ax + t * (bx - ax), ay + t * (by - ay)
    steps = draw(st.integers(-4, 4))
    my = float(np.nextafter(my, math.copysign(math.inf, steps)) if steps else my)
    for _ in range(abs(steps) - 1):
        my = float(np.nextafter(my, math.copysign(math.inf, steps)))
    pts.insert(k, (mx, my))
    return pts


@st.composite
def star_rings(draw: st.DrawFn) -> list[tuple[float, float]]:
    """Regular stars {n/k}: simple when k = 1, winding k times otherwise."""
    n = draw(st.integers(3, 9))
    k = draw(st.integers(1, max(1, (n - 1) // 2)))
    turn = draw(st.floats(0, 2 * math.pi))
    return [(50 * math.cos(turn + 2 * math.pi * k * i / n),
             50 * math.sin(turn + 2 * math.pi * k * i / n)) for i in range(n)]  # fmt: skip


@st.composite
def mixed_rings(draw: st.DrawFn) -> list[tuple[float, float]]:
    """Points of very different magnitudes, often on the line y = 3x exactly: their
    differences round, which is where a turn's computed sign can be wrong."""
    n = draw(st.integers(3, 5))
    ks = draw(st.lists(st.integers(-(2**20), 2**20), min_size=n, max_size=n))
    es = draw(st.lists(st.integers(-80, 0), min_size=n, max_size=n))
    xs = [math.ldexp(k, e) for k, e in zip(ks, es, strict=True)]
    if draw(st.booleans()):
        return [(x, 3 * x) for x in xs]
    ls = draw(st.lists(st.integers(-(2**20), 2**20), min_size=n, max_size=n))
    return [(x, math.ldexp(k, e)) for x, k, e in zip(xs, ls, es, strict=True)]


def mangle(points: list[tuple[float, float]], draw: st.DrawFn) -> list[tuple[float, float]]:
    """Repeated points and, sometimes, a non-finite coordinate."""
    pts = list(points)
    for _ in range(draw(st.integers(0, 2))):
        i = draw(st.integers(0, len(pts) - 1))
        pts.insert(i, pts[i])
    if draw(st.integers(0, 9)) == 0:
        i = draw(st.integers(0, len(pts) - 1))
        bad = draw(st.sampled_from([math.nan, math.inf, -math.inf]))
        pts[i] = (bad, pts[i][1]) if draw(st.booleans()) else (pts[i][0], bad)
    return pts


@st.composite
def rings(draw: st.DrawFn) -> list[tuple[float, float]]:
    shape = draw(st.sampled_from(["grid", "near", "star", "mixed"]))
    if shape == "grid":
        pts = [(float(x), float(y)) for x, y in draw(grid_rings)]
    elif shape == "near":
        pts = draw(near_line_rings())
    elif shape == "star":
        pts = draw(star_rings())
    else:
        return mangle(draw(mixed_rings()), draw)  # around 0: shifted, they would not round
    return placed(mangle(pts, draw), draw(st.integers(0, len(FRAMES) - 1)))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rings(), min_size=1, max_size=12))
@example([[(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0), (1.0, 0.0), (1.0, 1.0)]])
def test_certified_rings_are_valid(batch: list[list[tuple[float, float]]]) -> None:
    polys = [ring_polygon(pts) for pts in batch]
    geoms = arr(*[p for p in polys if p is not None])
    check(geoms)
    check(arr(*[MultiPolygon([p]) for p in geoms if not p.is_empty]))


@settings(max_examples=100, deadline=None)
@given(st.lists(rings(), min_size=1, max_size=20), st.sampled_from(["polygon", None]))
def test_needs_repair_is_unchanged(
    batch: list[list[tuple[float, float]]], family: str | None
) -> None:
    """_needs_repair on a mixed array: as with shapely.is_valid alone."""
    polys = [p for p in (ring_polygon(pts) for pts in batch) if p is not None]
    geoms = arr(*polys, None, Polygon(), shapely.Point(0, 0), shapely.LineString([(0, 0), (1, 1)]),
                MultiPolygon([Polygon(SQUARE)]), shapely.GeometryCollection([Polygon(SQUARE)]),
                Polygon([(0, 0, 1), (1, 0, 1), (1, 1, 1)]))  # fmt: skip
    types = shapely.get_type_id(geoms)
    expected = shapely.is_missing(geoms) | shapely.is_empty(geoms) | shapely.has_z(geoms)
    expected |= shapely.has_m(geoms)
    if family is not None:
        expected |= (types >= 0) & ~np.isin(types, [3, 6])
    expected |= ~expected & ~shapely.is_valid(geoms)
    assert (repair._needs_repair(geoms, family) == expected).all()


@pytest.mark.parametrize("head", ["concave", "convex"])
def test_valid_mask_after_a_sample(head: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whether or not the sample makes certifying the rest worth it, the answer is is_valid's."""
    monkeypatch.setattr(vf, "SAMPLE", 4)
    concave = Polygon([(0, 0), (10, 0), (10, 10), (5, 4), (0, 10)])
    first = concave if head == "concave" else Polygon(SQUARE)
    geoms = arr(*[first] * 4, *[Polygon(INVALID[k]) for k in sorted(INVALID)], Polygon(SQUARE))
    assert (valid_mask(geoms) == shapely.is_valid(geoms)).all()
    assert valid_mask(geoms)[-1]
