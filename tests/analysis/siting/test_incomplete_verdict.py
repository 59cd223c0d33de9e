"""A site partly outside the pack's extent is never "clear": no plan data was checked there.

With a pack whose constraints do not include a boundary class, the part outside the extent
used to add nothing, and the site was "clear" (exit 0) with only a warning.
"""

from __future__ import annotations

import json

import geopandas as gpd
import shapely

from qzgeo.analysis.overlay_plan import ConstraintClass
from qzgeo.analysis.site_results import exit_code
from qzgeo.analysis.siting import SitingContext, check_sites
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
