"""A polygon drawn in GK has straight edges in GK: `check` and `analyze` measure that polygon.

A site from a 界址点 file or a CAD export is its vertices joined by straight lines in the GK
plane. `check` measured the site itself between its vertices moved to lon/lat (geodesics), and
its overlaps along the GK lines; `analyze` measured the GK lines. For a 5 × 6 km site 100 km
east of the central meridian the two commands gave areas 1.4 m² apart. The oracle (shares no
code with qzgeo): the polygon straight in GK, each edge cut into 10 m steps there, through
``pyproj.Geod`` (``oracles.projected_polygon_m2``).
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
from _cli import check_json
from oracles import projected_polygon_m2
from packs import all_output, run_cli
from shapely.geometry import box

GK = "EPSG:4524"  # CGCS2000 GK zone 36 (CM 108°E), zone-prefixed eastings
X0, Y0 = 36_600_000.0, 2_390_000.0  # ~109.0°E, 21.6°N: 100 km east of the central meridian


def _pack(mini: Path) -> None:
    """The minipack with one zone over the site and no red line near it."""
    zone = gpd.GeoDataFrame(
        {"名称": ["全域"], "主导产业": ["-"], "来源": ["test"], "精度": ["-"], "secret": ["-"]},
        geometry=[box(X0 - 10_000, Y0 - 10_000, X0 + 20_000, Y0 + 20_000)],
        crs=GK,
    )
    zone.to_file(mini / "layers" / "mini.gpkg", layer="zones", driver="GPKG")


@pytest.mark.parametrize("size", [(5_000.0, 6_000.0), (10_000.0, 10_000.0)])
def test_check_and_analyze_measure_the_polygon_as_drawn(
    mini: Path, tmp_path: Path, size: tuple[float, float]
) -> None:
    _pack(mini)
    shell = [(X0, Y0), (X0 + size[0], Y0), (X0 + size[0], Y0 + size[1]), (X0, Y0 + size[1])]
    want = projected_polygon_m2(shell, crs=GK)
    site = tmp_path / "site.gpkg"
    gpd.GeoDataFrame({"名称": ["甲"]}, geometry=[box(X0, Y0, *(X0 + size[0], Y0 + size[1]))],
                     crs=GK).to_file(site, driver="GPKG")  # fmt: skip
    _, [checked] = check_json(site, "--pack", mini)
    assert checked["area_m2"] == pytest.approx(want, abs=0.011)
    out = tmp_path / "out"
    res = run_cli("analyze", "--parcels", site, "--pack", mini, "--out", out)
    assert res.exit_code == 0, all_output(res)
    (gpkg,) = out.glob("*/parcels.gpkg")
    analyzed = gpd.read_file(gpkg)
    assert float(analyzed["area_m2"].iloc[0]) == pytest.approx(want, abs=0.011)
    (report,) = out.glob("*/parcels_report.json")
    assert json.loads(report.read_text(encoding="utf-8"))["overlay"]["conservation_failures"] == []
