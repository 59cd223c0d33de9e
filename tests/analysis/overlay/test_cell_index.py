"""The cell prefilter of the overlay engine (qzgeo.analysis.cell_index).

The oracle is shapely itself, pair by pair: a parcel that the index passes must be properly
inside exactly the parts it names, and meet no other part. The engine must give identical
tables with and without the prefilter.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import shapely.affinity
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from shapely import box

from qzgeo.analysis import cell_index, overlay_kernel, overlay_threads
from qzgeo.analysis.cell_index import (
    MARGIN,
    CellIndex,
    Grid,
    ParcelTrees,
    cached_cell_index,
    components,
    summed_area,
)
from qzgeo.analysis.overlay import (
    OverlayPlan,
    overlay_areas,
    overlay_areas_and_groups,
    plan_overlay,
)
from qzgeo.analysis.overlay_kernel import ChunkRunner
from qzgeo.analysis.overlay_plan import ConstraintClass, Target

#: Cells of the test grids: the parts' bounds span N lattice units, N = CELLS - 2 × MARGIN, so
#: with a lattice step u the cells are exactly u wide and lattice lines are cell edges.
CELLS = 32
N = CELLS - 2 * MARGIN
GK_X, GK_Y = 36_564_000.0, 2_399_000.0  # Gauss-Krüger zone 36 (EPSG:4524), zone-prefixed


def oracle(parts: np.ndarray, parcel: shapely.Geometry) -> tuple[set[int], bool]:
    """The parts that meet ``parcel``, and whether all of them contain it properly."""
    meets = np.flatnonzero(shapely.intersects(parts, parcel))
    return set(meets.tolist()), bool(shapely.contains_properly(parts[meets], parcel).all())


def check_index(index: CellIndex, parts: np.ndarray, parcels: np.ndarray) -> np.ndarray:
    """Assert every claim of ``index.pairs`` against the oracle; return which parcels pass."""
    passed, ci, pi = index.pairs(shapely.bounds(parcels))
    assert np.all(np.diff(ci) >= 0)
    for k in np.flatnonzero(passed).tolist():
        named = pi[ci == k]
        assert np.all(np.diff(named) > 0)
        meets, proper = oracle(parts, parcels[k])
        assert set(named.tolist()) == meets, (k, parcels[k])
        assert proper, (k, parcels[k])
    assert not np.isin(ci, np.flatnonzero(~passed)).any()
    return passed


# --- strategies: shapes on a lattice whose lines are cell edges, and off it ---------------


@st.composite
def frame(draw: st.DrawFn, gk: bool = False) -> tuple[float, float, float]:
    """Origin and lattice step: small, GK-sized or negative coordinates."""
    origins = [(GK_X, GK_Y)] if gk else [(0.0, 0.0), (GK_X, GK_Y), (-1000.25, 512.0)]
    x0, y0 = draw(st.sampled_from(origins))
    return x0, y0, draw(st.sampled_from([0.5, 1.0, 3.0, 10.0]))


lattice = st.integers(-6, N + 6)
inner = st.integers(0, N)


@st.composite
def part_shape(draw: st.DrawFn) -> shapely.Geometry:
    """A part in lattice units: a box, a box with a hole, an L, a multipolygon, a triangle
    anywhere (floats), or a part smaller than a cell."""
    kind = draw(st.sampled_from(["box", "hole", "ell", "multi", "tri", "tiny"]))
    span = st.lists(inner, min_size=2, max_size=2, unique=True).map(sorted)
    (a, b), (c, d) = draw(span), draw(span)
    if kind == "tri":
        pts = draw(st.lists(st.tuples(st.floats(0, N), st.floats(0, N)), min_size=3, max_size=3))
        g = shapely.Polygon(pts)
        assume(g.is_valid and g.area > 1e-3)
        return g
    if kind == "tiny":
        s = draw(st.sampled_from([0.1, 0.25, 0.5]))
        a, c = min(a, N - 1), min(c, N - 1)
        return box(a + 0.3, c + 0.3, a + 0.3 + s, c + 0.3 + s)
    g = box(a, c, b, d)
    if kind == "hole" and b - a >= 3 and d - c >= 3:
        g = g.difference(box(a + 1, c + 1, b - 1, d - 1))
    elif kind == "ell" and b - a >= 2 and d - c >= 2:
        g = g.difference(box((a + b) // 2, (c + d) // 2, b, d))
    elif kind == "multi" and b + 2 <= N:
        g = shapely.MultiPolygon([g, box(b + 1, c, min(b + 2 + (b - a), N), d)])
    return g


@st.composite
def parcel_shape(draw: st.DrawFn) -> shapely.Geometry:
    """A parcel in lattice units: on the lattice (edges on cell edges, outside the grid or
    straddling its margin too), on half cells, anywhere (floats), or larger than the grid."""
    kind = draw(st.sampled_from(["lat", "lat", "half", "float", "tri", "huge"]))
    if kind == "huge":
        return box(-50, -40, N + 60, N + 45)
    if kind == "tri":
        pts = draw(
            st.lists(st.tuples(st.floats(-4, N + 4), st.floats(-4, N + 4)), min_size=3, max_size=3)
        )
        g = shapely.Polygon(pts)
        assume(g.is_valid and g.area > 1e-6)
        return g
    if kind == "float":
        x, y = draw(st.floats(-8, N + 8)), draw(st.floats(-8, N + 8))
        w, h = draw(st.floats(1e-3, 6)), draw(st.floats(1e-3, 6))
        return box(x, y, x + w, y + h)
    step = 0.5 if kind == "half" else 1.0
    x, y = draw(lattice) * step, draw(lattice) * step
    w, h = draw(st.integers(1, 5)) * step, draw(st.integers(1, 5)) * step
    return box(x, y, x + w, y + h)


def place(g: shapely.Geometry, f: tuple[float, float, float]) -> shapely.Geometry:
    x0, y0, u = f
    return shapely.transform(g, lambda xy: xy * u + np.array([x0, y0]))


def anchors() -> list[shapely.Geometry]:
    """Two cell-sized parts at opposite corners: the parts' bounds are then [0, N]²."""
    return [box(0, 0, 1, 1), box(N - 1, N - 1, N, N)]


