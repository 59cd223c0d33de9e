"""ellipsoidal_area, AreaScale and the units against oracles that share no code with qzgeo:
pyproj.Geod on oriented rings (``support.geod_ring_area``), pyproj's own scale factors, and
exact fractions. Each test here failed on a mutant the rest of the suite let through."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import shapely
from pyproj import CRS, Proj, Transformer
from shapely import GeometryCollection, LineString, MultiPolygon, Point, Polygon, box
from support import geod_ring_area

from qzgeo.geo.area import AreaScale, ellipsoidal_area, m2_to_ha, m2_to_mu

SHELL = [(108.0, 22.0), (108.01, 22.0), (108.01, 22.01), (108.0, 22.01)]
HOLE = [(108.002, 22.002), (108.006, 22.002), (108.006, 22.005), (108.002, 22.005)]
HOLE2 = [(108.007, 22.006), (108.009, 22.006), (108.009, 22.009)]  # a triangle


@pytest.mark.parametrize(
    "geom",
    [
        Polygon(SHELL, [HOLE]),
        Polygon(SHELL, [HOLE[::-1]]),  # a hole wound like its shell (CAD exports)
        Polygon(SHELL[::-1], [HOLE, HOLE2]),
        Polygon(HOLE2),  # a triangle: 4 coordinates, the smallest ring
        Polygon(HOLE2[::-1]),
        MultiPolygon([Polygon(SHELL, [HOLE]), box(108.02, 22.0, 108.03, 22.004)]),
        GeometryCollection([Polygon(SHELL, [HOLE2]), LineString(HOLE), Point(108.0, 22.0)]),
    ],
    ids=["hole", "hole-same-winding", "two-holes-cw", "triangle", "triangle-cw", "multi", "gc"],
)
def test_areas_with_holes_and_triangles_match_geod(geom) -> None:
    """Holes subtract, however wound; a triangle is a ring; lines and points count 0."""
    got = float(ellipsoidal_area([geom])[0])
    want = geod_ring_area(geom)
    assert got == pytest.approx(want, rel=1e-12, abs=1e-6)
    first = shapely.get_parts(geom)[0]
    if len(first.interiors):  # the oracle itself: a hole takes area away from its shell
        assert geod_ring_area(first) < geod_ring_area(Polygon(first.exterior))


def test_units_are_exact_fractions() -> None:
    """1 公顷 = 10 000 m² = 15 亩, so 1 亩 = 2000/3 m² (exact), at several magnitudes."""
    for m2 in (1.0, 2000 / 3, 10_000.0, 123_456.789, 8.8e12):
        assert float(m2_to_ha(m2)) == pytest.approx(float(Fraction(m2) / 10_000), rel=1e-15)
        assert float(m2_to_mu(m2)) == pytest.approx(float(Fraction(m2) * 3 / 2000), rel=1e-15)


@pytest.mark.parametrize(
    ("epsg", "x0", "y0"),
    [
        (4545, 430_000.0, 2_380_000.0),
        (4545, 612_345.0, 2_460_000.0),
        (4524, 36_588_000.0, 2_405_000.0),
    ],
)
def test_area_scale_matches_pyproj_factors_off_the_lattice(epsg: int, x0: float, y0: float) -> None:
    """At points between the 1 km lattice nodes, the interpolated k² is pyproj's areal scale
    there to 2e-8: bilinear interpolation of k² ≈ 1 + x²/R² on 1 km errs by h²/8 · 2/R² ≈
    6e-9 (measured 6.2e-9), while mixing up x and y, or a column of nodes, errs by ~1e-6
    at 70 km from the central meridian. (A row of nodes off by one is not seen: k² hardly
    changes along a meridian, 2e-10 a km.)"""
    crs = CRS.from_epsg(epsg)
    rng = np.random.default_rng(7)
    x = x0 + rng.uniform(0, 20_000, 200)
    y = y0 + rng.uniform(0, 20_000, 200)
    scale = AreaScale(crs, (x.min(), y.min(), x.max(), y.max()))
    lon, lat = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True).transform(x, y)
    want = np.asarray(Proj(crs).get_factors(lon, lat).areal_scale)
    assert np.abs(want - 1).max() > 1e-5  # the test is where k² differs from 1
    np.testing.assert_allclose(scale(x, y), want, rtol=2e-8, atol=0)
