"""Green's-theorem areas of parcel ∩ part against GEOS: undecided, or right to 1e-9."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
import shapely.affinity
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from shapely import Polygon, box

from qzgeo.geo.green_area import EdgeIndex, PolygonEdges, agrees, pair_areas

X0, Y0 = 36_564_000.0, 2_399_000.0  # a zone-prefixed Gauss-Krüger origin


def green(parcels: list[shapely.Geometry], parts: list[shapely.Geometry]) -> tuple:  # type: ignore[type-arg]
    """Areas of every parcel with every part: (green, decided, GEOS)."""
    p = np.asarray(parcels, dtype=object)
    c = np.asarray(parts, dtype=object)
    pi = np.repeat(np.arange(len(p)), len(c))
    ci = np.tile(np.arange(len(c)), len(p))
    area, decided = pair_areas(p, pi, c, ci, EdgeIndex.build(c))
    # GEOS rounds the crossings it computes to the ulp of the coordinates (7e-9 m at 36.5e6):
    # the reference is taken near the origin, where moving back is exact (Sterbenz).
    shift = (-X0, -Y0) if shapely.total_bounds(p)[0] > 1e6 else (0.0, 0.0)
    local_p = shapely.transform(p[pi], lambda xy: xy + shift)
    local_c = shapely.transform(c[ci], lambda xy: xy + shift)
    return area, decided, shapely.area(shapely.intersection(local_p, local_c))


def assert_undecided_or_right(parcels: list, parts: list, rel: float = 1e-9) -> np.ndarray:  # type: ignore[type-arg]
    area, decided, geos = green(parcels, parts)
    scale = np.repeat(np.maximum(shapely.area(np.asarray(parcels, dtype=object)), 1.0), len(parts))
    wrong = decided & (np.abs(area - geos) > rel * scale)
    assert not wrong.any(), list(zip(area[wrong], geos[wrong], strict=True))
    return decided


def star(cx: float, cy: float, radii: list[float], phase: float) -> list[tuple[float, float]]:
    n = len(radii)
    return [
        (
            cx + r * math.cos(phase + 2 * math.pi * k / n),
            cy + r * math.sin(phase + 2 * math.pi * k / n),
        )
        for k, r in enumerate(radii)
    ]


@st.composite
def polygon(draw: st.DrawFn, size: float) -> shapely.Geometry:
    """Non-convex stars, maybe with a hole, maybe two of them, either orientation, GK-sized."""
    grid = draw(st.sampled_from([0.0, 0.0, 1.0]))  # on a 1 m grid: vertices meet, edges align

    def one(cx: float, cy: float) -> shapely.Geometry:
        radii = draw(st.lists(st.floats(0.3 * size, size), min_size=3, max_size=9))
        shell = star(cx, cy, radii, draw(st.floats(0, 6.3)))
        holes = []
        if draw(st.booleans()):
            inner = draw(st.lists(st.floats(0.05 * size, 0.25 * size), min_size=3, max_size=6))
            holes.append(star(cx, cy, inner, draw(st.floats(0, 6.3))))
        if draw(st.booleans()):
            shell = shell[::-1]
        if holes and draw(st.booleans()):
            holes = [h[::-1] for h in holes]
        return Polygon(shell, holes)

    x, y = draw(st.floats(-size, size)), draw(st.floats(-size, size))
    g = one(X0 + x, Y0 + y)
    if draw(st.booleans()):
        g = shapely.MultiPolygon([g, one(X0 + x + 2.5 * size, Y0 + y)])
    if grid:
        # set_precision leaves a precision model that GEOS overlays would then round to
        g = shapely.from_wkb(shapely.to_wkb(shapely.set_precision(g, grid, mode="pointwise")))
    return g


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parcel=polygon(60.0), part=polygon(90.0))
def test_random_polygons_are_undecided_or_right(
    parcel: shapely.Geometry, part: shapely.Geometry
) -> None:
    assume(bool(shapely.is_valid(parcel)) and bool(shapely.is_valid(part)))
    assume(not parcel.is_empty and not part.is_empty)
    assert_undecided_or_right([parcel], [part])


def test_generic_position_is_decided_and_exact() -> None:
    rng = np.random.default_rng(3)
    parcels, parts = [], []
    for _ in range(40):
        radii = rng.uniform(20, 60, rng.integers(3, 12)).tolist()
        parcels.append(Polygon(star(X0 + rng.uniform(-30, 30), Y0, radii, rng.uniform(0, 6))))
    for _ in range(5):
        radii = rng.uniform(40, 120, rng.integers(3, 40)).tolist()
        cx, cy = X0 + rng.uniform(-50, 50), Y0 + rng.uniform(-50, 50)
        shell = star(cx, cy, radii, rng.uniform(0, 6))
        hole = star(cx, cy, rng.uniform(5, 18, 5).tolist(), rng.uniform(0, 6))  # < 40 cos 60°
        parts.append(Polygon(shell, [hole]))
    decided = assert_undecided_or_right(parcels, parts, rel=1e-12)
    assert decided.all()


CASES = {
    "shared edge": (box(0, 0, 10, 10), box(10, 0, 20, 10)),
    "overlapping collinear edges": (box(0, 0, 10, 10), box(5, 0, 15, 10)),
    "identical": (box(0, 0, 10, 10), box(0, 0, 10, 10)),
    "vertex on edge": (Polygon([(5, 10), (0, 20), (10, 20)]), box(0, 0, 10, 10)),
    "edge through a vertex": (box(0, 0, 10, 10), Polygon([(-5, 5), (10, 10), (-5, 15)])),
    "touching at a vertex": (box(0, 0, 10, 10), box(10, 10, 20, 20)),
    "inside touching": (box(0, 0, 10, 5), box(0, 0, 10, 10)),
    "parcel in a hole": (
        box(4, 4, 6, 6),
        Polygon(box(0, 0, 10, 10).exterior, [box(3, 3, 7, 7).exterior.coords]),
    ),
    "parcel is the hole": (
        box(3, 3, 7, 7),
        Polygon(box(0, 0, 10, 10).exterior, [box(3, 3, 7, 7).exterior.coords]),
    ),
    "part inside parcel": (box(0, 0, 10, 10), box(2, 3, 4, 5)),
    "parcel inside part": (box(2, 3, 4, 5), box(0, 0, 10, 10)),
    "rotated": (box(0, 0, 10, 10), shapely.affinity.rotate(box(2, 2, 14, 9), 17)),
    "hole crossing": (
        box(0, 0, 10, 10),
        Polygon(box(-5, -5, 15, 15).exterior, [box(2.5, -1, 7.5, 5.5).exterior.coords]),
    ),
}
MUST_DECIDE = {
    "parcel in a hole",
    "part inside parcel",
    "parcel inside part",
    "rotated",
    "hole crossing",
}
MUST_NOT_DECIDE = {
    "shared edge",
    "overlapping collinear edges",
    "identical",
    "vertex on edge",
    "edge through a vertex",
    "inside touching",
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("offset", [(0.0, 0.0), (X0, Y0)])
@pytest.mark.parametrize("flip", [False, True])
def test_hand_made_cases(name: str, offset: tuple[float, float], flip: bool) -> None:
    parcel, part = (shapely.affinity.translate(g, *offset) for g in CASES[name])
    if flip:
        parcel, part = shapely.orient_polygons(parcel, exterior_cw=True), shapely.reverse(part)
    decided = assert_undecided_or_right([parcel], [part], rel=1e-12)
    if name in MUST_DECIDE:
        assert decided.all()
    if name in MUST_NOT_DECIDE:
        assert not decided.any()


def test_agreement_tolerance_is_relative_and_capped() -> None:
    yes = np.array([True, True, True, True])
    geos = np.array([1e4, 1e4, 1.0, 1.0])
    green = np.array([1e4 + 1e-6, 1e4 + 1e-3, 1.0 + 1e-9, 1.0 + 1e-7])
    got = agrees(green, yes, geos, np.array([1e4, 1e4, 1.0, 1.0]))
    assert got.tolist() == [True, False, True, False]
    assert not agrees(green[:1], ~yes[:1], geos[:1], geos[:1]).any()


@st.composite
def plain_polygon(draw: st.DrawFn) -> shapely.Geometry:
    """A star without holes, either orientation, maybe a repeated vertex, GK-sized."""
    radii = draw(st.lists(st.floats(5.0, 60.0), min_size=3, max_size=9))
    ring = star(X0 + draw(st.floats(-50, 50)), Y0, radii, draw(st.floats(0, 6.3)))
    if draw(st.booleans()):
        k = draw(st.integers(0, len(ring) - 1))
        ring.insert(k, ring[k])  # a zero-length edge, left out
    return Polygon(ring[::-1] if draw(st.booleans()) else ring)


@settings(max_examples=200, deadline=None)
@given(st.lists(plain_polygon(), min_size=1, max_size=6))
def test_plain_polygons_give_the_edges_of_geos_orientation(polys: list[shapely.Geometry]) -> None:
    """Polygons without holes are oriented in numpy: the same arrays as GEOS orient_polygons.

    The reference appends a polygon with a hole, which sends the batch through
    ``shapely.orient_polygons``; the plain batch must not call it.
    """
    geoms = np.asarray(polys, dtype=object)
    holed = Polygon(
        box(X0, Y0, X0 + 10, Y0 + 10).exterior,
        [box(X0 + 2, Y0 + 2, X0 + 3, Y0 + 3).exterior.coords],
    )
    slow = PolygonEdges.of(np.asarray([*polys, holed], dtype=object))

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("the plain polygons went through GEOS")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(shapely, "orient_polygons", boom)
        fast = PolygonEdges.of(geoms)
    n = int(fast.offsets[-1])
    assert np.array_equal(fast.offsets, slow.offsets[: len(geoms) + 1])
    assert np.array_equal(fast.a, slow.a[:n]) and np.array_equal(fast.b, slow.b[:n])
    assert np.array_equal(fast.ring, slow.ring[:n])


def test_degenerate_rings_go_through_geos() -> None:
    """A ring whose shoelace sign is not certain is left to GEOS (same edges either way)."""
    flat = Polygon([(X0, Y0), (X0 + 10, Y0), (X0 + 20, Y0 + 1e-12), (X0 + 10, Y0)])
    calls = []
    real = shapely.orient_polygons

    def spy(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(shapely, "orient_polygons", spy)
        PolygonEdges.of(np.asarray([box(X0, Y0, X0 + 1, Y0 + 1), flat], dtype=object))
    assert calls