@st.composite
def scene(
    draw: st.DrawFn, gk: bool = False
) -> tuple[Target, np.ndarray, tuple[float, float, float]]:
    """A target (groups of parts that overlap across groups, subdivided) and parcels."""
    f = draw(frame(gk))
    groups = draw(st.lists(st.lists(part_shape(), min_size=1, max_size=3), min_size=1, max_size=3))
    geoms = [shapely.union_all([place(g, f) for g in grp]) for grp in groups]
    geoms.append(shapely.union_all([place(g, f) for g in anchors()]))
    max_vertices = draw(st.sampled_from([0, 16, 16]))
    target = Target.build(
        "t", geoms, [str(k) for k in range(len(geoms))], max_vertices=max_vertices
    )
    parcels = draw(st.lists(parcel_shape(), min_size=1, max_size=25))
    parts_too = draw(st.lists(st.sampled_from(range(len(target.parts))), max_size=4))
    # A parcel equal to a part, and one on its bounds: they touch it along every edge; the
    # part shrunk, and small boxes inside it: parcels that the index may pass.
    extra = [target.parts[k] for k in parts_too]
    extra += [box(*shapely.bounds(target.parts[k])) for k in parts_too]
    shrunk = shapely.buffer(target.parts[parts_too], -0.6 * f[2], join_style="mitre")
    # GEOS's negative buffer can return a self-touching ring (a hole meeting its shell through
    # vertices 2e-9 apart): the engine takes repaired parcels only, so such a shape is left out
    extra += [g for g in shapely.get_parts(shrunk) if not g.is_empty and g.is_valid]
    for k in parts_too:
        x, y = shapely.get_coordinates(shapely.point_on_surface(target.parts[k]))[0]
        d = draw(st.sampled_from([0.05, 0.3, 1.0])) * f[2]
        extra.append(box(x - d, y - d, x + d, y + d))
    placed = [place(g, f) for g in parcels] + extra
    return target, np.asarray(placed, dtype=object), f


