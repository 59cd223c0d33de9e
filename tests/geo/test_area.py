"""Areas against hand-computed cases: the 1 km square, units, degrees refused."""

from __future__ import annotations

import itertools

import geopandas as gpd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import box

from qzgeo._errors import CRSError
from qzgeo.geo.area import ellipsoidal_area, m2_to_ha, m2_to_mu, require_geographic


def test_units() -> None:
    assert float(m2_to_ha(10_000)) == 1.0
    assert float(m2_to_mu(10_000)) == pytest.approx(15.0)
    assert float(m2_to_mu(666.666666)) == pytest.approx(1.0, rel=1e-6)


@pytest.mark.parametrize("epsg", [4524, 4545])
def test_one_km_square_is_100_ha(epsg: int) -> None:
    x0 = 36_564_000 if epsg == 4524 else 564_000
    sq = gpd.GeoSeries([box(x0, 2_399_000, x0 + 1000, 2_400_000)], crs=epsg)
    m2 = ellipsoidal_area(sq.to_crs(4490).values)[0]
    # GK zone 36 at 64 km from the central meridian: the scale factor k ≈ 1 + 5e-5, so the
    # true (ellipsoidal) area of a 1 km grid square is smaller by about 2(k-1) ≈ 1e-4.
    assert m2 == pytest.approx(1_000_000, rel=2e-4)
    assert m2 < 1_000_000
    assert float(m2_to_ha(m2)) == pytest.approx(100.0, rel=2e-4)
    assert float(m2_to_mu(m2)) == pytest.approx(1500.0, rel=2e-4)


def test_area_of_degrees_is_never_square_degrees() -> None:
    # 0.01° × 0.01° at 22°N is about 1.14 km², never 1e-4 "square degrees".
    m2 = ellipsoidal_area([box(108.0, 22.0, 108.01, 22.01)])[0]
    assert 1.13e6 < m2 < 1.15e6


def test_require_geographic_names_the_fix() -> None:
    with pytest.raises(CRSError, match="to_crs"):
        require_geographic("EPSG:4545", what="layer x")
    with pytest.raises(CRSError, match="no CRS"):
        require_geographic(None)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(0, 1e10, allow_nan=False, allow_infinity=False), min_size=1, max_size=60),
    st.randoms(use_true_random=False),
    st.integers(1, 7),
)
def test_fixed_point_totals_do_not_depend_on_order_or_chunks(values, rnd, pieces) -> None:
    """The summary's totals: the same float however the values are ordered and split, and
    within 2^-50 m² per value of the exact sum (math.fsum, the oracle)."""
    import math

    from qzgeo.geo.area import fixed_point_m2, from_fixed_point_m2

    def total(vs: list[float]) -> float:
        cuts = sorted(rnd.sample(range(len(vs) + 1), min(pieces, len(vs) + 1)))
        hi = lo = 0
        for a, b in zip([0, *cuts], [*cuts, len(vs)], strict=True):
            h, lw = fixed_point_m2(vs[a:b]) if b > a else ([0], [0])
            hi, lo = hi + int(sum(int(x) for x in h)), lo + int(sum(int(x) for x in lw))
        return from_fixed_point_m2(hi, lo)

    first = total(values)
    shuffled = list(values)
    rnd.shuffle(shuffled)
    assert total(shuffled) == first
    exact = math.fsum(values)
    assert abs(first - exact) <= len(values) * 2.0**-50 + 4 * math.ulp(exact)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(36_400_000, 36_700_000),  # a zone-prefixed GK easting
            st.floats(2_300_000, 2_600_000),
            st.floats(1.0, 5_000.0),  # radius (m)
            st.integers(3, 40),  # vertices
            st.booleans(),  # clockwise
            st.integers(0, 3),  # 0 star, 1 with a hole, 2 multipolygon, 3 degenerate
        ),
        min_size=1,
        max_size=25,
    ),
    st.randoms(use_true_random=False),
)
def test_centroids_match_geos_on_gk_coordinates(specs, rnd) -> None:
    """Oracle: the exact centroid of the float coordinates (rational arithmetic), on polygons
    placed as parcels are in a GK zone; where the area is exactly 0, the edges' midpoints
    weighted by length.

    GEOS is no oracle here: hypothesis found a 1 m ring of zero area (a spike traced out and
    back) whose GEOS centroid is x = 44 739 242 at eastings of 36 400 000.
    """
    import numpy as np
    import shapely

    from qzgeo.geo.area import centroids_xy

    geoms = []
    for cx, cy, r, k, cw, kind in specs:
        ang = np.sort(np.array([rnd.uniform(0, 2 * np.pi) for _ in range(k)]))
        rad = np.array([rnd.uniform(0.3, 1.0) * r for _ in range(k)])
        ring = np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], axis=1)
        ring = ring[::-1] if cw else ring
        poly = shapely.Polygon(ring)
        if kind == 1:
            poly = shapely.Polygon(
                ring, [shapely.box(cx - r / 9, cy - r / 9, cx + r / 9, cy + r / 9).exterior.coords]
            )
        elif kind == 2:
            poly = shapely.MultiPolygon([poly, shapely.box(cx + 3 * r, cy, cx + 4 * r, cy + r)])
        elif kind == 3:
            poly = shapely.Polygon([(cx, cy), (cx + r, cy), (cx + 2 * r, cy), (cx, cy)])
        geoms.append(poly)
    geoms = np.array(geoms, dtype=object)
    x, y = centroids_xy(geoms)
    exact = [_exact_centroid(g) for g in geoms]
    # A sliver (area << r²) has a centroid of moment / almost 0, which no float method gets
    # to 1e-6 m; parcels are not slivers: compare where the centroid is well conditioned.
    r = np.array([s[2] for s in specs])
    for i, (ex, ey, area) in enumerate(exact):
        if area == 0:  # a line (a spike traced out and back): its edges' midpoints by length
            ex, ey = _line_centroid(geoms[i])
        elif abs(area) < 1e-3 * r[i] ** 2 or not shapely.is_valid(geoms[i]):
            # an invalid polygon (a hole across its star) has no agreed centroid: GEOS and
            # the signed sums differ in sign there; parcels are repaired before they are measured
            continue
        assert abs(x[i] - float(ex)) <= 1e-6, (geoms[i].wkt, x[i], float(ex))
        assert abs(y[i] - float(ey)) <= 1e-6, (geoms[i].wkt, y[i], float(ey))


