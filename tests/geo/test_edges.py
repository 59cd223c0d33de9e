"""Long lon/lat edges: how many, the longest, and how far the maps and the analysis draw them apart.

Oracles share no code with qzgeo: ``pyproj.Geod`` edge by edge in a Python loop for lengths
and counts; for an edge along a parallel, the distance from the parallel's midpoint to the
geodesic's midpoint (the analysis's GK chord is the geodesic to a few mm at these lengths).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import CRS, Geod

from qzgeo.geo.edges import long_edges

GEOD = Geod(ellps="GRS80")
LONLAT = CRS.from_epsg(4490)
GK40 = CRS.from_epsg(4549)  # CM 120°E
GK36 = CRS.from_epsg(4545)  # CM 108°E


def _parallel_gap_m(lon0: float, lon1: float, lat: float) -> float:
    az, _, dist = GEOD.inv(lon0, lat, lon1, lat)
    lon, mid_lat, _ = GEOD.fwd(lon0, lat, az, dist / 2.0)
    return float(GEOD.inv(lon, mid_lat, (lon0 + lon1) / 2.0, lat)[2])


def _edges_oracle(geoms: list) -> list[tuple[int, float]]:
    """(row, geodesic length) of every edge of every line and ring, one by one."""
    out = []
    for row, g in enumerate(geoms):
        for part in shapely.get_parts(g) if g is not None else []:
            subparts = shapely.get_parts(part) if part.geom_type.startswith("Multi") else [part]
            rings = [
                r
                for q in subparts
                for r in ([q.exterior, *q.interiors] if q.geom_type == "Polygon" else [q])
            ]
            for ring in rings:
                for a, b in itertools.pairwise(ring.coords):
                    out.append((row, GEOD.inv(a[0], a[1], b[0], b[1])[2]))
    return out


@pytest.mark.parametrize(
    ("lon0", "lon1", "lat", "planar"),
    [
        (122.05, 122.20, 41.83, GK40),  # the 黑山 farmland's north edge, 2° from the CM
        (108.60, 108.72, 21.70, GK36),
        (121.00, 121.01, 41.00, GK40),  # 840 m: not long
    ],
)
def test_an_edge_along_a_parallel(lon0: float, lon1: float, lat: float, planar: CRS) -> None:
    box = shapely.box(lon0, lat - 0.001, lon1, lat)
    found = long_edges([box], crs=LONLAT, planar=planar, min_m=1_000.0)
    length = GEOD.inv(lon0, lat, lon1, lat)[2]
    if length <= 1_000.0:
        assert found is None
        return
    assert found is not None
    assert found.count == 2  # the two parallels; the 111 m meridian sides are short
    assert found.longest.value == pytest.approx(
        GEOD.inv(lon0, lat - 0.001, lon1, lat - 0.001)[2], abs=1e-6
    )
    # the north side at `lat` bows less than the south one only by the tan φ change
    assert found.worst.value == pytest.approx(_parallel_gap_m(lon0, lon1, lat - 0.001), abs=0.01)
    assert found.worst.value > 1.0
    ends = {found.worst.start, found.worst.end}
    assert ends == {(lon0, lat - 0.001), (lon1, lat - 0.001)} or ends == {
        (lon0, lat),
        (lon1, lat),
    }


def test_densified_edges_are_not_long_and_barely_apart() -> None:
    box = shapely.segmentize(shapely.box(122.05, 41.70, 122.20, 41.83), 0.0018)
    assert long_edges([box], crs=LONLAT, planar=GK40, min_m=1_000.0) is None
    found = long_edges([box], crs=LONLAT, planar=GK40, min_m=100.0)
    assert found is not None
    assert found.longest.value <= 200.0
    assert found.worst.value < 0.001  # < 1 mm: the build scripts' target is 1 cm


def test_every_kind_of_geometry_and_the_rows() -> None:
    hole = shapely.box(108.62, 21.72, 108.66, 21.76)  # 4.1-4.4 km sides
    geoms = [
        None,
        shapely.Point(108.6, 21.7),
        shapely.Polygon(shapely.box(108.6, 21.7, 108.7, 21.8).exterior, [hole.exterior]),
        shapely.MultiLineString([[(108.0, 22.0), (108.0, 22.2)], [(108.1, 22.0), (108.1, 22.001)]]),
        shapely.GeometryCollection(
            [
                shapely.LineString([(109.0, 22.0), (109.3, 22.0)]),
                shapely.MultiPolygon([shapely.box(109.0, 22.1, 109.02, 22.101)]),
            ]
        ),
        shapely.Polygon(),
        shapely.MultiPolygon([shapely.box(108.8, 21.8, 108.801, 21.801)]),
    ]
    expect = [(row, m) for row, m in _edges_oracle(geoms) if m > 1_000.0]
    found = long_edges(np.array(geoms, dtype=object), crs=LONLAT, planar=GK36, min_m=1_000.0)
    assert found is not None
    assert found.count == len(expect) == 4 + 4 + 1 + 1 + 2
    row, longest = max(expect, key=lambda e: e[1])
    assert (found.longest.row, found.longest.value) == (row, pytest.approx(longest, abs=1e-6))
    assert found.longest.row == 4  # the 31 km line inside the collection
    assert found.worst.row == 4


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(108.0, 110.0),
            st.floats(21.0, 23.0),
            st.floats(-0.05, 0.05),
            st.floats(-0.05, 0.05),
        ),
        min_size=1,
        max_size=30,
    ),
    st.floats(200.0, 5_000.0),
)
def test_count_and_longest_match_a_loop(
    segs: list[tuple[float, float, float, float]], min_m: float
) -> None:
    geoms = [shapely.LineString([(x, y), (x + dx, y + dy)]) for x, y, dx, dy in segs]
    expect = [(row, m) for row, m in _edges_oracle(geoms) if m > min_m]
    found = long_edges(geoms, crs=LONLAT, planar=GK36, min_m=min_m)
    if not expect:
        assert found is None
        return
    assert found is not None
    assert found.count == len(expect)
    assert found.longest.value == pytest.approx(max(m for _, m in expect), abs=1e-6)


def test_densify_rings_keeps_the_area_of_a_polygon_with_a_near_degenerate_spike() -> None:
    # GEOS 3.14's segmentize of this valid polygon (its vertex (..200.006, ..333.66) lies within
    # rounding of the edge back from the tip) returned 4e-9 m² for steps of 1, 5 and 12 m.
    from fractions import Fraction

    from shapely import Polygon, from_wkt

    from qzgeo.geo.edges import densify_rings

    poly = from_wkt(
        "POLYGON ((36565178.45732146 2399227.38621385, 36565200.006 2399240.333966177, "
        "36565200.006 2399333.664637957, 36565231.54267854 2399352.61378615, "
        "36565137.25427546 2399295.959597908, 36565178.45732146 2399227.38621385))"
    )
    c = [(Fraction(x), Fraction(y)) for x, y in poly.exterior.coords]
    exact = float(sum(a[0] * b[1] - b[0] * a[1] for a, b in itertools.pairwise(c)) / 2)
    x0, y0 = 36565000, 2399000
    holed = Polygon(
        poly.exterior, [[(x0 + 150, y0 + 280), (x0 + 160, y0 + 290), (x0 + 165, y0 + 280)]]
    )
    for step in (1.0, 5.0, 12.0, 50.0):
        got = densify_rings(np.array([poly, holed, None], dtype=object), step)
        assert got[0].area == pytest.approx(exact, rel=1e-12)
        assert got[1].area == pytest.approx(exact - 75.0, rel=1e-12)
        assert got[2] is None
        assert got[0].is_valid and got[1].is_valid  # densified, or as it was where that crossed
