"""`analyze` prints its areas in 公顷 and 亩, the words `publish` and the tables use.

It printed "ha" where every other output of qzgeo says 公顷 (and 亩).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import shapely
from click.testing import CliRunner
from pyproj import Geod

from qzgeo.cli.main import cli


def test_the_last_line_says_gong_qing_and_mu(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    res = CliRunner().invoke(cli, ["new-pack", str(pack), "--center", "126.6,45.8"])
    assert res.exit_code == 0, res.output
    boxes = [shapely.box(126.60, 45.80, 126.601, 45.801)]  # clear of the red lines
    parcels = tmp_path / "parcels.gpkg"
    gpd.GeoDataFrame({"地块编号": ["A"]}, geometry=boxes, crs="EPSG:4490").to_file(parcels)
    res = CliRunner().invoke(cli, ["analyze", "--parcels", str(parcels), "--pack", str(pack),
                                   "--out", str(tmp_path / "out")])  # fmt: skip
    assert res.exit_code == 0, (res.output, res.exception)
    # oracle: the GRS80 geodesic area of the box, all of it available
    geod = Geod(ellps="GRS80")
    m2 = sum(abs(geod.geometry_area_perimeter(b)[0]) for b in boxes)
    last = res.stdout.strip().splitlines()[-1]
    assert last.startswith("1 parcel, no conflicts"), last
    assert f"{m2 / 1e4:.2f} 公顷 ({m2 / (1e4 / 15):.1f} 亩) available" in last, last
    assert " ha " not in last
