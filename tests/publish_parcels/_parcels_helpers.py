"""Synthetic parcels: a Voronoi tessellation of seeded points inside the minipack's zones."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

MINIPACK = Path(__file__).resolve().parent.parent / "data" / "minipack"
# Each payload sets window.__pwned if it ever runs as code; {{ 7*7 }} would become 49.
HOSTILE = [
    "<img src=x onerror=window.__pwned=1>",
    "</script><script>window.__pwned=2</script>",
    "{{ 7*7 }}{% if true %}jinja{% endif %}",
    "`${window.__pwned=3}`",
]


def voronoi_parcels(zones: gpd.GeoDataFrame, n: int, *, seed: int = 7) -> gpd.GeoDataFrame:
    """``n`` seeded points inside the zones' union, tessellated and clipped to it (EPSG:4524)."""
    zones = zones.to_crs("EPSG:4524")
    area = shapely.union_all(zones.geometry.values)
    minx, miny, maxx, maxy = area.bounds
    rng = np.random.default_rng(seed)
    pts: list[np.ndarray] = []
    while sum(len(p) for p in pts) < n:
        xy = rng.uniform((minx, miny), (maxx, maxy), size=(n, 2))
        pts.append(xy[shapely.contains_xy(area, xy[:, 0], xy[:, 1])])
    xy = np.concatenate(pts)[:n]
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=area.envelope)
    )
    cells = shapely.intersection(cells, area)
    cells = cells[~shapely.is_empty(cells)]
    # Voronoi output order is not the input order: sort so that ids are stable.
    c = shapely.centroid(cells)
    order = np.lexsort((shapely.get_x(c), shapely.get_y(c)))
    return gpd.GeoDataFrame(
        {"编号": [f"P{i:05d}" for i in range(len(cells))]},
        geometry=cells[order],
        crs="EPSG:4524",
    )
