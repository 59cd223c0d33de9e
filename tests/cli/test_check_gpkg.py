"""`qzgeo check --format gpkg`: the sites and their conflict patches as layers for QGIS.

GIS staff check sites in QGIS; the JSON says how much a red line takes, the GeoPackage shows
where. Expected patches and areas come from geopandas.overlay in the sites' own GK zone and
pyproj.Geod on the densified result (tests/support.geod_planar_m2), not from qzgeo.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from support import geod_planar_m2

from qzgeo.cli.main import cli

GK = "EPSG:4524"  # CGCS2000 3-degree GK zone 36, eastings with the zone prefix
E0, N0 = 36_564_000.0, 2_399_000.0
RED = shapely.box(E0, N0, E0 + 400, N0 + 400)  # 生态保护红线
TOWN = shapely.box(E0 - 2_000, N0 - 2_000, E0 + 600, N0 + 2_000)  # 城镇开发边界
SITES = {
    "甲": shapely.box(E0 + 200, N0 + 100, E0 + 800, N0 + 300),  # red line and past the boundary
    "乙": shapely.box(E0 - 1_000, N0 - 1_000, E0 - 700, N0 - 800),  # clear
    "丙": shapely.Polygon(  # a hole where the red line is: only its ring conflicts
        shapely.box(E0 - 100, N0 - 100, E0 + 500, N0 + 500).exterior.coords,
        [shapely.box(E0 + 50, N0 + 50, E0 + 350, N0 + 350).exterior.coords],
    ),
}


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    red = tmp_path / "红线.gpkg"
    gpd.GeoDataFrame(
        {"类别": ["生态保护红线", "城镇开发边界"]}, geometry=[RED, TOWN], crs=GK
    ).to_file(red)
    sites = tmp_path / "sites.gpkg"
    gpd.GeoDataFrame({"名称": list(SITES)}, geometry=list(SITES.values()), crs=GK).to_file(sites)
    return sites, red


def _check(sites: Path, red: Path, out: Path, fmt: str = "gpkg") -> str:
    args = ["check", str(sites), "--no-pack", "--constraint", str(red), "--format", fmt]
    res = CliRunner().invoke(cli, [*args, *(["--out", str(out)] if fmt == "gpkg" else [])])
    assert res.exit_code == 1, res.output  # 甲 and 丙 conflict
    return res.stdout


def _expected(name: str) -> dict[str, gpd.GeoDataFrame]:
    site = gpd.GeoDataFrame(geometry=[SITES[name]], crs=GK)
    return {
        "生态保护红线": gpd.overlay(site, gpd.GeoDataFrame(geometry=[RED], crs=GK)),
        "城镇开发边界外": gpd.overlay(
            site, gpd.GeoDataFrame(geometry=[TOWN], crs=GK), how="difference"
        ),
    }


def test_sites_and_patches_match_an_overlay_oracle(
    inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    sites, red = inputs
    out = tmp_path / "out"
    _check(sites, red, out)
    gpkg = out / "internal" / "check.gpkg"  # from red lines: never public
    assert not (out / "public" / "check.gpkg").exists()
    assert [tuple(x) for x in pyogrio.list_layers(gpkg)] == [
        ("sites", "MultiPolygon"),
        ("conflict_patches", "MultiPolygon"),
    ]
    got = gpd.read_file(gpkg, layer="sites")
    assert got.crs == "EPSG:4490"
    assert list(got["site"]) == list(SITES) and list(got["verdict"]) == [
        "conflict",
        "clear",
        "conflict",
    ]
    for name, row in got.set_index("site").iterrows():
        assert row["area_m2"] == pytest.approx(geod_planar_m2(SITES[name], GK), abs=0.02)
        assert row["area_ha"] * 15 == pytest.approx(row["area_mu"], abs=1e-4)
    patches = gpd.read_file(gpkg, layer="conflict_patches")
    found = {(r.site, r["class"]) for _, r in patches.iterrows()}
    assert found == {("甲", "生态保护红线"), ("甲", "城镇开发边界外"), ("丙", "生态保护红线")}
    for _, p in patches.iterrows():
        oracle = _expected(p.site)[p["class"]].geometry.iloc[0]
        assert p.area_m2 == pytest.approx(geod_planar_m2(oracle, GK), abs=0.02), p["class"]
        drawn = gpd.GeoSeries([p.geometry], crs="EPSG:4490").to_crs(GK).iloc[0]
        assert drawn.symmetric_difference(oracle).area < 0.01  # the right place, not just size
        assert p.share == pytest.approx(p.area_m2 / geod_planar_m2(SITES[p.site], GK), abs=1e-6)


def test_the_layers_agree_with_the_json_and_rerun_byte_identical(
    inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    sites, red = inputs
    reports = json.loads(_check(sites, red, tmp_path, "json"))
    _check(sites, red, tmp_path / "a")
    _check(sites, red, tmp_path / "b")
    a, b = (tmp_path / x / "internal" / "check.gpkg" for x in "ab")
    assert a.read_bytes() == b.read_bytes()
    patches = gpd.read_file(a, layer="conflict_patches")
    from_json = {(r["site"], c["class"]): c["area_m2"] for r in reports for c in r["conflicts"]}
    assert from_json == {(p.site, p["class"]): p.area_m2 for _, p in patches.iterrows()}


def test_no_conflict_gives_an_empty_patch_layer(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    _, red = inputs
    clear = tmp_path / "clear.geojson"
    gpd.GeoDataFrame({"名称": ["乙"]}, geometry=[SITES["乙"]], crs=GK).to_file(clear)
    args = ["check", str(clear), "--no-pack", "--constraint", str(red), "--format", "gpkg"]
    res = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    gpkg = tmp_path / "out" / "internal" / "check.gpkg"
    assert len(gpd.read_file(gpkg, layer="conflict_patches")) == 0
    assert len(gpd.read_file(gpkg, layer="sites")) == 1
