"""The corrected areal scale at a lattice node is one number, whichever chunk asks for it.

A chunk's :class:`~qzgeo.geo.area.AreaScale` covers its own parcels' extent, so its lattice
starts elsewhere than another chunk's. Every node they share must get the same ``k²`` to the
last bit, or a parcel's area changes with the chunk it came in (a streamed run with worker
processes then differed from the in-memory one in the last digit of 1.5 % of the rows).

Oracle: the same function asked over another extent (no shared code path to trust but the
one under test; the property is equality, not a value).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import CRS

from qzgeo.geo.area_factors import areal_scale_grid

CELL = 1_000.0  # AreaScale's lattice


@settings(max_examples=25, deadline=None)
@given(
    epsg=st.sampled_from([4527, 4548, 4491, 4513]),  # with and without zone prefix, 3° and 6°
    a=st.integers(0, 60),
    b=st.integers(0, 60),
    width=st.integers(2, 40),
)
def test_shared_nodes_get_the_same_k2_from_any_extent(
    epsg: int, a: int, b: int, width: int
) -> None:
    crs = CRS.from_epsg(epsg)
    x0 = {4527: 39_440_000.0, 4548: 440_000.0, 4491: 13_440_000.0, 4513: 25_440_000.0}[epsg]
    y0 = 3_400_000.0
    xs_a = x0 + (a + np.arange(width + 30)) * CELL
    xs_b = x0 + (b + np.arange(width)) * CELL
    ys_a = y0 + (b + np.arange(width)) * CELL
    ys_b = y0 + (a + np.arange(width + 7)) * CELL
    ga = areal_scale_grid(crs, xs_a, ys_a)
    gb = areal_scale_grid(crs, xs_b, ys_b)
    shared_x = np.intersect1d(xs_a, xs_b)
    shared_y = np.intersect1d(ys_a, ys_b)
    if not len(shared_x) or not len(shared_y):
        return
    ia, ib = np.searchsorted(xs_a, shared_x), np.searchsorted(xs_b, shared_x)
    ja, jb = np.searchsorted(ys_a, shared_y), np.searchsorted(ys_b, shared_y)
    va, vb = ga[np.ix_(ia, ja)], gb[np.ix_(ib, jb)]
    assert np.isfinite(va).all()
    assert np.array_equal(va, vb), np.abs(va - vb).max()
