"""Data wholly outside the pack extent because their GK CRS names the wrong zone (a CM 87E
layer labelled CM 90E, the mistake of a 乌鲁木齐 office whose city lies between the two): the
refusal names the zone that puts them inside the extent. It listed "the wrong pack, CRS or GK
zone" and left the reader to find which.

Oracle: a transverse Mercator CRS differs from its neighbour zone only by the central
meridian, so the same coordinates lie exactly 3° further east in CM 90E (hand-checked below
with pyproj, not qzgeo)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner
from packs import new_pack
from pyproj import Transformer

from qzgeo.cli.main import cli


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    return new_pack(tmp_path / "urumqi", "87.6,43.8")


def _site_in_cm87_labelled(crs: int, path: Path) -> None:
    e, n = Transformer.from_crs(4490, 4538, always_xy=True).transform(87.6, 43.8)
    lon, _ = Transformer.from_crs(crs, 4490, always_xy=True).transform(e, n)
    assert abs(lon - 90.6) < 1e-9  # the oracle: same coordinates, 3° further east
    site = shapely.box(e - 200, n - 200, e + 200, n + 200)
    gdf = gpd.GeoDataFrame({"名称": ["地块"]}, geometry=[site], crs=4538)
    gdf.set_crs(crs, allow_override=True).to_file(path)


def test_parcels_in_the_next_zone_name_the_zone_that_fits(pack: Path, tmp_path: Path) -> None:
    parcels = tmp_path / "parcels.gpkg"
    _site_in_cm87_labelled(4539, parcels)
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["analyze", "--pack", pack, "--parcels", parcels, "--out", out])
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert "wholly outside the pack extent" in res.stderr
    assert "EPSG:4538 (CM 87E)" in res.stderr and "not EPSG:4539" in res.stderr, res.stderr


def test_pack_layer_in_the_next_zone_names_the_zone_that_fits(pack: Path, tmp_path: Path) -> None:
    layer = pack / "layers" / "zones.gpkg"
    _site_in_cm87_labelled(4539, layer)
    cat = pack / "layers" / "catalog.toml"
    text = cat.read_text(encoding="utf-8").replace('"zones.geojson"', '"zones.gpkg"')
    cat.write_text(text, encoding="utf-8")
    res = CliRunner().invoke(cli, ["validate", "--pack", str(pack)])
    assert res.exit_code == 2, res.output
    assert "1 problem(s)" in res.output and "zones.gpkg" in res.output, res.output
    assert "EPSG:4538 (CM 87E)" in res.output and "not EPSG:4539" in res.output, res.output


def test_no_zone_hint_when_no_zone_fits(pack: Path, tmp_path: Path) -> None:
    # lon/lat data far away: no GK zone to name
    # GK data of 杭州 (CM 120E) against the 乌鲁木齐 pack: no zone puts them in its box
    site = tmp_path / "far.gpkg"
    e, n = Transformer.from_crs(4490, 4549, always_xy=True).transform(120.2, 30.3)
    gdf = gpd.GeoDataFrame({"名称": ["地块"]}, geometry=[shapely.box(e, n, e + 200, n + 200)])
    gdf.set_crs(4549).to_file(site)
    res = CliRunner().invoke(cli, ["analyze", "--pack", pack, "--parcels", site])
    assert res.exit_code == 2 and "wholly outside" in res.stderr
    assert "EPSG:45" not in res.stderr, res.stderr


def test_a_site_in_the_next_zone_names_the_zone_that_fits(pack: Path, tmp_path: Path) -> None:
    """Sites are in lon/lat by the time the extent is checked; the hint comes from the CRS
    they were read in (it said only "the wrong pack, CRS or GK zone")."""
    site = tmp_path / "site.shp"
    _site_in_cm87_labelled(4539, site)
    res = CliRunner().invoke(cli, ["check", "--pack", str(pack), str(site)])
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert "wholly outside the pack extent" in res.stderr and "site.shp" in res.stderr
    assert "EPSG:4538 (CM 87E)" in res.stderr and "not EPSG:4539" in res.stderr, res.stderr


def test_of_two_site_files_the_hint_is_for_the_one_in_the_wrong_zone(
    pack: Path, tmp_path: Path
) -> None:
    good, bad = tmp_path / "good.gpkg", tmp_path / "bad.gpkg"
    e, n = Transformer.from_crs(4490, 4538, always_xy=True).transform(87.6, 43.8)
    lon, _ = Transformer.from_crs(4537, 4490, always_xy=True).transform(e, n)
    assert abs(lon - 84.6) < 1e-9  # CM 84E: the same coordinates 3° west of where they are
    gdf = gpd.GeoDataFrame({"名称": ["地块"]}, geometry=[shapely.box(e - 200, n - 200, e, n)])
    gdf.set_crs(4538).to_file(good)  # labelled right
    gdf.set_crs(4537).to_file(bad)
    res = CliRunner().invoke(cli, ["check", "--pack", str(pack), str(good), str(bad)])
    assert res.exit_code == 2, res.output
    assert "bad.gpkg" in res.stderr and "good.gpkg" not in res.stderr, res.stderr
    assert "EPSG:4538 (CM 87E)" in res.stderr and "not EPSG:4537" in res.stderr, res.stderr


def test_a_lon_lat_site_far_away_gets_no_zone_hint(pack: Path, tmp_path: Path) -> None:
    site = tmp_path / "beijing.geojson"
    gdf = gpd.GeoDataFrame({"名称": ["北京"]}, geometry=[shapely.box(116.3, 39.9, 116.31, 39.91)])
    gdf.set_crs(4326).to_file(site)
    res = CliRunner().invoke(cli, ["check", "--pack", str(pack), str(site)])
    assert res.exit_code == 2, res.output
    assert (
        "wholly outside the pack extent" in res.stderr and "their CRS is probably" not in res.stderr
    )
