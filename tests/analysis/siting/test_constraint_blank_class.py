"""A --constraint feature with an empty class cell is checked as the layer's class, and said.

Found by out21: in a 三线 file whose 类别 column names each feature's class, a feature with
an empty (or NULL) 类别 was checked as the class named after the file ('三线', an exclusion),
without a word: a 城镇开发边界 whose 类别 was left blank made every site inside it a
conflict of 100 %, and neither the JSON nor stderr said why.

The areas are hand-made quarters of a 1 km square in GK zone 36, measured by the
independent oracle (pyproj.Geod on the corners moved to EPSG:4490).
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
from _siting_helpers import GK, ellipsoidal_m2, gk_box
from click.testing import CliRunner

from qzgeo.cli.main import cli


@pytest.mark.parametrize("blank", [None, "", "  "], ids=["null", "empty", "spaces"])
def test_blank_class_features_are_said_in_every_site_report(
    tmp_path: Path, blank: str | None
) -> None:
    red = tmp_path / "三线.gpkg"
    gpd.GeoDataFrame(
        {"类别": ["生态保护红线", blank, blank]},
        geometry=[gk_box(0, 0, 500, 500), gk_box(500, 0, 1000, 500), gk_box(0, 500, 500, 1000)],
        crs=GK,
    ).to_file(red)
    sites = tmp_path / "sites.gpkg"
    site = gk_box(250, 250, 750, 750)
    gpd.GeoDataFrame({"名称": ["甲"]}, geometry=[site], crs=GK).to_file(sites)
    res = CliRunner().invoke(
        cli, ["check", str(sites), "--no-pack", "--constraint", str(red), "--format", "json"]
    )
    assert res.exit_code == 1, res.output
    [report] = json.loads(res.stdout)
    got = {c["class"]: c["area_m2"] for c in report["conflicts"]}
    # the two blank quarters overlap the site by 250 m x 250 m each; the red line by one
    quarter = ellipsoidal_m2(gk_box(500, 250, 750, 500))
    assert got["三线"] == pytest.approx(2 * quarter, abs=0.05)
    red_m2 = ellipsoidal_m2(gk_box(250, 250, 500, 500))
    assert got["生态保护红线"] == pytest.approx(red_m2, abs=0.05)
    [said] = [w for w in report["warnings"] if "no 类别" in w]
    assert "2 feature(s)" in said and "feature 2, 3" in said, said
    assert "'三线'" in said and "an exclusion" in said and "--class-field" in said, said
    assert said in res.stderr
