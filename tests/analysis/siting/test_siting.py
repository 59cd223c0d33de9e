"""Library tests of qzgeo.analysis.siting against hand-computed minipack values.

Minipack (EPSG:4524, relative to X0, Y0): zones 甲区 = [0,1000]x[0,1000], 乙区 = [1000,2000]x
[0,1000]; 生态保护红线 = [-500,250]x[-500,1500]; 永久基本农田 = [1500,2000]x[0,500];
城镇开发边界 = [-100,1800]x[-100,1100]. Planar GK areas are exact; ellipsoidal ones are smaller
by the GK areal scale (about 1 + 1e-4 here), so hand-computed 公顷 are compared with rel=2e-4
and the exact value comes from an independent pyproj.Geod computation.
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely
from _siting_helpers import GK, X0, Y0, ellipsoidal_m2, gk_box
from pyproj import CRS

from qzgeo._errors import CRSError, GeometryError, InputError
from qzgeo.analysis.overlay_plan import ConstraintClass, subdivide
from qzgeo.analysis.site_check import check_sites
from qzgeo.analysis.site_results import exit_code
from qzgeo.analysis.sites import split_source
from qzgeo.analysis.siting import SitingContext
from qzgeo.pack.catalog import load_pack
from qzgeo.publish.site_report import reports_to_json, reports_to_text


def _check(ctx: SitingContext, *geoms: shapely.Geometry, **kw: object) -> list[dict]:
    sites = gpd.GeoDataFrame(geometry=list(geoms), crs=GK)
    return [r.to_dict() for r in check_sites(sites, ctx, **kw)]  # type: ignore[arg-type]


def test_farmland_and_outside_boundary(ctx: SitingContext) -> None:
    site = gk_box(1500, 0, 2000, 1000)
    (d,) = _check(ctx, site)
    assert d["area_ha"] == pytest.approx(50.0, rel=2e-4)
    assert d["area_m2"] == pytest.approx(ellipsoidal_m2(site), abs=0.02)
    assert d["area_mu"] == pytest.approx(d["area_ha"] * 15, abs=1e-4)
    assert [(c["layer"], c["class"], c["mode"]) for c in d["conflicts"]] == [
        ("control_lines", "城镇开发边界外", "boundary"),
        ("control_lines", "永久基本农田", "exclusion"),
    ]
    outside, farm = d["conflicts"]
    assert farm["area_ha"] == pytest.approx(25.0, rel=2e-4)
    assert farm["area_m2"] == pytest.approx(ellipsoidal_m2(gk_box(1500, 0, 2000, 500)), abs=0.05)
    assert farm["share"] == pytest.approx(0.5, abs=2e-6)
    assert farm["area_mu"] == pytest.approx(farm["area_ha"] * 15, abs=1e-4)
    assert outside["area_ha"] == pytest.approx(20.0, rel=2e-4)
    assert outside["share"] == pytest.approx(0.4, abs=2e-6)
    assert d["development_boundary"] == {
        "layer": "control_lines",
        "class": "城镇开发边界",
        "inside_share": pytest.approx(0.6, abs=2e-6),
        "outside_share": pytest.approx(0.4, abs=2e-6),
    }
    assert d["zones"] == ["乙区"]
    assert d["verdict"] == "conflict"
    assert d["distances"] == []  # the minipack declares no [[distances]]
    # the one warning is the pack's: its lon/lat 城镇开发边界 has 2 km edges (validate says it)
    (edges,) = d["warnings"]
    assert edges.startswith("catalog.toml layer 'control_lines' (mini.gpkg): "), edges
    assert d["repairs"] == []
    lon, lat = d["centroid"]
    assert 108.5 < lon < 108.8 and 21.5 < lat < 21.8


def test_clear_site(ctx: SitingContext) -> None:
    (d,) = _check(ctx, gk_box(400, 100, 900, 900))
    assert d["conflicts"] == []
    assert d["verdict"] == "clear"
    assert d["zones"] == ["甲区"]
    assert d["development_boundary"]["inside_share"] == 1.0
    assert d["development_boundary"]["outside_share"] == 0.0


def test_red_line_half_and_whole(ctx: SitingContext) -> None:
    half, whole = _check(ctx, gk_box(0, 0, 500, 500), gk_box(-400, -400, -300, -300))
    (red,) = half["conflicts"]
    assert (red["class"], red["share"]) == ("生态保护红线", pytest.approx(0.5, abs=2e-6))
    # Wholly inside the red line (the containment fast path) and wholly outside the boundary.
    by_class = {c["class"]: c for c in whole["conflicts"]}
    assert by_class["生态保护红线"]["share"] == 1.0
    assert by_class["生态保护红线"]["area_m2"] == whole["area_m2"]
    assert by_class["城镇开发边界外"]["share"] == 1.0
    assert whole["development_boundary"]["inside_share"] == 0.0
    assert whole["zones"] == []


def test_zones_touching_edge_not_counted(ctx: SitingContext) -> None:
    both, edge = _check(ctx, gk_box(900, 100, 1100, 300), gk_box(2000, 0, 2100, 100))
    assert both["zones"] == ["甲区", "乙区"]
    assert edge["zones"] == []  # shares only an edge with 乙区


def test_declared_distance_geodesic(canal_pack) -> None:  # type: ignore[no-untyped-def]
    ctx = SitingContext.from_pack(load_pack(canal_pack))
    far, crossing = _check(ctx, gk_box(1500, 0, 2000, 1000), gk_box(2900, 0, 3100, 100))
    # Independent reference: geodesic between the nearest points (planar gap = 1000 m).
    from pyproj import Geod, Transformer

    t = Transformer.from_crs(GK, "EPSG:4490", always_xy=True)
    y = 2_399_000.0
    lon0, lat0 = t.transform(36_566_000.0, y)
    lon1, lat1 = t.transform(36_567_000.0, y)
    expect = Geod(ellps="GRS80").inv(lon0, lat0, lon1, lat1)[2]
    (dist,) = far["distances"]
    assert dist == {
        "layer": "test_railway",
        "label": "距测试铁路",
        "label_en": "Distance to the test railway",
        "distance_m": pytest.approx(expect, abs=0.01),
    }
    assert dist["distance_m"] == pytest.approx(1000.0, rel=2e-4)
    assert crossing["distances"][0]["distance_m"] == 0.0
    # the pack's own: lon/lat red lines and railway with long edges (validate says it)
    assert [w for w in far["warnings"] if not w.startswith("catalog.toml layer ")] == []
    sites = gpd.GeoDataFrame(geometry=[gk_box(1500, 0, 2000, 1000)], crs=GK)
    text = reports_to_text(check_sites(sites, ctx))
    assert "距测试铁路 Distance to the test railway: " in text


def test_distance_to_points_and_polygons_and_empty_layers() -> None:
    from qzgeo.analysis.distances import build_targets, measure
    from qzgeo.pack.model import DistanceSpec

    crs = CRS.from_user_input(GK)
    layers = {
        "pts": gpd.GeoDataFrame(geometry=[shapely.Point(X0, Y0 + 2000)], crs=GK),
        "area": gpd.GeoDataFrame(geometry=[gk_box(0, 0, 1000, 1000)], crs=GK),
        "none": gpd.GeoDataFrame(geometry=[], crs=GK),
    }
    specs = [DistanceSpec(k, f"距{k}") for k in layers]
    targets, warnings = build_targets(specs, layers, planar_crs=crs)
    assert len(warnings) == 1 and "'none'" in warnings[0]
    sites = np.asarray([gk_box(100, 100, 200, 200), gk_box(0, 1500, 10, 1510)], dtype=object)
    (a_pts, a_area, a_none), (b_pts, b_area, _) = measure(targets, sites, planar_crs=crs)
    assert a_area.distance_m == 0.0  # inside the polygon
    assert a_none.distance_m is None
    assert b_area.distance_m == pytest.approx(500.0, rel=2e-4)  # GK scale ~1e-4 here
    assert b_pts.distance_m == pytest.approx(490.0, rel=2e-4)
    assert a_pts.distance_m == pytest.approx(float(np.hypot(100, 1800)), rel=2e-4)


def test_many_sites_match_direct_overlay() -> None:
    """Tiled, vectorised overlaps equal plain shapely areas (planar shares)."""
    rng = np.random.default_rng(7)
    angle = np.linspace(0, 2 * np.pi, 4000, endpoint=False)
    radius = 1000 + 200 * np.sin(9 * angle) + rng.uniform(-0.3, 0.3, angle.size)
    red = shapely.Polygon(
        np.column_stack([500_000 + radius * np.cos(angle), 2_400_000 + radius * np.sin(angle)])
    )
    assert red.is_valid
    tiles = subdivide(red, max_vertices=64)
    assert len(tiles) > 20
    assert sum(t.area for t in tiles) == pytest.approx(red.area, rel=1e-12)
    cls = ConstraintClass("red", "生态保护红线", "exclusion", "internal", red)
    ctx = SitingContext.from_layers(constraints=[cls], planar_crs="EPSG:4545")
    cx = rng.uniform(498_500, 501_500, 300)
    cy = rng.uniform(2_398_500, 2_401_500, 300)
    sites = shapely.box(cx, cy, cx + rng.uniform(10, 400, 300), cy + rng.uniform(10, 400, 300))
    reports = check_sites(gpd.GeoDataFrame(geometry=sites, crs="EPSG:4545"), ctx)
    expect = shapely.area(shapely.intersection(sites, red)) / shapely.area(sites)
    got = np.array([r.conflicts[0].share if r.conflicts else 0.0 for r in reports])
    assert 50 < (got > 0).sum() < 300  # a mix of clear, partial and covered sites
    np.testing.assert_allclose(got, expect, atol=1e-6)


def test_invalid_site_is_repaired_and_reported(ctx: SitingContext) -> None:
    x, y = 36_564_000.0 + 400, 2_399_000.0 + 400
    bowtie = shapely.Polygon([(x, y), (x + 100, y + 100), (x + 100, y), (x, y + 100)])
    (d,) = _check(ctx, bowtie)
    assert d["repairs"] and "make_valid" in d["repairs"][0]
    assert d["area_m2"] == pytest.approx(5000, rel=2e-4)


def test_bad_sites_raise(ctx: SitingContext) -> None:
    with pytest.raises(GeometryError, match="a site must be a polygon"):
        _check(ctx, shapely.Point(36_564_000.0, 2_399_000.0))
    with pytest.raises(CRSError, match="no CRS"):
        check_sites(gpd.GeoDataFrame(geometry=[gk_box(0, 0, 1, 1)]), ctx)
    with pytest.raises(InputError, match="label field"):
        _check(ctx, gk_box(0, 0, 1, 1), label_field="nope")


def test_json_is_deterministic_and_ordered(ctx: SitingContext) -> None:
    sites = gpd.GeoDataFrame(
        {"名称": ["东地块", None]},
        geometry=[gk_box(1500, 0, 2000, 1000), gk_box(400, 100, 900, 900)],
        crs=GK,
    )
    reports = check_sites(sites, ctx)
    text = reports_to_json(reports)
    assert text == reports_to_json(check_sites(sites, ctx))
    data = json.loads(text)
    assert list(data[0]) == [
        "site",
        "site_field",
        "source",
        "index",
        "area_m2",
        "area_ha",
        "area_mu",
        "centroid",
        "conflicts",
        "development_boundary",
        "zones",
        "distances",
        "verdict",
        "warnings",
        "repairs",
    ]
    assert list(data[0]["conflicts"][0]) == [
        "layer",
        "class",
        "mode",
        "area_m2",
        "area_ha",
        "area_mu",
        "share",
    ]
    assert [d["site"] for d in data] == ["东地块", "1"]
    assert exit_code(reports) == 1
    assert exit_code(reports[1:]) == 0
    summary = reports_to_text(reports)
    assert "永久基本农田" in summary and "CONFLICT" in summary and "CLEAR" in summary


def test_user_constraints_replace_pack(tmp_path, minipack) -> None:  # type: ignore[no-untyped-def]
    red = gpd.GeoDataFrame(
        {"类别": ["自定义红线", "城镇开发边界"]},
        geometry=[gk_box(1500, 0, 1750, 1000), gk_box(0, 0, 1800, 1000)],
        crs=GK,
    )
    path = tmp_path / "my_lines.geojson"
    red.to_file(path)
    ctx = SitingContext.from_pack(load_pack(minipack), constraint_sources=[str(path)])
    assert [(c.layer_id, c.cls, c.mode) for c in ctx.classes] == [
        ("my_lines", "城镇开发边界", "boundary"),
        ("my_lines", "自定义红线", "exclusion"),
    ]
    (d,) = _check(ctx, gk_box(1500, 0, 2000, 1000))
    shares = {c["class"]: c["share"] for c in d["conflicts"]}
    assert shares == {
        "城镇开发边界外": pytest.approx(0.4, abs=2e-6),
        "自定义红线": pytest.approx(0.5, abs=2e-6),
    }
    assert d["zones"] == ["乙区"]  # zones still come from the pack

    nopack = SitingContext.from_pack(None, constraint_sources=[str(path)], mode="exclusion")
    assert {c.mode for c in nopack.classes} == {"exclusion"}
    assert nopack.zone_names == []
    with pytest.raises(InputError, match="no column 'DLMC2'"):
        SitingContext.from_pack(None, constraint_sources=[str(path)], class_field="DLMC2")
    with pytest.raises(InputError, match="nothing to check against"):
        SitingContext.from_pack(None)


def test_split_source(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert split_source("a.gpkg:sites") == ("a.gpkg", "sites")
    odd = tmp_path / "with:colon.geojson"
    odd.write_text("{}")
    assert split_source(str(odd)) == (str(odd), None)
    assert split_source("postgresql://u@h/db?table=x") == ("postgresql://u@h/db?table=x", None)