# --- the index against the oracle -----------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(s=scene())
def test_passed_parcels_are_properly_inside_exactly_the_named_parts(
    s: tuple[Target, np.ndarray, tuple[float, float, float]],
) -> None:
    target, parcels, (x0, _, u) = s
    index = CellIndex.build(target.parts, cells=CELLS)
    assert index is not None
    # The anchors make the lattice lines cell edges (the cases the rounding is tested on).
    assert index.grid.cell == u and index.grid.x0 == x0 - MARGIN * u
    check_index(index, target.parts, parcels)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(s=scene(), cells=st.sampled_from([17, 64, 2048]))
def test_other_grids_than_the_lattice(
    s: tuple[Target, np.ndarray, tuple[float, float, float]], cells: int
) -> None:
    target, parcels, _ = s
    index = CellIndex.build(target.parts, cells=cells)
    assert index is not None
    check_index(index, target.parts, parcels)


def test_the_index_passes_what_is_far_from_boundaries() -> None:
    parts = np.asarray([box(0, 0, 26, 26), box(10, 10, 20, 20)], dtype=object)
    index = CellIndex.build(parts, cells=CELLS)
    assert index is not None
    parcels = np.asarray(
        [
            box(2, 2, 4, 4),  # inside part 0 only
            box(13, 13, 15, 15),  # inside both
            box(40, 40, 41, 41),  # outside, beyond the grid
            box(-100, 3, -99, 4),  # far outside
            box(26, 3, 27, 4),  # touches part 0 along an edge, from outside
            box(25, 3, 26, 4),  # inside part 0, sharing its edge
            box(26, 26, 27, 27),  # touches part 0 at a vertex
            box(9, 9, 10, 10),  # touches part 1 at a vertex, from inside part 0
        ],
        dtype=object,
    )
    passed = check_index(index, parts, parcels)
    assert passed.tolist() == [True, True, True, True, False, False, False, False]


@pytest.mark.parametrize("x0, y0", [(0.0, 0.0), (GK_X, GK_Y)])
def test_a_ring_that_cuts_the_corner_of_a_cell_between_two_samples(x0: float, y0: float) -> None:
    """The edge (11.8, 12.05)-(12.05, 11.8) is shorter than half a cell, so it is not
    densified; its ends are in cells (11, 12) and (12, 11), but it passes through cell
    (11, 11) too, which holds no sample. A parcel in that cell meets the part."""
    tri = shapely.Polygon([(11.8, 12.05), (12.05, 11.8), (13, 13)])
    parts = np.asarray([place(g, (x0, y0, 1.0)) for g in [tri, *anchors()]], dtype=object)
    index = CellIndex.build(parts, cells=CELLS)
    assert index is not None and index.grid.cell == 1.0
    parcels = np.asarray(
        [place(g, (x0, y0, 1.0)) for g in [box(11.1, 11.1, 11.95, 11.95), box(5, 5, 6, 6)]],
        dtype=object,
    )
    assert oracle(parts, parcels[0]) == ({0}, False)  # partly inside the triangle
    assert check_index(index, parts, parcels).tolist() == [False, True]


def flood_fill(free: np.ndarray) -> np.ndarray:
    """4-connected components of the True cells, by breadth-first search (the oracle)."""
    label = np.full(free.shape, -1)
    n = 0
    for start in zip(*np.nonzero(free), strict=True):
        if label[start] >= 0:
            continue
        label[start], todo = n, [start]
        while todo:
            r, c = todo.pop()
            for q in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                inside = 0 <= q[0] < free.shape[0] and 0 <= q[1] < free.shape[1]
                if inside and free[q] and label[q] < 0:
                    label[q] = n
                    todo.append(q)
        n += 1
    return label


