"""Property test: random (often invalid) polygons through repair_layer never escape the report."""

from __future__ import annotations

import math

import geopandas as gpd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from qzgeo._errors import QzgeoError
from qzgeo.geo.area import ellipsoidal_area
from qzgeo.geo.repair import RepairReport, repair_layer

E0, N0 = 564_000.0, 2_399_000.0  # EPSG:4545, near 大榄坪

coord = st.one_of(
    st.floats(0, 100, allow_nan=False).map(lambda v: round(v, 1)),  # repeats and collinearity
    st.sampled_from([0.0, 50.0, 100.0, math.nan, math.inf]),
)
# NaN/inf only after the first vertex: GEOS cannot even build a ring whose first point is NaN.
ring = st.lists(st.tuples(coord, coord), min_size=3, max_size=8).map(
    lambda r: [(0.0, 0.0), *r[1:]] if not all(map(math.isfinite, r[0])) else r
)


@st.composite
def geometry(draw: st.DrawFn) -> shapely.Geometry | None:
    kind = draw(st.sampled_from(["polygon", "polygon", "holed", "multi", "point", "none", "gc"]))
    if kind == "none":
        return None
    pts = [(E0 + x, N0 + y) for x, y in draw(ring)]
    if kind == "point":
        return shapely.Point(pts[0])
    shell = shapely.Polygon(pts)
    if kind == "polygon":
        return shell
    hole = [(E0 + x, N0 + y) for x, y in draw(ring)]
    if kind == "holed":
        return shapely.Polygon(pts, [hole])
    other = shapely.Polygon(hole)
    if kind == "multi":
        return shapely.MultiPolygon([shell, other])
    return shapely.GeometryCollection([shell, shapely.LineString(hole[:2]), shapely.Point(pts[0])])


def _m2(geom: shapely.Geometry) -> float:
    """Ellipsoidal area of an EPSG:4545 geometry, as the repair report gives it."""
    return float(ellipsoidal_area(gpd.GeoSeries([geom], crs="EPSG:4545").to_crs(4490))[0])


@settings(max_examples=100, deadline=None)
@given(geoms=st.lists(geometry(), min_size=1, max_size=6))
def test_repair_accounts_for_every_feature(geoms: list[shapely.Geometry | None]) -> None:
    gdf = gpd.GeoDataFrame({"k": range(len(geoms))}, geometry=geoms, crs="EPSG:4545")
    report = RepairReport()
    try:
        out = repair_layer(gdf, layer_id="fuzz", report=report, family="polygon")
    except QzgeoError:
        return
    by_id: dict[str, list[str]] = {}
    for r in report.records:
        by_id.setdefault(r.feature_id, []).append(r.action)
    kept = set(out.index.astype(str))
    for i, geom in zip(gdf.index.astype(str), geoms, strict=True):
        if i not in kept:
            assert "dropped" in by_id.get(i, []), f"feature {i} vanished without a record"
            continue
        new = out.geometry.loc[int(i)]
        assert new.is_valid and not new.is_empty
        assert new.geom_type in ("Polygon", "MultiPolygon")
        if geom is None or not new.equals_exact(geom, tolerance=0):
            assert i in by_id, f"feature {i} changed without a record"
        records = [r for r in report.records if r.feature_id == i]
        if records and records[-1].area_after_m2 is not None:
            assert records[-1].area_after_m2 == pytest.approx(_m2(new), rel=1e-9, abs=1e-9)
    # Accounting: the kept area equals the recorded areas after repair plus untouched features.
    untouched = sum(_m2(out.geometry.loc[int(i)]) for i in kept if i not in by_id)
    recorded = sum(
        next(r.area_after_m2 for r in reversed(report.records) if r.feature_id == i) or 0.0
        for i in kept
        if i in by_id
    )
    total = sum(_m2(g) for g in out.geometry)
    assert untouched + recorded == pytest.approx(total, rel=1e-9, abs=1e-6)


def _needs_work(g: shapely.Geometry | None) -> bool:
    """Per-feature oracle, written here: what a polygon layer's repair must touch."""
    if g is None or g.is_empty:
        return True
    coords = shapely.get_coordinates(g)
    if not all(math.isfinite(v) for v in coords.ravel()):
        return True
    if g.has_z or g.geom_type not in ("Polygon", "MultiPolygon"):
        return True
    return not g.is_valid


@settings(max_examples=100, deadline=None)
@given(geoms=st.lists(geometry(), min_size=1, max_size=8))
def test_repair_touches_exactly_the_bad_features(geoms: list[shapely.Geometry | None]) -> None:
    """The array triage of repair_layer flags what a feature-by-feature check flags, no more."""
    gdf = gpd.GeoDataFrame({"k": range(len(geoms))}, geometry=geoms, crs="EPSG:4545")
    report = RepairReport()
    try:
        out = repair_layer(gdf, layer_id="fuzz", report=report, family="polygon")
    except QzgeoError:
        return
    touched = {r.feature_id for r in report.records}
    expected = {str(i) for i, g in enumerate(geoms) if _needs_work(g)}
    assert touched == expected
    for i in set(out.index) - {int(t) for t in touched}:
        assert out.geometry.loc[i] is geoms[i] or out.geometry.loc[i].equals(geoms[i])


def test_make_valid_parts_sharing_an_edge_are_merged() -> None:
    """GEOS's "structure" make_valid returns two triangles sharing an edge for this bow-tie
    (an invalid MultiPolygon); repair must still give a valid polygon (found by the fuzz test).
    """
    wkt = (
        "POLYGON ((564001 2399000, 564000 2399050, 564001 2399001, 564001 2399000, "
        "564000 2399050, 564000 2399000, 564001 2399000))"
    )
    gdf = gpd.GeoDataFrame({"k": [0]}, geometry=[shapely.from_wkt(wkt)], crs="EPSG:4545")
    out = repair_layer(gdf, layer_id="edge", report=RepairReport(), family="polygon")
    new = out.geometry.iloc[0]
    assert new.is_valid and new.geom_type == "Polygon"
    # Hand calculation: the region covered is the quadrilateral (0,0) (0,50) (1,1) (1,0), in
    # metres from (564000, 2399000): shoelace area = 25.5 m².
    assert new.area == pytest.approx(25.5)
