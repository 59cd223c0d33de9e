"""The engine against geopandas.overlay on random layers (hypothesis, bounded)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
import shapely.affinity
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely import box

from qzgeo.analysis.overlay import overlay_areas, plan_overlay
from qzgeo.analysis.overlay_plan import ConstraintClass

CRS = "EPSG:4545"
coord = st.floats(0, 90, allow_nan=False).map(lambda v: round(v, 3))
size = st.floats(0.5, 40, allow_nan=False).map(lambda v: round(v, 3))


@st.composite
def polygon(draw: st.DrawFn) -> shapely.Geometry:
    x, y, w, h = draw(coord), draw(coord), draw(size), draw(size)
    g = box(x, y, x + w, y + h)
    if draw(st.booleans()) and w > 4 and h > 4:
        g = g.difference(box(x + w / 4, y + h / 4, x + 3 * w / 4, y + 3 * h / 4))  # a hole
    angle = draw(st.sampled_from([0.0, 0.0, 17.0, 45.0]))
    return shapely.affinity.rotate(g, angle, origin="centroid")


classes = st.lists(
    st.tuples(
        st.sampled_from(["exclusion", "exclusion", "boundary"]),
        st.lists(polygon(), min_size=1, max_size=4),
    ),
    min_size=1,
    max_size=3,
)


def _reference(parcels: gpd.GeoDataFrame, geom: shapely.Geometry) -> np.ndarray:
    """Per-parcel overlap with ``geom`` by geopandas.overlay, grouped by parcel."""
    other = gpd.GeoDataFrame(geometry=[geom], crs=CRS)
    if geom.is_empty:
        return np.zeros(len(parcels))
    pieces = gpd.overlay(parcels, other, how="intersection", keep_geom_type=True)
    areas = pieces.geometry.area.groupby(pieces["pid"]).sum()
    return areas.reindex(parcels["pid"], fill_value=0.0).to_numpy()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    parcel_geoms=st.lists(polygon(), min_size=1, max_size=12),
    spec=classes,
    max_vertices=st.sampled_from([0, 8, 512]),
)
def test_engine_matches_geopandas_overlay(
    parcel_geoms: list[shapely.Geometry],
    spec: list[tuple[str, list[shapely.Geometry]]],
    max_vertices: int,
) -> None:
    parcels = gpd.GeoDataFrame({"pid": range(len(parcel_geoms))}, geometry=parcel_geoms, crs=CRS)
    constraints = [
        ConstraintClass("l", f"c{k}", mode, "internal", shapely.union_all(polys))
        for k, (mode, polys) in enumerate(spec)
    ]
    plan = plan_overlay(constraints, max_vertices=max_vertices)
    df, rep = overlay_areas(parcels, plan, ellipsoidal=False, chunk_size=5)
    assert not rep.conservation_failures and not rep.retries
    tol = {"rtol": 1e-9, "atol": 1e-7}
    np.testing.assert_allclose(df["area_m2"], parcels.area, **tol)
    for c in constraints:
        np.testing.assert_allclose(df[f"l:{c.cls}"], _reference(parcels, c.geometry), **tol)
    # The constrained area, from first principles: exclusions ∪ (world − ∩ boundaries).
    world = box(-1000, -1000, 1000, 1000)
    removed = shapely.union_all([c.geometry for c in constraints if c.mode == "exclusion"])
    bounds = [c.geometry for c in constraints if c.mode == "boundary"]
    if bounds:
        removed = shapely.union(removed, world.difference(shapely.intersection_all(bounds)))
    expected = _reference(parcels, removed)
    np.testing.assert_allclose(df["constrained_m2"], expected, **tol)
    np.testing.assert_allclose(df["available_m2"], parcels.area - expected, **tol)
    excl = np.zeros(len(parcels), dtype=bool)
    for c in constraints:
        ref = _reference(parcels, c.geometry)
        excl |= (ref > 0.01) if c.mode == "exclusion" else (parcels.area.to_numpy() - ref > 0.01)
    assert df["conflict"].tolist() == excl.tolist()