@settings(max_examples=300, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 14), st.integers(1, 14)),
    density=st.sampled_from([0.1, 0.4, 0.6, 0.9]),
    seed=st.integers(0, 2**32 - 1),
)
def test_components_of_free_cells_match_a_flood_fill(
    shape: tuple[int, int], density: float, seed: int
) -> None:
    free = np.random.default_rng(seed).random(shape) < density
    start, end, comp = components(free)
    w = shape[1] + 1
    label = np.full(shape, -1)
    for s_, e, c in zip(start.tolist(), end.tolist(), comp.tolist(), strict=True):
        assert s_ // w == (e - 1) // w and e % w <= shape[1]  # within one row
        label[s_ // w, s_ % w : s_ % w + (e - s_)] = c
    assert np.array_equal(label >= 0, free)
    expected = flood_fill(free)
    # The same partition: a bijection between the labels.
    pairs = set(zip(label[free].tolist(), expected[free].tolist(), strict=True))
    assert len(pairs) == len(set(label[free].tolist())) == len(set(expected[free].tolist()))


def test_nan_and_empty_bounds_never_pass() -> None:
    parts = np.asarray([box(0, 0, 26, 26)], dtype=object)
    index = CellIndex.build(parts, cells=CELLS)
    assert index is not None
    bounds = np.array([[np.nan] * 4, [5.0, 5.0, 6.0, np.nan], [5.0, 5.0, 6.0, 6.0]])
    passed, ci, pi = index.pairs(bounds)
    assert passed.tolist() == [False, False, True]
    assert ci.tolist() == [2] and pi.tolist() == [0]
    empty = np.asarray([shapely.Polygon()], dtype=object)
    assert not index.pairs(shapely.bounds(empty))[0].any()


def test_parts_that_cannot_be_indexed() -> None:
    nothing = np.zeros(0, dtype=object)
    assert CellIndex.build(nothing) is None
    flat = np.asarray([shapely.Polygon([(0, 0), (1, 0), (2, 0)])], dtype=object)
    assert CellIndex.build(flat) is None  # zero height


def test_cells_stay_far_above_the_rounding() -> None:
    """A part of 1 µm at Gauss-Krüger eastings: cells of 8 × SLACK × 3.6e7 m, not 0.5 nm."""
    speck = np.asarray([box(GK_X, GK_Y, GK_X + 1e-6, GK_Y + 1e-6)], dtype=object)
    index = CellIndex.build(speck)
    assert index is not None
    assert index.grid.cell == 8 * cell_index.SLACK * (GK_X + 1e-6)
    assert index.grid.rows == index.grid.cols == 1 + 2 * MARGIN
    parcels = np.asarray(
        [box(GK_X - 1, GK_Y - 1, GK_X + 1, GK_Y + 1), box(GK_X + 1, GK_Y, GK_X + 2, GK_Y + 1)],
        dtype=object,
    )
    passed = check_index(index, speck, parcels)
    assert passed.tolist() == [False, True]


def test_a_range_of_2_16_boundary_cells_does_not_pass() -> None:
    """The summed-area table wraps at 2^16: a range holding exactly 65 536 boundary cells
    sums to 0, so ranges that large are never taken."""
    mask = np.zeros((300, 300), dtype=bool)
    mask[10:266, 10:266] = True  # 256 × 256 = 65 536
    grid = Grid(x0=0.0, y0=0.0, cell=1.0, rows=300, cols=300)
    index = CellIndex(
        grid,
        summed_area(mask),
        np.zeros((300, 300), dtype=np.uint8),
        np.zeros(2, dtype=np.int64),
        np.zeros(0, dtype=np.int64),
    )
    s = index.sat
    assert int(s[266, 266] - s[10, 266] - s[266, 10] + s[10, 10]) == 0  # wrapped
    bounds = np.array([[10.5, 10.5, 265.5, 265.5], [280.5, 5.5, 290.5, 290.5]])
    assert index.pairs(bounds)[0].tolist() == [False, True]


def test_the_cache_builds_once_enough_parcels_were_measured() -> None:
    parts = np.asarray([box(0, 0, 26, 26)], dtype=object)
    assert cached_cell_index(parts, parcels=10, least=25) is None
    assert cached_cell_index(parts, parcels=10, least=25) is None
    first = cached_cell_index(parts, parcels=10, least=25)
    assert first is not None
    assert cached_cell_index(parts, parcels=1, least=25) is first
    flat = np.asarray([shapely.Polygon([(0, 0), (1, 0), (2, 0)])], dtype=object)
    assert cached_cell_index(flat, parcels=100, least=0) is None


def test_parcel_trees_query_a_subset_or_all() -> None:
    geoms = np.asarray([box(k, 0, k + 1, 1) for k in range(10)], dtype=object)
    parts = np.asarray([box(2.5, 0.2, 6.5, 0.8)], dtype=object)
    trees = ParcelTrees(geoms)
    pairs = {(int(p), int(c)) for p, c in zip(*trees.query(parts, None), strict=True)}
    assert pairs == {(0, k) for k in range(2, 7)}
    for sel in ([3, 6, 8], [0, 2, 3, 4, 5, 6, 7]):  # a tree of its own, the shared one
        _, ci = trees.query(parts, np.asarray(sel, dtype=np.int64))
        assert sorted(ci.tolist()) == sorted(set(sel) & {2, 3, 4, 5, 6})
    assert len(trees.query(parts, np.zeros(0, dtype=np.int64))[0]) == 0


# --- the engine: identical with and without the prefilter -----------------------------------


def engine_tables(
    parcels: gpd.GeoDataFrame, plan: OverlayPlan, zones: Target, on: bool
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The engine's tables, with the prefilter (on small grids, for any number of parcels)
    or without."""
    old = overlay_kernel.PREFILTER_MIN_PARCELS, cell_index.CELLS
    overlay_kernel.PREFILTER_MIN_PARCELS = 0 if on else None
    cell_index.CELLS = CELLS
    try:
        areas, _ = overlay_areas(parcels, plan, chunk_size=7)
        both, groups, _ = overlay_areas_and_groups(parcels, plan, zones, chunk_size=5)
    finally:
        overlay_kernel.PREFILTER_MIN_PARCELS, cell_index.CELLS = old
    return areas, both, groups


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(s=scene(gk=True), modes=st.lists(st.sampled_from(["exclusion", "boundary"]), min_size=3))
def test_engine_tables_are_identical_with_and_without_prefilter(
    s: tuple[Target, np.ndarray, tuple[float, float, float]], modes: list[str]
) -> None:
    target, parcels, _ = s
    classes = [
        ConstraintClass("cl", f"c{k}", modes[k % len(modes)], "internal", g)
        for k, g in enumerate(shapely.get_parts(target.parts)[:3])
    ]
    plan = plan_overlay(classes, max_vertices=16)
    zones = Target.build(
        "groups", list(target.parts), [str(k) for k in range(len(target.parts))], max_vertices=16
    )
    gdf = gpd.GeoDataFrame(geometry=list(parcels), crs="EPSG:4524")
    on, off = engine_tables(gdf, plan, zones, True), engine_tables(gdf, plan, zones, False)
    for a, b in zip(on, off, strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(s=scene())
def test_chunk_results_are_identical_with_and_without_prefilter(
    s: tuple[Target, np.ndarray, tuple[float, float, float]],
) -> None:
    target, parcels, _ = s
    balance = Target.build(
        "kept", [shapely.union_all(target.parts)], ["kept"], max_vertices=16, remainder=True
    )
    targets = [target, balance]
    ids = np.arange(len(parcels) + 3)  # the chunk starts at position 3
    indexes = [CellIndex.build(t.parts, cells=CELLS) for t in targets]
    on = ChunkRunner(targets, None, ids, indexes=indexes).run(3, parcels)
    off = ChunkRunner(targets, None, ids).run(3, parcels)
    assert np.array_equal(on[0], off[0])
    for a, b in zip(on[1], off[1], strict=True):
        for name in ("pos", "group", "part", "m2", "rem_pos", "rem_m2", "full_pos"):
            assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert on[2].to_dict() == off[2].to_dict()


def _crossing_scene() -> tuple[gpd.GeoDataFrame, OverlayPlan]:
    """400 tilted parcels over two red-line squares (one with a hole), GK coordinates."""
    x0, y0 = 36_500_000.0, 2_400_000.0
    cells = [
        shapely.affinity.rotate(box(x0 + 7 * i, y0 + 7 * j, x0 + 7 * i + 6, y0 + 7 * j + 6), 9)
        for i in range(20)
        for j in range(20)
    ]
    red = shapely.MultiPolygon(
        [
            shapely.Polygon(
                box(x0 + 10, y0 + 10, x0 + 70, y0 + 60).exterior,
                [box(x0 + 30, y0 + 25, x0 + 45, y0 + 40).exterior.coords],
            ),
            box(x0 + 90, y0 + 80, x0 + 130, y0 + 135),
        ]
    )
    plan = plan_overlay(
        [ConstraintClass("cl", "red", "exclusion", "internal", red)], max_vertices=8
    )
    return gpd.GeoDataFrame(geometry=cells, crs="EPSG:4524"), plan


def test_indexes_built_on_their_own_thread_give_the_same_tables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The cell and edge indexes built on a thread of their own while the parcels are checked
    (large inputs) give the tables of the synchronous build and of no prefilter at all."""
    parcels, plan = _crossing_scene()
    monkeypatch.setattr(overlay_kernel, "PREFILTER_MIN_PARCELS", None)
    off, rep_off = overlay_areas(parcels, plan, chunk_size=50)
    monkeypatch.setattr(overlay_kernel, "PREFILTER_MIN_PARCELS", 0)
    monkeypatch.setattr(cell_index, "CELLS", CELLS)
    sync, _ = overlay_areas(parcels, plan, chunk_size=50)
    monkeypatch.setattr(overlay_threads, "INDEX_THREAD_MIN_PARCELS", 0)
    started: list[str] = []
    real = overlay_threads.threading.Thread

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        started.append(kwargs.get("name", ""))
        return real(*args, **kwargs)

    monkeypatch.setattr(overlay_threads.threading, "Thread", spy)
    threaded, rep = overlay_areas(parcels, plan, chunk_size=50)
    assert started.count("qzgeo-indexes") == 1
    assert (off["cl:red"] > 0).sum() > 50 and not rep.conservation_failures
    pd.testing.assert_frame_equal(threaded, off, check_exact=True)
    pd.testing.assert_frame_equal(sync, off, check_exact=True)
    assert rep.to_dict() == rep_off.to_dict()


def test_a_failing_index_build_on_its_thread_reaches_the_caller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parcels, plan = _crossing_scene()
    monkeypatch.setattr(overlay_kernel, "PREFILTER_MIN_PARCELS", 0)
    monkeypatch.setattr(overlay_threads, "INDEX_THREAD_MIN_PARCELS", 0)

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise MemoryError("no room for the grid")

    monkeypatch.setattr(cell_index.CellIndex, "build", broken)
    with pytest.raises(MemoryError, match="no room for the grid"):
        overlay_areas(parcels, plan, chunk_size=50)


def test_the_grid_of_the_default_size_fits_the_memory_budget() -> None:
    """A square extent: the largest grid of CELLS² cells, under 30 MB (uint16 tables)."""
    rings = [box(k, 0, k + 0.5, 1000) for k in range(0, 1000, 2)]
    parts = np.asarray(rings, dtype=object)
    index = CellIndex.build(parts)
    assert index is not None
    assert index.nbytes < 30e6
    assert math.isclose(index.grid.cell, 1000 / (cell_index.CELLS - 2 * MARGIN))
