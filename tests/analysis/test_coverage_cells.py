"""The coverage's cell index (the fast path of big inputs) decides exactly as the prepared
polygon alone (the path of a few sites): same parcels outside, same parts, same flags; and
what it decides (inside, outside) is what shapely's predicates say."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import CRS

from qzgeo.analysis import coverage_cut
from qzgeo.analysis.cell_index import CellIndex
from qzgeo.geo.coverage import Coverage

EXTENT = (108.0, 21.4, 109.2, 22.4)


def _parcels(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    # lon/lat squares of 20–2 000 m over the extent, some straddling its edges, in GK 4545
    lon = rng.uniform(107.95, 109.25, n)
    lat = rng.uniform(21.35, 22.45, n)
    size = rng.uniform(0.0002, 0.02, n)
    boxes = shapely.box(lon, lat, lon + size, lat + size)
    from pyproj import Transformer

    t = Transformer.from_crs(4490, 4545, always_xy=True)
    return np.asarray(
        shapely.transform(boxes, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1]))),
        dtype=object,
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_cell_grid_and_prepared_polygon_agree(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # districts with a bay, an enclave and an island, edges densified as the pack guide asks
    land = shapely.difference(
        shapely.box(108.1, 21.5, 109.0, 22.3), shapely.box(108.5, 21.5, 108.7, 21.8)
    )
    hole = shapely.box(108.3, 22.0, 108.35, 22.05)
    island = shapely.box(108.9, 21.45, 109.1, 21.55)
    geoms = [shapely.segmentize(g, 0.0018) for g in (shapely.difference(land, hole), island)]
    cov = Coverage.of_polygons(geoms, EXTENT, layer="districts")
    parcels = _parcels(6_000, seed)
    crs = CRS.from_epsg(4545)
    monkeypatch.setattr(coverage_cut, "_CELLS_FROM", 0)
    fast = coverage_cut.coverage_outside(parcels, crs, cov)
    monkeypatch.setattr(coverage_cut, "_CELLS_FROM", 10**9)
    slow = coverage_cut.coverage_outside(parcels, crs, cov)
    assert np.array_equal(fast[0], slow[0])
    assert np.array_equal(fast[2], slow[2])
    assert shapely.equals_exact(fast[1], slow[1], tolerance=0).all()
    assert 0 < len(fast[0]) < len(parcels)  # some parcels outside, not all


# --- the index's sides against shapely's predicates ------------------------------------------


@st.composite
def _coverage_scene(draw: st.DrawFn) -> tuple[shapely.Geometry, np.ndarray]:
    """A coverage (disjoint polygons, some with holes, GK-sized coordinates) and boxes
    anywhere around it: far inside, far outside, across its edges, on them, huge."""
    x0, y0 = draw(st.sampled_from([(0.0, 0.0), (36_564_000.0, 2_399_000.0)]))
    unit = draw(st.sampled_from([0.5, 10.0, 1000.0]))
    polys = []
    for k in range(draw(st.integers(1, 3))):
        a, b = draw(st.integers(0, 40)), draw(st.integers(2, 30))
        c, d = draw(st.integers(0, 40)), draw(st.integers(2, 30))
        g = shapely.box(a + 80 * k, c, a + 80 * k + b, c + d)
        if draw(st.booleans()) and b > 4 and d > 4:
            g = g.difference(shapely.box(a + 80 * k + 2, c + 2, a + 80 * k + b - 2, c + d - 2))
        if draw(st.booleans()):  # a ragged edge, like a coastline (same point, same move)
            amp, phase = draw(st.floats(0.05, 0.3)), draw(st.floats(0, 6.3))

            def wobble(xy: np.ndarray, amp: float = amp, phase: float = phase) -> np.ndarray:
                return xy + amp * np.sin(xy[:, ::-1] * 2.3 + phase)

            g2 = shapely.transform(shapely.segmentize(g, 0.7), wobble)
            if g2.is_valid:
                g = g2
        polys.append(g)
    cov = shapely.union_all(polys)
    n = draw(st.integers(1, 40))
    xs = draw(st.lists(st.floats(-20, 260), min_size=n, max_size=n))
    ys = draw(st.lists(st.floats(-20, 90), min_size=n, max_size=n))
    ws = draw(st.lists(st.sampled_from([0.01, 0.3, 1.0, 4.0, 500.0]), min_size=n, max_size=n))
    boxes = [shapely.box(x, y, x + w, y + w) for x, y, w in zip(xs, ys, ws, strict=True)]
    boxes += list(shapely.get_parts(cov))  # equal to a part: on its edges everywhere
    boxes += [shapely.box(*shapely.bounds(p)) for p in shapely.get_parts(cov)]

    def place(g: shapely.Geometry) -> shapely.Geometry:
        return shapely.transform(g, lambda xy: xy * unit + np.array([x0, y0]))

    return place(cov), np.asarray([place(b) for b in boxes], dtype=object)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(s=_coverage_scene(), cells=st.sampled_from([16, 64, 2048]))
def test_cell_index_sides_agree_with_shapely(
    s: tuple[shapely.Geometry, np.ndarray], cells: int
) -> None:
    cov, parcels = s
    parts = np.asarray(shapely.get_parts(cov), dtype=object)
    index = CellIndex.build(parts, cells=cells)
    assert index is not None
    inside, outside = coverage_cut.coverage_sides(shapely.bounds(parcels), index)
    assert not (inside & outside).any()
    assert shapely.contains_properly(cov, parcels[inside]).all()
    assert not shapely.intersects(cov, parcels[outside]).any()


def test_cell_index_sides_decide_most_parcels() -> None:
    # far inside and far outside are decided without GEOS; across the edge, never
    cov = shapely.box(0, 0, 1000, 1000)
    index = CellIndex.build(np.asarray([cov], dtype=object))
    assert index is not None
    boxes = shapely.bounds(
        np.asarray([shapely.box(10, 10, 20, 20), shapely.box(2000, 0, 2010, 10),
                    shapely.box(995, 10, 1005, 20), shapely.box(990, 10, 1000, 20)], dtype=object)
    )  # fmt: skip
    inside, outside = coverage_cut.coverage_sides(boxes, index)
    assert inside.tolist() == [True, False, False, False]
    assert outside.tolist() == [False, True, False, False]
