"""Second moments of area and the curvature term of ellipsoidal areas.

Oracles: second moments summed over a constrained Delaunay triangulation with the closed-form
moments of a triangle; the Hessian of 1/k² by wide finite differences of PROJ's factors.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import CRS, Proj, Transformer
from shapely import affinity, box

from qzgeo.geo.area import AreaScale
from qzgeo.geo.area_moments import CURVATURE_BOUND, CURVED_EXTENT_M, area_moments, measure


def _triangle_moments(geom: shapely.Geometry, ox: float, oy: float) -> np.ndarray:
    """(A, ∫x, ∫y, ∫x², ∫xy, ∫y²) about (ox, oy), over the triangles of ``geom``."""
    out = np.zeros(6)
    for tri in shapely.get_parts(shapely.constrained_delaunay_triangles(geom)):
        (x1, y1), (x2, y2), (x3, y3) = np.asarray(tri.exterior.coords)[:3] - (ox, oy)
        a = abs((x2 - x1) * (y3 - y1) - (x3 - x1) * (y2 - y1)) / 2
        out += [
            a,
            a * (x1 + x2 + x3) / 3,
            a * (y1 + y2 + y3) / 3,
            a / 6 * (x1 * x1 + x2 * x2 + x3 * x3 + x1 * x2 + x1 * x3 + x2 * x3),
            a
            / 12
            * (
                2 * (x1 * y1 + x2 * y2 + x3 * y3)
                + x1 * y2
                + x2 * y1
                + x1 * y3
                + x3 * y1
                + x2 * y3
                + x3 * y2
            ),
            a / 6 * (y1 * y1 + y2 * y2 + y3 * y3 + y1 * y2 + y1 * y3 + y2 * y3),
        ]
    return out


@settings(max_examples=80, deadline=None)
@given(
    st.sampled_from([36_500_000.0, 500_000.0]),
    st.floats(1.0, 1e5),
    st.floats(0.2, 1.0),
    st.floats(0.0, 90.0),
    st.sampled_from(["box", "hole", "multi", "triangle"]),
    st.booleans(),
)
def test_moments_match_a_triangulation(
    x0: float, w: float, aspect: float, angle: float, shape: str, cw: bool
) -> None:
    h = w * aspect
    g: shapely.Geometry = box(0, 0, w, h)
    if shape == "hole":
        g = g.difference(box(0.2 * w, 0.3 * h, 0.7 * w, 0.6 * h))
    elif shape == "multi":
        g = shapely.MultiPolygon([box(0, 0, 0.3 * w, h), box(0.6 * w, 0.2 * h, w, 0.9 * h)])
    elif shape == "triangle":
        g = shapely.Polygon([(0, 0), (w, 0.3 * h), (0.4 * w, h)])
    g = affinity.rotate(g, angle, origin=(0, 0))
    if cw:
        g = shapely.orient_polygons(g, exterior_cw=True)
    g = affinity.translate(g, x0, 2_500_000.0)
    a, cx, cy, sxx, sxy, syy = (v[0] for v in area_moments(np.array([g])))
    ox, oy = g.centroid.x, g.centroid.y
    t = _triangle_moments(g, ox, oy)
    assert a == pytest.approx(g.area, rel=1e-9)
    # Rounding: 1e-9 of the sizes, or a few ulps of the eastings (the vertices are rounded
    # to them, and so are both centroids).
    ulp = 4 * np.spacing(x0)
    first = a * (1e-9 * w + ulp)
    assert abs((cx - ox) * a - t[1]) <= first
    assert abs((cy - oy) * a - t[2]) <= first
    # Central moments: the triangulation's about the GEOS centroid, shifted to ours.
    dx, dy = cx - ox, cy - oy
    second = a * w * (1e-9 * w + ulp)
    assert abs(sxx - (t[3] - a * dx * dx)) <= second
    assert abs(sxy - (t[4] - a * dx * dy)) <= second
    assert abs(syy - (t[5] - a * dy * dy)) <= second


def test_empty_and_lines_have_no_moments() -> None:
    geoms = np.array([shapely.Polygon(), shapely.LineString([(0, 0), (1, 1)]), box(0, 0, 2, 2)])
    a, cx, _, sxx, _, _ = area_moments(geoms)
    assert a.tolist() == [0.0, 0.0, 4.0] and sxx[:2].tolist() == [0.0, 0.0]
    assert np.isnan(cx[:2]).all() and cx[2] == 1.0


@pytest.mark.parametrize("epsg,cm", [(4524, 108.0), (4545, 108.0), (4549, 120.0), (4499, 123.0)])
@pytest.mark.parametrize("lat", [18.0, 35.0, 53.0])
def test_curvature_within_its_bound_and_proj(epsg: int, cm: float, lat: float) -> None:
    """The lattice Hessian of 1/k² agrees with 10 km differences of PROJ's factors to 1e-3,
    and stays within CURVATURE_BOUND (which sets CURVED_EXTENT_M) across the zone."""
    crs = CRS.from_epsg(epsg)
    to = Transformer.from_crs(crs.geodetic_crs, crs, always_xy=True)
    back = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)
    half = 3.2 if epsg == 4499 else 1.6  # beyond the zone's edge
    xs, ys = to.transform(cm + np.linspace(-half, half, 9), np.full(9, lat))
    xs, ys = np.asarray(xs), np.asarray(ys)
    sc = AreaScale(crs, (xs.min(), ys.min() - 30_000, xs.max(), ys.max() + 30_000))

    def f(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return 1 / np.asarray(Proj(crs).get_factors(*back.transform(x, y)).areal_scale)

    s = 10_000.0
    want_xx = (f(xs + s, ys) - 2 * f(xs, ys) + f(xs - s, ys)) / s**2
    got_xx, got_xy, got_yy = sc.hessian(xs, ys)
    assert np.abs(got_xx / want_xx - 1).max() < 1e-3
    total = (np.abs(got_xx) + 2 * np.abs(got_xy) + np.abs(got_yy)) / f(xs, ys)
    assert total.max() <= CURVATURE_BOUND
    assert CURVATURE_BOUND * CURVED_EXTENT_M**2 / 8 <= 1e-9 * (1 + 1e-12)


def test_pieces_add_up_to_their_parcel() -> None:
    """The corrected m² are additive: a 60 km parcel and its four quarters, each measured
    at its own centroid (they differed by 4e-6 relative before)."""
    crs = CRS.from_epsg(4524)
    x, y = Transformer.from_crs(crs.geodetic_crs, crs, always_xy=True).transform(109.3, 25.0)
    h = 30_000.0
    parcel = box(x - h, y - h, x + h, y + h)
    quarters = [
        box(x + i * h, y + j * h, x + (i + 1) * h, y + (j + 1) * h)
        for i in (-1, 0)
        for j in (-1, 0)
    ]
    geoms = np.array([parcel, *quarters])
    sc = AreaScale(crs, parcel.bounds)
    m = measure(geoms, sc, np.ones(5, dtype=bool))
    assert abs(m.m2[1:].sum() / m.m2[0] - 1) < 1e-9
    plain = measure(geoms, sc, np.zeros(5, dtype=bool))
    assert abs(plain.m2[1:].sum() / plain.m2[0] - 1) > 1e-6  # without the term
