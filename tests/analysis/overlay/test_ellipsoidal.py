"""Ellipsoidal areas by the GK scale factor, against pyproj.Geod across the zone."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer
from shapely import box

from qzgeo.analysis.overlay import overlay_areas
from qzgeo.analysis.overlay_plan import ConstraintClass
from qzgeo.geo.area import ellipsoidal_area

GK = "EPSG:4545"  # CGCS2000 GK zone 36, CM 108E


def _geod_area(geoms: np.ndarray) -> np.ndarray:
    """Area on the ellipsoid of planar GK polygons: densify (straight GK edges), then Geod."""
    t = Transformer.from_crs(GK, "EPSG:4490", always_xy=True)
    dense = shapely.segmentize(geoms, 10.0)
    geo = shapely.transform(dense, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))
    return ellipsoidal_area(geo)


def test_scale_factor_area_error_below_1e_5_across_the_zone() -> None:
    to_gk = Transformer.from_crs("EPSG:4490", GK, always_xy=True)
    geoms = []
    for lon in (108.0, 107.25, 108.75, 106.5, 109.5):  # CM, ±0.75°, ±1.5°
        for lat in (21.6, 22.4):
            x, y = to_gk.transform(lon, lat)
            for size in (50.0, 1000.0, 5000.0):
                geoms.append(box(x - size / 2, y - size / 2, x + size / 2, y + size / 2))
    parcels = gpd.GeoDataFrame(geometry=geoms, crs=GK)
    # A class covering the western half of every parcel: the pieces are measured too.
    halves = shapely.union_all(
        [box(g.bounds[0], g.bounds[1], g.centroid.x, g.bounds[3]) for g in geoms]
    )
    cls = ConstraintClass("l", "half", "exclusion", "internal", halves)
    df, rep = overlay_areas(parcels, [cls])
    assert not rep.conservation_failures
    truth = _geod_area(np.asarray(geoms, dtype=object))
    err = np.abs(df["area_m2"].to_numpy() / truth - 1)
    assert err.max() < 1e-5, err.max()
    west = np.asarray([box(g.bounds[0], g.bounds[1], g.centroid.x, g.bounds[3]) for g in geoms])
    east = np.asarray([box(g.centroid.x, g.bounds[1], g.bounds[2], g.bounds[3]) for g in geoms])
    err_w = np.abs(df["l:half"].to_numpy() / _geod_area(west) - 1)
    err_e = np.abs(df["available_m2"].to_numpy() / _geod_area(east) - 1)
    assert max(err_w.max(), err_e.max()) < 1e-5, (err_w.max(), err_e.max())
    # 1.5° off the CM the planar area is ~3e-4 too large: the correction matters.
    planar, _ = overlay_areas(parcels, [cls], ellipsoidal=False)
    assert np.abs(planar["area_m2"].to_numpy() / truth - 1).max() > 1e-4


def test_zone_prefixed_crs_gives_the_same_areas() -> None:
    g45 = gpd.GeoDataFrame(geometry=[box(520_000, 2_430_000, 521_000, 2_431_000)], crs=GK)
    g24 = g45.to_crs("EPSG:4524")
    a, _ = overlay_areas(g45, [])
    b, _ = overlay_areas(g24, [])
    assert abs(a["area_m2"].iloc[0] / b["area_m2"].iloc[0] - 1) < 1e-9
