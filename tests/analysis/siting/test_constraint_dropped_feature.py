"""A --constraint feature that cannot be read is named in every site's report.

Found by out13: a red-line layer whose feature over the site had a NaN vertex was dropped
(right: its outline is unknown), and the site came out "clear" with no warning in the JSON;
only a count went to stderr ("constraint and pack layers: ... 1 dropped"), naming neither the
feature nor the reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import shapely
from click.testing import CliRunner

from qzgeo.cli.main import cli

E0, N0 = 36_564_000.0, 2_399_000.0  # GK zone 36 with the prefix


def _box(x: float) -> shapely.Polygon:
    return shapely.box(E0 + x, N0 + 100, E0 + x + 300, N0 + 400)


def test_a_dropped_red_line_feature_is_in_every_site_report(tmp_path: Path) -> None:
    corner = list(_box(0).exterior.coords)
    corner[1] = (float("nan"), corner[1][1])
    red = tmp_path / "红线.gpkg"
    gpd.GeoDataFrame(
        {"类别": ["生态保护红线", "生态保护红线"]},
        geometry=[shapely.Polygon(corner), _box(2000)],
        crs="EPSG:4524",
    ).to_file(red)
    sites = tmp_path / "sites.gpkg"
    gpd.GeoDataFrame(
        {"名称": ["甲", "乙"]}, geometry=[_box(50), _box(800)], crs="EPSG:4524"
    ).to_file(sites)
    res = CliRunner().invoke(
        cli, ["check", str(sites), "--no-pack", "--constraint", str(red), "--format", "json"]
    )
    assert res.exit_code == 0, res.output
    reports = json.loads(res.stdout)
    assert [r["site"] for r in reports] == ["甲", "乙"]
    for r in reports:
        [w] = [w for w in r["warnings"] if "dropped" in w]
        assert "feature 1" in w and "NaN" in w, w
    assert "feature 1 dropped" in res.stderr
