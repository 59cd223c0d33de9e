"""A site partly outside the pack's extent is never "clear": no plan data was checked there.

With a pack whose constraints do not include a boundary class, the part outside the extent
used to add nothing, and the site was "clear" (exit 0) with only a warning.
"""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
import shapely
from pyproj import Geod

from qzgeo.analysis.overlay_plan import ConstraintClass
from qzgeo.analysis.site_check import check_sites
from qzgeo.analysis.site_results import exit_code
from qzgeo.analysis.siting import SitingContext
from qzgeo.publish.site_report import reports_to_html, reports_to_json, reports_to_text

EXTENT = (107.9, 21.3, 109.9, 23.0)


def _context() -> SitingContext:
    red = gpd.GeoSeries([shapely.box(108.60, 21.70, 108.61, 21.71)], crs=4490).to_crs(4545)
    cls = ConstraintClass("red", "生态保护红线", "exclusion", "internal", red.iloc[0])
    ctx = SitingContext.from_layers(constraints=[cls], planar_crs="EPSG:4545")
    ctx.extent = EXTENT
    return ctx


def test_a_site_across_the_extent_edge_is_incomplete_not_clear() -> None:
    ctx = _context()
    inside = shapely.box(109.00, 21.90, 109.05, 21.95)
    across = shapely.box(109.87, 21.90, 109.95, 21.95)  # 3/8 of it east of 109.9
    on_red = shapely.box(108.605, 21.705, 108.615, 21.715)
    sites = gpd.GeoDataFrame(
        {"名称": ["内", "跨界", "红线"]}, geometry=[inside, across, on_red], crs=4490
    )
    reports = check_sites(sites, ctx)
    assert [r.verdict for r in reports] == ["clear", "incomplete", "conflict"]
    assert exit_code(reports[:1]) == 0 and exit_code(reports[:2]) == 1
    assert any("partly outside" in w for w in reports[1].warnings)
    assert [d["verdict"] for d in json.loads(reports_to_json(reports))] == [
        "clear", "incomplete", "conflict",
    ]  # fmt: skip
    text = reports_to_text(reports)
    assert "结论 Verdict: 部分未核查 INCOMPLETE" in text
    assert "1 合规 clear, 1 冲突 conflict, 1 部分未核查 incomplete" in text
    assert '<tr class="incomplete">' in reports_to_html(reports)


# -- a boundary that ends at the extent, and a red line the pack holds beyond it --------------

GEOD = Geod(ellps="GRS80")
EDGE = 109.9  # the extent's east edge


def _geod_m2(geom: shapely.Geometry) -> float:
    g = shapely.segmentize(geom, 0.0001)  # straight in lon/lat: densified for the geodesics
    return abs(GEOD.geometry_area_perimeter(shapely.geometry.polygon.orient(g, 1.0))[0])


def _context_with_boundary() -> SitingContext:
    def planar(g: shapely.Geometry) -> shapely.Geometry:
        return gpd.GeoSeries([shapely.segmentize(g, 0.0001)], crs=4490).to_crs(4545).iloc[0]

    udb = ConstraintClass(
        "cb", "城镇开发边界", "boundary", "internal", planar(shapely.box(109.5, 21.5, EDGE, 22.5))
    )
    red = ConstraintClass(
        "red",
        "生态保护红线",
        "exclusion",
        "internal",
        planar(shapely.box(109.92, 22.2, 110.0, 22.3)),
    )
    ctx = SitingContext.from_layers(constraints=[udb, red], planar_crs="EPSG:4545")
    ctx.extent = EXTENT
    return ctx


def test_a_boundary_ending_at_the_extent_is_not_left_by_the_unchecked_part() -> None:
    # Before: "conflict", leaving the 城镇开发边界 by the part beyond the extent, where the
    # pack's boundary simply stops.
    ctx = _context_with_boundary()
    across = shapely.box(109.87, 21.90, 109.95, 21.95)  # 3/8 east of the edge
    leaves = shapely.box(109.45, 21.90, 109.55, 21.95)  # half west of the boundary
    red_beyond = shapely.box(109.88, 22.22, 109.95, 22.26)  # its part beyond lies on a red line
    # densified: a site's area is geodesic between its vertices, the overlay's is straight in
    # GK; with 10 m edges the two agree to ~1e-10
    corner = shapely.box(109.85, 22.45, 109.95, 22.55)  # across the boundary's north edge too
    dense = [shapely.segmentize(g, 0.0001) for g in (across, leaves, red_beyond, corner)]
    names = ["跨界", "出界", "红线", "角"]
    sites = gpd.GeoDataFrame({"名称": names}, geometry=dense, crs=4490)
    reports = check_sites(sites, ctx, with_patches=True)
    assert [r.verdict for r in reports] == ["incomplete", "conflict", "conflict", "conflict"]
    b = reports[0].development_boundary
    assert b is not None and b.outside_share == 0.0
    beyond = _geod_m2(shapely.box(EDGE, 21.90, 109.95, 21.95))
    assert b.unchecked_share == pytest.approx(beyond / _geod_m2(across), rel=1e-6)
    assert b.inside_share + b.unchecked_share == pytest.approx(1.0, rel=1e-7)  # engine vs Geod
    out = reports[1].development_boundary
    assert out is not None and out.outside_share == pytest.approx(0.5, rel=1e-4)
    # the red line the pack holds beyond the extent is a conflict there too; the part beyond
    # the extent off the red line is not "outside the boundary"
    red = {c.layer: c for c in reports[2].conflicts}
    on_red = _geod_m2(shapely.box(109.92, 22.22, 109.95, 22.26))
    assert red["red"].area_m2 == pytest.approx(on_red, rel=1e-6)
    west = _geod_m2(shapely.box(109.88, 22.22, EDGE, 22.26))  # inside the extent and boundary
    assert "cb" not in red and reports[2].development_boundary.outside_share == 0.0
    assert west > 0
    # the corner site leaves the boundary northwards only within the extent: its patch and
    # share are of that part (before: the part beyond the extent was added to both)
    left = _geod_m2(shapely.box(109.85, 22.5, EDGE, 22.55))
    cb = reports[3].development_boundary
    assert cb is not None and cb.outside_share * reports[3].area_m2 == pytest.approx(left, rel=1e-6)
    (patch,) = [p for c, p in reports[3].patches if c.layer == "cb"]
    assert shapely.bounds(patch)[2] <= EDGE + 1e-9 and _geod_m2(patch) == pytest.approx(
        left, rel=1e-6
    )
    assert reports_to_json(reports).count('"unchecked_share"') == 3
