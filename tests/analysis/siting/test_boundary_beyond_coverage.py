"""The part of a site past the pack's coverage is unchecked, inside its 城镇开发边界 or not.

Found by out13 on the bundled pack: a site at 钦州港 half on land and half on the sea, all
of it in the 城镇开发边界 that the pack draws into the sea past the districts, got
``inside_share`` 0.70 and ``unchecked_share`` 0.30 while its own warning said 70.34 % of
it lay outside the coverage, and analyze gave the same parcel 70.3 % unchecked and 29.7 %
available. The pack guide: a boundary drawn past the districts is unchecked there.

Oracle: shapely in lon/lat, the pieces densified to ≈ 10 m, ``pyproj.Geod`` (``support``).
"""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from support import geod_ring_area

from qzgeo.analysis.overlay_plan import ConstraintClass
from qzgeo.analysis.site_check import check_sites
from qzgeo.analysis.siting import SitingContext
from qzgeo.geo.coverage import Coverage

EXTENT = (107.9, 21.3, 109.9, 23.0)
STEP = 0.0001
LAND = shapely.box(108.6, 21.7, 109.0, 22.0)  # the "districts": the sea south of 21.7
COVERAGE = Coverage.of_polygons([LAND], EXTENT, layer="districts")


def _m2(geom: shapely.Geometry) -> float:
    return geod_ring_area(geom, densify_deg=STEP)


def _planar(g: shapely.Geometry) -> shapely.Geometry:
    return gpd.GeoSeries([shapely.segmentize(g, STEP)], crs=4490).to_crs(4545).iloc[0]


def test_a_site_in_the_boundary_across_the_coast_is_unchecked_at_sea() -> None:
    # the 城镇开发边界 reaches 0.05° into the sea, past the districts
    udb = _planar(shapely.box(108.7, 21.65, 108.9, 21.9))
    ctx = SitingContext.from_layers(
        constraints=[ConstraintClass("cb", "城镇开发边界", "boundary", "internal", udb)],
        planar_crs="EPSG:4545",
    )
    ctx.extent = COVERAGE
    site = shapely.box(108.75, 21.68, 108.77, 21.71)  # 2/3 at sea, all in the boundary
    sites = gpd.GeoDataFrame(
        {"名称": ["港区"]}, geometry=[shapely.segmentize(site, STEP)], crs=4490
    )
    (rep,) = check_sites(sites, ctx)
    whole, at_sea = _m2(site), _m2(site.difference(LAND))
    b = rep.development_boundary
    assert b is not None and rep.verdict == "incomplete"
    assert b.unchecked_share == pytest.approx(at_sea / whole, abs=1e-7)
    assert b.inside_share == pytest.approx(1 - at_sea / whole, abs=1e-7)
    assert b.outside_share == 0.0