def _line_centroid(geom) -> tuple:
    import math
    from fractions import Fraction

    w = mx = my = Fraction(0)
    for (x0, y0), (x1, y1) in itertools.pairwise(geom.exterior.coords):
        length = Fraction(math.hypot(Fraction(x1) - Fraction(x0), Fraction(y1) - Fraction(y0)))
        w += length
        mx += length * (Fraction(x0) + Fraction(x1)) / 2
        my += length * (Fraction(y0) + Fraction(y1)) / 2
    if w == 0:  # every vertex the same point
        x, y = geom.exterior.coords[0]
        return Fraction(x), Fraction(y)
    return mx / w, my / w


def test_a_ring_of_zero_area_has_its_line_centroid() -> None:
    """The case hypothesis found: the shoelace moments of a spike are two rounding errors."""
    import numpy as np
    import shapely

    from qzgeo.geo.area import centroids_xy

    g = shapely.from_wkt(
        "POLYGON ((36400000.82884849 2300000.5594731313, 36400001 2300000, 36400000.368860945 "
        "2300000, 36400000.375 2300000, 36400001 2300000, 36400000.82884849 2300000.5594731313))"
    )
    assert _exact_centroid(g)[2] == 0
    ex, ey = _line_centroid(g)
    x, y = centroids_xy(np.array([g]))
    assert abs(x[0] - float(ex)) <= 1e-6
    assert abs(y[0] - float(ey)) <= 1e-6


def _exact_centroid(geom) -> tuple:
    """Centroid and area of a (multi)polygon by the shoelace sums in exact arithmetic (the
    floats as integers over one power of two); holes subtract however they are wound."""
    from fractions import Fraction

    import shapely

    rings = [
        (j, list(ring.coords))
        for poly in shapely.get_parts(geom)
        for j, ring in enumerate([poly.exterior, *poly.interiors])
    ]
    den = max(Fraction(v).denominator for _, pts in rings for p in pts for v in p)

    def whole(v: float) -> int:
        f = Fraction(v)
        return f.numerator * (den // f.denominator)

    area2 = mx = my = 0
    for j, pts in rings:
        ipts = [(whole(x), whole(y)) for x, y in pts]
        a = sx = sy = 0
        for (x0, y0), (x1, y1) in itertools.pairwise(ipts):
            cross = x0 * y1 - x1 * y0
            a, sx, sy = a + cross, sx + (x0 + x1) * cross, sy + (y0 + y1) * cross
        sign = (1 if a >= 0 else -1) * (1 if j == 0 else -1)
        area2, mx, my = area2 + sign * a, mx + sign * sx, my + sign * sy
    if area2 == 0:
        return Fraction(0), Fraction(0), 0
    return Fraction(mx, 3 * area2 * den), Fraction(my, 3 * area2 * den), Fraction(area2, 2 * den**2)


def test_fixed_point_refuses_nan() -> None:
    from qzgeo.geo.area import fixed_point_m2

    with pytest.raises(ValueError, match="finite"):
        fixed_point_m2([1.0, float("nan")])
