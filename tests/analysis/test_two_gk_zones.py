"""Area is conserved for a pack that spans two Gauss-Krüger zones, whichever planar CRS it uses.

The pack is made here: a zone straddling 121.5°E (the border of the 3° zones 40 and 41, 1.5° to
3° from either central meridian), a 城镇开发边界 (boundary) and strips of 永久基本农田
(exclusion) that cut the zone's long edges many times. Oracle: ``pyproj.Geod`` on the oriented
rings of lon/lat geometries overlaid with shapely in lon/lat, on a lattice dense enough (≈ 20 m)
that straight edges in lon/lat and in any GK zone agree far below the tolerance.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry
from support import geod_ring_area

from qzgeo.pipeline import run_publish

GEOD = Geod(ellps="GRS80")
STEP_DEG = 0.0002  # ≈ 20 m: the oracle's lattice


def ring_area(geom: BaseGeometry) -> float:
    return geod_ring_area(geom)


def write_pack(root: Path, *, planar_crs: str | None, dense: bool) -> dict[str, BaseGeometry]:
    """A two-zone pack in ``root``; returns its lon/lat geometries for the oracle."""
    zone = box(121.2, 41.0, 121.8, 41.2)  # 50 km × 22 km across 121.5°E
    udb = shapely.Polygon(
        [(121.1, 40.9), (121.65, 40.9), (121.55, 41.05), (121.7, 41.3), (121.1, 41.3)]
    )
    # Farmland strips crossing the zone's north and south edges: 2 cuts per strip and edge.
    farm = shapely.union_all(
        [box(121.22 + 0.05 * i, 40.95, 121.24 + 0.05 * i, 41.25) for i in range(12)]
    )
    geoms = {"zone": zone, "udb": udb, "farm": farm}
    if dense:
        geoms = {k: shapely.segmentize(g, STEP_DEG) for k, g in geoms.items()}
    (root / "layers").mkdir(parents=True)
    (root / "styles").mkdir()
    (root / "maps").mkdir()
    gpkg = root / "layers" / "two.gpkg"
    zones = gpd.GeoDataFrame({"名称": ["跨带园区"]}, geometry=[geoms["zone"]], crs="EPSG:4490")
    zones.to_file(gpkg, layer="zones")
    lines = gpd.GeoDataFrame(
        {"类别": ["城镇开发边界", "永久基本农田"], "名称": ["边界", "农田"]},
        geometry=[geoms["udb"], geoms["farm"]],
        crs="EPSG:4490",
    )
    lines.to_file(gpkg, layer="control_lines")
    planar = f'planar_crs = "{planar_crs}"\n' if planar_crs else ""
    (root / "layers" / "catalog.toml").write_text(
        f"""[pack]
name = "two_zones"
title = "跨带测试"
{planar}
[[layers]]
id = "zones"
title = "园区"
role = "zone"
path = "two.gpkg"
layer = "zones"
sensitivity = "public"
name_field = "名称"
source = "made by this test"
licence = "CC0"
precision = "schematic"

[[layers]]
id = "control_lines"
title = "控制线"
role = "constraint"
path = "two.gpkg"
layer = "control_lines"
sensitivity = "internal"
class_field = "类别"
constraint_classes = {{ "永久基本农田" = "exclusion", "城镇开发边界" = "boundary" }}
source = "made by this test"
licence = "CC0"
precision = "schematic"
""",
        encoding="utf-8",
    )
    return geoms


@pytest.mark.parametrize("planar_crs", ["EPSG:4549", "EPSG:4550", None])
def test_zone_across_two_gk_zones_conserves_area(tmp_path: Path, planar_crs: str | None) -> None:
    # Long zone edges (4 vertices): the edges a cut splits are 50 km long.
    write_pack(tmp_path / "pack", planar_crs=planar_crs, dense=False)
    summary = run_publish(tmp_path / "pack", tmp_path / "out", maps=False)
    row = gpd.read_file(tmp_path / "out" / "internal" / "analysis.gpkg", layer="zone_summary").iloc[
        0
    ]
    assert row["conflict_patches"] > 10
    gap = abs(row["available_m2"] + row["constrained_m2"] - row["zone_m2"])
    # Exact to a hundredth of a square metre on 1,120 km² (the engine's own check allows 1e-6
    # relative; without densified zone edges the gap here is ~4 m²).
    assert gap <= 0.01
    report = json.loads((tmp_path / "out" / "internal" / "report.json").read_text(encoding="utf-8"))
    used = report["summary"]["planar_crs"]
    assert used == summary.analysis.planar_crs
    assert used.startswith(planar_crs or "EPSG:4549")  # default: zone of the centre 121.45E
    assert report["summary"]["max_conservation_residual_m2"] <= 0.01


@pytest.mark.parametrize("planar_crs", ["EPSG:4549", "EPSG:4550"])
def test_two_gk_zones_areas_match_geod(tmp_path: Path, planar_crs: str) -> None:
    g = write_pack(tmp_path / "pack", planar_crs=planar_crs, dense=True)
    run_publish(tmp_path / "pack", tmp_path / "out", maps=False)
    row = gpd.read_file(tmp_path / "out" / "internal" / "analysis.gpkg", layer="zone_summary").iloc[
        0
    ]
    zone_m2 = ring_area(g["zone"])
    outside = g["zone"].difference(g["udb"])
    farm_in = g["zone"].intersection(g["farm"])
    available = g["zone"].difference(g["farm"]).intersection(g["udb"])
    constrained = shapely.union_all([outside, farm_in])
    assert row["zone_m2"] == pytest.approx(zone_m2, rel=1e-6)
    assert row["available_m2"] == pytest.approx(ring_area(available), rel=1e-6)
    assert row["constrained_m2"] == pytest.approx(ring_area(constrained), rel=1e-6)
    assert row["永久基本农田_ha"] * 1e4 == pytest.approx(ring_area(farm_in), rel=1e-6)


def test_far_planar_crs_is_a_warning_naming_the_zone(tmp_path: Path) -> None:
    write_pack(tmp_path / "pack", planar_crs="EPSG:4545", dense=False)  # CM 108E, 13° away
    summary = run_publish(tmp_path / "pack", tmp_path / "out", maps=False)
    far = [w for w in summary.warnings if "planar_crs" in w]
    assert len(far) == 1
    assert "EPSG:4549" in far[0]  # zone 40, CM 120E: the data span 121.1–121.8E
    report = json.loads((tmp_path / "out" / "internal" / "report.json").read_text(encoding="utf-8"))
    assert far[0] in report["warnings"]


def test_validate_prints_the_far_planar_crs_warning(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from qzgeo.cli.main import cli

    write_pack(tmp_path / "pack", planar_crs="EPSG:4545", dense=False)
    r = CliRunner().invoke(cli, ["validate", "--pack", str(tmp_path / "pack")])
    assert r.exit_code == 0  # a warning, not a problem
    assert "warning: catalog.toml [pack]: planar_crs EPSG:4545" in r.stderr
    assert "use EPSG:4549" in r.stderr
