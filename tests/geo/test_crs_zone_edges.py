"""GK zones at the ends of China: its western tip (73.48°E, 乌恰县) lies a few hundredths of a
degree west of zone 25's edge (73.5°E), the last zone EPSG defines there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from pyproj import CRS

from qzgeo.cli.main import cli
from qzgeo.geo.crs import gk_zone, planar_crs_for_bounds


@pytest.mark.parametrize(("lon", "zone"), [(73.45, 25), (73.5, 25), (76.4, 25), (135.08, 45)])
def test_china_ends_get_the_nearest_defined_zone(lon: float, zone: int) -> None:
    assert gk_zone(lon) == zone
    name = planar_crs_for_bounds((lon, 39.0, lon, 39.0)).name
    assert name == CRS.from_epsg(4509 + zone).name  # oracle: EPSG's own name of the CM code


@pytest.mark.parametrize("lon", [10.0, 70.0, 140.0])
def test_outside_china_is_still_refused(lon: float) -> None:
    with pytest.raises(ValueError, match="outside China"):
        gk_zone(lon)


def test_new_pack_at_the_western_tip_publishes(tmp_path: Path) -> None:
    pack, out = tmp_path / "wuqia", tmp_path / "out"
    run = CliRunner().invoke
    res = run(cli, ["new-pack", str(pack), "--center", "73.5,39.4"])
    assert res.exit_code == 0, res.output
    catalog = (pack / "layers" / "catalog.toml").read_text(encoding="utf-8")
    assert 'planar_crs = "EPSG:4534"' in catalog  # CM 75E
    # without planar_crs, the zone is chosen from the data (centred at 73.5°E)
    catalog = "\n".join(ln for ln in catalog.splitlines() if not ln.startswith("planar_crs"))
    (pack / "layers" / "catalog.toml").write_text(catalog, encoding="utf-8")
    res = run(cli, ["publish", "--pack", str(pack), "--out", str(out), "--no-maps"])
    assert res.exit_code == 0, (res.output, res.exception)
    report = json.loads((out / "internal" / "report.json").read_text(encoding="utf-8"))
    assert report["summary"]["planar_crs"].startswith("EPSG:4534")


def test_a_site_on_chinas_eastern_tip_is_checked(tmp_path: Path) -> None:
    """黑瞎子岛's eastern half (135.0-135.08°E) is China: a site there is checked, not refused."""
    pack, site = tmp_path / "fuyuan", tmp_path / "site.geojson"
    run = CliRunner().invoke
    assert run(cli, ["new-pack", str(pack), "--center", "134.9,48.35"]).exit_code == 0
    site.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, '
        '"geometry": {"type": "Polygon", "coordinates": [[[135.02, 48.3], [135.07, 48.3], '
        "[135.07, 48.33], [135.02, 48.33], [135.02, 48.3]]]}}]}",
        encoding="utf-8",
    )
    res = run(cli, ["check", "--pack", str(pack), "--format", "json", str(site)])
    assert res.exit_code in (0, 1), (res.output, res.exception)
    assert json.loads(res.stdout)[0]["area_m2"] > 0
