"""surely_inside (the fast extent test of clean_parcels) never vouches for a parcel that the
exact check would flag: random parcels near the edges of random extents in GK zones 35-40.

Oracle: every vertex moved to lon/lat by pyproj and tested against the lon/lat box, as
enforce_extent sees the parcel (which is also asked directly).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer

from qzgeo.analysis.parcels import surely_inside
from qzgeo.io.input_checks import enforce_extent


def _parcels_near_edges(
    epsg: int, extent: tuple[float, float, float, float], seed: int, n: int = 240
) -> tuple[gpd.GeoDataFrame, int]:
    """``n`` octagons (1 m to 60 km; their edge midpoints on their bounding box) whose centre,
    or whose outer side, lies within ~2 km of an edge of ``extent``; then 5 small ones at its
    centre. In the GK CRS ``epsg``."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = extent
    size = rng.choice([1.0, 30.0, 300.0, 1900.0, 3000.0, 20_000.0, 60_000.0], n)
    edge = rng.integers(0, 4, n)
    t = rng.uniform(0, 1, n)
    d = rng.choice([0.0, 1e-9, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 2e-2], n) * rng.choice([-1, 1], n)
    lon = np.where(edge == 0, x0 + d, np.where(edge == 1, x1 + d, x0 + t * (x1 - x0)))
    lat = np.where(edge == 2, y0 + d, np.where(edge == 3, y1 + d, y0 + t * (y1 - y0)))
    cx, cy = Transformer.from_crs(4490, epsg, always_xy=True).transform(lon, lat)
    # half the parcels: the side facing the edge (not the centre) lies at that point
    inward = np.where(rng.uniform(0, 1, n) < 0.5, size / 2, 0.0)
    cx = cx + np.where(edge == 0, inward, np.where(edge == 1, -inward, 0.0))
    cy = cy + np.where(edge == 2, inward, np.where(edge == 3, -inward, 0.0))
    mx, my = Transformer.from_crs(4490, epsg, always_xy=True).transform(
        (x0 + x1) / 2, (y0 + y1) / 2
    )
    cx, cy = np.append(cx, np.full(5, mx)), np.append(cy, np.full(5, my))
    size = np.concatenate([size, np.full(5, 50.0)])
    shape = np.array(
        [(-1, -1), (0, -1), (1, -1), (1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0)], dtype=float
    )
    shape = np.broadcast_to(shape / 2, (len(cx), 8, 2)).copy()
    shape[:, ::2] *= rng.uniform(0.6, 1.0, (len(cx), 4, 1))  # corners pulled in
    xs = cx[:, None] + shape[:, :, 0] * size[:, None]
    ys = cy[:, None] + shape[:, :, 1] * size[:, None]
    rings = np.stack([np.c_[xs, xs[:, :1]], np.c_[ys, ys[:, :1]]], axis=2)
    return gpd.GeoDataFrame(geometry=list(shapely.polygons(rings)), crs=f"EPSG:{epsg}"), n


@settings(max_examples=40, deadline=None)
@given(
    zone=st.integers(35, 40),
    lon=st.floats(-1.4, 1.4),
    lat0=st.floats(18.0, 45.0),
    w=st.floats(0.05, 2.5),
    h=st.floats(0.05, 2.5),
    seed=st.integers(0, 2**32 - 1),
)
def test_surely_inside_never_vouches_for_a_parcel_the_exact_check_flags(
    zone: int, lon: float, lat0: float, w: float, h: float, seed: int
) -> None:
    lon0 = zone * 3 + lon - w / 2
    extent = (lon0, lat0, lon0 + w, lat0 + h)
    epsg = 4513 + zone - 25  # CGCS2000 3-degree GK zones, zone-prefixed eastings
    parcels, n_edge = _parcels_near_edges(epsg, extent, seed)
    sure = surely_inside(parcels, extent)
    # the oracle: every vertex in lon/lat, inside the box (edges included, as enforce_extent)
    xy = shapely.get_coordinates(np.asarray(parcels.geometry.values, dtype=object))
    owner = np.repeat(np.arange(len(parcels)), shapely.get_num_coordinates(parcels.geometry))
    lon_v, lat_v = Transformer.from_crs(epsg, 4490, always_xy=True).transform(xy[:, 0], xy[:, 1])
    out_v = (lon_v < extent[0]) | (lon_v > extent[2]) | (lat_v < extent[1]) | (lat_v > extent[3])
    flagged = np.zeros(len(parcels), dtype=bool)
    flagged[owner[out_v]] = True
    assert not (sure & flagged).any(), parcels[sure & flagged].geometry.to_wkt().tolist()[:3]
    # ... and enforce_extent itself says nothing about the parcels vouched for
    assert enforce_extent(parcels[sure], extent, source="p.gpkg").messages() == []
    # not vacuous: small parcels at the centre are vouched for
    assert sure[n_edge:].all()
