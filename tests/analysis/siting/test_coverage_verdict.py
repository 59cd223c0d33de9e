"""A site against a pack whose coverage is a polygon (``[pack] coverage_layer``).

The 锦州 tester's site in a neighbouring city, inside the pack's box but outside its
districts, was "conflict" (城镇开发边界外) with exit 1: a verdict about land the pack holds no
data for. Against the districts it is ``incomplete``, all of it unchecked, as a site across
the box's edge is in part. A red line the pack holds outside the districts is a conflict
there too; a site wholly outside the box is still refused.

Oracle: shapely in lon/lat against the coverage drawn here (its edges are straight in
lon/lat), the pieces densified to ≈ 10 m, and ``pyproj.Geod`` (``support``).
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from support import ROOT, geod_ring_area

from qzgeo._errors import CRSError
from qzgeo.analysis.overlay_plan import ConstraintClass
from qzgeo.analysis.site_check import check_sites
from qzgeo.analysis.site_results import exit_code
from qzgeo.analysis.siting import SitingContext
from qzgeo.geo.coverage import Coverage
from qzgeo.publish.site_report import reports_to_text

EXTENT = (107.9, 21.3, 109.9, 23.0)
STEP = 0.0001
# the "districts": a quadrilateral with an enclave; the box reaches 30-50 km past them
LAND = shapely.Polygon(
    [(108.6, 21.7), (109.4, 21.75), (109.3, 22.5), (108.7, 22.4)],
    [[(109.0, 22.0), (109.1, 22.0), (109.1, 22.1), (109.0, 22.1)]],
)
COVERAGE = Coverage.of_polygons([LAND], EXTENT, layer="districts")


def _m2(geom: shapely.Geometry) -> float:
    return geod_ring_area(geom, densify_deg=STEP)


def _planar(g: shapely.Geometry) -> shapely.Geometry:
    return gpd.GeoSeries([shapely.segmentize(g, STEP)], crs=4490).to_crs(4545).iloc[0]


def _context() -> SitingContext:
    """A 城镇开发边界 over the whole box (as a neighbouring city's land lies outside it in
    the pack's eyes), and a red line that runs past the districts' east edge."""
    udb = ConstraintClass(
        "cb",
        "城镇开发边界",
        "boundary",
        "internal",
        _planar(shapely.box(108.65, 21.72, 109.5, 22.6)),
    )
    red = ConstraintClass(
        "red",
        "生态保护红线",
        "exclusion",
        "internal",
        _planar(shapely.box(109.3, 22.0, 109.5, 22.05)),
    )
    ctx = SitingContext.from_layers(constraints=[udb, red], planar_crs="EPSG:4545")
    ctx.extent = COVERAGE
    return ctx


def _sites(**geoms: shapely.Geometry) -> gpd.GeoDataFrame:
    dense = [shapely.segmentize(g, STEP) for g in geoms.values()]
    return gpd.GeoDataFrame({"名称": list(geoms)}, geometry=dense, crs=4490)


def test_a_site_in_the_neighbouring_city_is_incomplete_not_a_conflict() -> None:
    ctx = _context()
    sites = _sites(
        neighbour=shapely.box(108.30, 21.90, 108.32, 21.92),  # west of the districts
        enclave=shapely.box(109.02, 22.02, 109.04, 22.04),
        inside=shapely.box(109.0, 21.90, 109.02, 21.92),
        red_beyond=shapely.box(109.40, 22.01, 109.42, 22.03),  # on the red line, outside
    )
    reports = check_sites(sites, ctx)
    assert [r.verdict for r in reports] == ["incomplete", "incomplete", "clear", "conflict"]
    assert exit_code(reports[2:3]) == 0 and exit_code(reports[:1]) == 1
    for r in reports[:2]:
        assert r.conflicts == []  # the neighbour was 城镇开发边界外 against the box
        (warned,) = [w for w in r.warnings if "outside the pack coverage" in w]
        assert "wholly outside" in warned and "'districts'" in warned
    b = reports[0].development_boundary
    assert b is not None
    assert (b.inside_share, b.outside_share, b.unchecked_share) == (0.0, 0.0, 1.0)
    # the enclave lies in the pack's 城镇开发边界, drawn over it: unchecked all the same (the
    # pack vouches for no land there), not inside
    b = reports[1].development_boundary
    assert b is not None and b.outside_share == 0.0
    assert (b.inside_share, b.unchecked_share) == pytest.approx((0.0, 1.0), abs=1e-9)
    assert [c.layer for c in reports[3].conflicts] == ["red"]
    assert reports[3].conflicts[0].area_m2 == pytest.approx(
        _m2(shapely.box(109.40, 22.01, 109.42, 22.03)), rel=1e-6
    )
    assert not reports[2].warnings
    # none of either site is covered: "未核查", not "部分未核查" (partly unchecked)
    assert [r.wholly_unchecked for r in reports] == [True, True, False, True]  # red: conflict
    assert reports[0].unchecked_m2 == pytest.approx(reports[0].area_m2, abs=0.01)
    text = reports_to_text(reports)
    assert "1 合规 clear, 1 冲突 conflict, 2 未核查 not checked" in text
    assert text.count("结论 Verdict: 未核查 NOT CHECKED") == 2 and "部分未核查" not in text


def test_a_site_across_the_coverage_edge_reports_the_part_outside() -> None:
    """The warning's m² and the verdict's unchecked share are of the same cut."""
    ctx = _context()
    across = shapely.box(108.60, 21.80, 108.66, 21.83)  # across the districts' west edge
    (rep,) = check_sites(_sites(across=across), ctx)
    assert rep.verdict == "conflict"  # its checked part leaves the boundary (west of 108.65)
    land = COVERAGE.lonlat()
    outside, whole = _m2(across.difference(land)), _m2(across)
    assert rep.area_m2 == pytest.approx(whole, abs=0.01)
    b = rep.development_boundary
    assert b is not None
    assert b.unchecked_share == pytest.approx(outside / whole, abs=1e-7)
    left = _m2(across.intersection(land).difference(shapely.box(108.65, 21.72, 109.5, 22.6)))
    assert b.outside_share == pytest.approx(left / whole, abs=1e-7)
    (warned,) = [w for w in rep.warnings if "partly outside the pack coverage" in w]
    said = float(re.search(r"; ([\d,.]+) m²", warned).group(1).replace(",", ""))
    assert said == pytest.approx(outside, abs=0.05)
    assert rep.unchecked_m2 == pytest.approx(outside, abs=0.05)
    assert rep.to_dict()["unchecked_m2"] == pytest.approx(outside, abs=0.05)
    assert not rep.wholly_unchecked


def test_a_site_partly_in_the_coverage_is_partly_unchecked() -> None:
    """Across the districts' south edge, its covered part inside the 城镇开发边界: incomplete; the
    text says 部分未核查 (partly), since its part inside was checked."""
    ctx = _context()
    across = shapely.box(108.99, 21.715, 109.01, 21.74)  # across its south edge
    (rep,) = check_sites(_sites(across=across), ctx)
    assert rep.verdict == "incomplete" and not rep.wholly_unchecked
    outside = _m2(across.difference(COVERAGE.lonlat()))
    assert 0 < rep.unchecked_m2 == pytest.approx(outside, abs=0.05)
    assert "结论 Verdict: 部分未核查 INCOMPLETE" in reports_to_text([rep])


def test_a_site_along_the_coverage_edge_is_clear() -> None:
    """Drawn along the districts' line (its vertices on it): no sliver makes it incomplete."""
    ctx = _context()
    a, b = (108.6, 21.7), (109.4, 21.75)  # the districts' south edge
    t = [0.4, 0.45]
    p, q = ((a[0] + s * (b[0] - a[0]), a[1] + s * (b[1] - a[1])) for s in t)
    site = shapely.Polygon([p, q, (q[0], q[1] + 0.02), (p[0], p[1] + 0.02)])
    (rep,) = check_sites(_sites(along=site), ctx)
    assert rep.verdict == "clear", rep.warnings
    assert rep.development_boundary is not None
    assert rep.development_boundary.unchecked_share == 0.0


def test_a_site_wholly_outside_the_box_is_still_refused() -> None:
    ctx = _context()
    with pytest.raises(CRSError, match=r"wholly outside the pack extent \[107\.9"):
        check_sites(_sites(far=shapely.box(110.5, 21.90, 110.52, 21.92)), ctx)


def test_a_site_in_beihai_against_the_bundled_pack_is_incomplete(tmp_path: Path) -> None:
    """The bundled pack's box takes in 北海: a site there was 城镇开发边界外 (a conflict)."""
    import json

    from click.testing import CliRunner

    from qzgeo.cli.main import cli

    site = tmp_path / "北海.geojson"
    _sites(beihai=shapely.box(109.12, 21.47, 109.13, 21.48)).to_file(site)
    r = CliRunner().invoke(cli, ["check", "--pack", str(ROOT), "--format", "json", str(site)])
    assert r.exit_code == 1, r.output
    (d,) = json.loads(r.stdout)
    assert d["verdict"] == "incomplete" and d["conflicts"] == []
    assert d["development_boundary"]["unchecked_share"] == 1.0
    assert d["unchecked_m2"] == d["area_m2"]
    r = CliRunner().invoke(cli, ["check", "--pack", str(ROOT), str(site)])
    assert "结论 Verdict: 未核查 NOT CHECKED: OUTSIDE THE AREA THE PACK COVERS" in r.stdout
