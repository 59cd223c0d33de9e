"""A parcel drawn against a zone's edge from outside is in no zone (not in the zone it touches).

Parcels are often digitised along a zone line with their own vertices on it (a T-junction):
the overlay of such a parcel with the zone leaves a sliver of ~1e-8 m² along the shared edge,
and that sliver must not put the parcel in the zone (``qzgeo check`` already ignores overlaps
under 0.01 m²: "a shared edge is not a touch"). The oracle is shapely's planar intersection
of hand-made polygons, sharing no code with qzgeo.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import geopandas as gpd
import numpy as np
import shapely

from qzgeo.analysis.parcels import build_parcel_plan, measure_parcels, zone_target
from qzgeo.pack.load import LoadedPack

X0, Y0 = 36_574_000.0, 2_409_000.0  # EPSG:4524, away from the minipack's own squares


def _zone() -> shapely.Polygon:
    # long, oblique edges: a vertex put on one is off the line by rounding
    return shapely.Polygon(
        [(X0, Y0), (X0 + 2713.3, Y0 + 411.7), (X0 + 2450.9, Y0 + 1987.1), (X0 + 123.4, Y0 + 1733.3)]
    )


def _adjacent(zone: shapely.Polygon) -> list[shapely.Polygon]:
    """Quads outside the zone, each sharing part of an edge (a vertex in the edge's middle)."""
    ring = np.asarray(shapely.orient_polygons(zone).exterior.coords)
    quads = []
    for p, q in itertools.pairwise(ring):
        d = q - p
        out = np.array([d[1], -d[0]]) / np.hypot(*d)  # outward for a counter-clockwise ring
        for t in (0.5, 1 / 3, 0.37, 0.61, 0.29, 0.77):
            m = p + t * d
            quads.append(shapely.Polygon([p, p + 40 * out, m + 40 * out, m]))
    return quads


def _plan(loaded: LoadedPack, zone: shapely.Polygon):  # type: ignore[no-untyped-def]
    plan = build_parcel_plan(loaded)
    return replace(
        plan,
        zone_geoms=(zone,),
        zone_layers=("zones",),
        zone_fids=(1,),
        zone_names=("甲",),
        zone_target=zone_target([zone]),
    )


def test_parcels_along_a_zone_edge_from_outside_are_in_no_zone(loaded_minipack) -> None:  # type: ignore[no-untyped-def]
    zone = _zone()
    quads = _adjacent(zone)
    # the oracle: outside the zone but for rounding
    assert max(shapely.area(shapely.intersection(q, zone)) for q in quads) < 1e-6
    parcels = gpd.GeoDataFrame(geometry=quads, crs="EPSG:4524")
    df, _ = measure_parcels(parcels, _plan(loaded_minipack, zone), workers=1)
    assert (df["zone"].to_numpy() == -1).all(), df.loc[df["zone"] >= 0, "zone_m2"].tolist()
    assert (df["zone_m2"].to_numpy() == 0.0).all()


def test_small_parcels_inside_or_across_a_zone_keep_it(loaded_minipack) -> None:  # type: ignore[no-untyped-def]
    """Tiny parcels wholly in the zone (1e-6 m², under any tolerance) are still in it, and a
    parcel across its edge is in it by its overlap."""
    zone = _zone()
    cx, cy = X0 + 1300.0, Y0 + 900.0
    tiny = shapely.box(cx, cy, cx + 1e-3, cy + 1e-3)  # 1e-6 m²
    speck = shapely.box(cx + 5, cy, cx + 5.05, cy + 0.05)  # 2.5e-3 m²
    across = shapely.box(X0 + 1300.0, Y0 - 30.0, X0 + 1340.0, Y0 + 230.0)
    parcels = gpd.GeoDataFrame(geometry=[tiny, speck, across], crs="EPSG:4524")
    df, _ = measure_parcels(parcels, _plan(loaded_minipack, zone), workers=1)
    assert df["zone"].tolist() == [0, 0, 0]
    want = shapely.area(shapely.intersection(across, zone))
    assert abs(df["zone_m2"].iloc[2] / want - 1) < 1e-3  # ellipsoidal vs planar: ~1e-4
