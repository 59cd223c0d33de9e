"""A red line given with --constraint keeps the straight edges it was drawn with in GK.

A 4-vertex 生态保护红线 drawn in GK CM 87E (EPSG:4538) and a site drawn 5 cm east of its 18 km
east edge (88.75°E), in the same CRS: `check --no-pack` overlays in the zone of the site (CM
90E), where the red line's edge, moved to lon/lat vertex by vertex, became the straight line
between its corners there, 0.23 m east of the drawn one: 202 m² of 生态保护红线 and a conflict.
Oracle: the distance in the CRS both were drawn in (shapely).
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import shapely
from click.testing import CliRunner
from pyproj import Transformer

from qzgeo.cli.main import cli


def test_site_clear_of_a_gk_red_line_is_clear(tmp_path: Path) -> None:
    t = Transformer.from_crs(4490, 4538, always_xy=True)
    x0, y0 = t.transform(88.25, 43.92)
    x1, y1 = t.transform(88.75, 44.08)
    red, ym = shapely.box(x0, y0, x1, y1), (y0 + y1) / 2
    site = shapely.box(x1 + 0.05, ym - 500, x1 + 300, ym + 500)
    assert abs(site.distance(red) - 0.05) < 1e-6
    red_path, site_path = tmp_path / "red.gpkg", tmp_path / "site.gpkg"
    gpd.GeoDataFrame({"类别": ["生态保护红线"]}, geometry=[red], crs=4538).to_file(red_path)
    gpd.GeoDataFrame({"名称": ["地块"]}, geometry=[site], crs=4538).to_file(site_path)
    args = ["check", "--no-pack", "--constraint", str(red_path), "--format", "json"]
    res = CliRunner().invoke(cli, [*args, str(site_path)])
    assert res.exit_code == 0, (res.output, res.exception)
    (report,) = json.loads(res.stdout)
    assert report["verdict"] == "clear" and report["conflicts"] == []
