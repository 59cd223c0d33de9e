"""A site given in lon/lat is cut along the edges its area is measured along.

`check` measures a lon/lat site on the ellipsoid, its edges the geodesics between its
vertices; the overlay cut it along its edges straight in the pack's planar CRS. Far from the
central meridian the two differ: a 10 km lon/lat square at 75.5°E (CM 75E, 39.8°N) is 24 m²
larger along geodesics. Wholly inside the 城镇开发边界 but touching it at a vertex (so not
*properly* inside), its area less the part inside was 24.06 m² "城镇开发边界外" and the
verdict conflict (0.19 m² for a 3 km square). Oracle: pyproj.Geod on the site's ring; the
boundary is drawn in the planar CRS, with the site's corner on its vertex.
"""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from pyproj import Geod, Transformer

from qzgeo.analysis.overlay_plan import ConstraintClass
from qzgeo.analysis.site_check import check_sites
from qzgeo.analysis.siting import SitingContext

PLANAR = "EPSG:4534"  # CGCS2000 3-degree GK CM 75E, no prefix


@pytest.mark.parametrize("side_deg", [0.03, 0.1])
def test_lonlat_site_touching_the_boundary_from_inside_is_clear(side_deg: float) -> None:
    lon, lat = 75.5, 39.8
    vx, vy = Transformer.from_crs(4490, PLANAR, always_xy=True).transform(lon, lat)
    # the boundary's vertex is the site's north-west corner; its edges leave it a little
    # above east and a little west of south, so the site lies inside, touching it there only
    boundary = shapely.Polygon(
        [(vx, vy), (vx + 50e3, vy + 5e3), (vx + 50e3, vy - 50e3), (vx - 5e3, vy - 50e3)]
    )
    dev = ConstraintClass("control", "城镇开发边界", "boundary", "internal", boundary)
    ctx = SitingContext.from_layers(constraints=[dev], planar_crs=PLANAR)
    site = shapely.box(lon, lat - side_deg, lon + side_deg, lat)
    sites = gpd.GeoDataFrame({"名称": ["地块"]}, geometry=[site], crs=4490)
    (rep,) = check_sites(sites, ctx)
    assert rep.conflicts == [] and rep.verdict == "clear"
    x, y = site.exterior.coords.xy
    want = abs(Geod(ellps="GRS80").polygon_area_perimeter(list(x)[:-1], list(y)[:-1])[0])
    assert abs(rep.area_m2 - want) < 1e-3
