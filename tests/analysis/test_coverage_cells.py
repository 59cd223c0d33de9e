"""The coverage's cell grid (the fast path of big inputs) decides exactly as the prepared
polygon alone (the path of a few sites): same parcels outside, same parts, same flags."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyproj import CRS

from qzgeo.analysis import coverage_cut
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
