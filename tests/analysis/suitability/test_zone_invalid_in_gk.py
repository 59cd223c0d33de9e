"""zones.csv for a zone that is valid in lon/lat but crosses itself in the grid's GK CRS.

A digitised spike whose returning vertex lies a fraction of a millimetre beside the edge it
came along (as in a bundled 钦州 zone) is valid in EPSG:4490; projected to GK the vertex is on
the other side of the edge. exactextract counted whole cells such a ring does not cover.

Oracle: pyproj.Geod on the lon/lat ring (no qzgeo code).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from click.testing import CliRunner
from pyproj import Geod

from qzgeo.cli.main import cli


def spike_zone() -> shapely.Polygon:
    """A 17 ha zone near 108.65°E 21.66°N: out along a diagonal to a tip and back 20 % of it."""
    a = np.array([108.64894583, 21.6550045])
    tip = np.array([108.64350036, 21.66191703])
    d = tip - a
    back = tip - 0.2 * d - 1e-10 * np.array([-d[1], d[0]]) / np.hypot(*d)
    east = 108.6495
    return shapely.Polygon([tuple(a), tuple(tip), tuple(back), (east, back[1]), (east, a[1])])


def test_zone_crossing_itself_in_gk_keeps_its_area(make_pack, h, tmp_path: Path) -> None:
    zone = spike_zone()
    planar = gpd.GeoSeries([zone], crs="EPSG:4490").to_crs(h.GK).iloc[0]
    assert zone.is_valid and not planar.is_valid  # the case: valid only in lon/lat
    pack = make_pack(
        {
            "near": h.one_factor_model(
                kind="distance", breaks=[1e5, 2e5, 3e5, 4e5], layers=["hubs"], resolution_m=50
            )
        }
    )
    gpkg = pack / "layers" / "synthetic.gpkg"
    gpd.GeoDataFrame({"名称": ["spike"]}, geometry=[zone], crs="EPSG:4490").to_file(
        gpkg, layer="zones", driver="GPKG"
    )
    study = shapely.box(*zone.buffer(0.003).bounds)
    gpd.GeoDataFrame(geometry=[study], crs="EPSG:4490").to_file(gpkg, layer="study", driver="GPKG")
    args = ["suitability", "--pack", str(pack), "--out", str(tmp_path / "out"), "--no-progress"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    table = pd.read_csv(
        tmp_path / "out" / "public" / "suitability" / "near" / "zones.csv", encoding="utf-8-sig"
    )
    rows = table[table["名称"] == "spike"].set_index("类别")["面积(m²)"]
    expected = abs(Geod(ellps="GRS80").geometry_area_perimeter(zone)[0])  # 17.3 ha
    assert abs(rows["合计"] - expected) < 1e-5 * expected, (rows["合计"], expected)
    classes = rows.drop(["合计", "未评价"]).sum()
    assert abs(classes + rows["未评价"] - rows["合计"]) < 0.05
    assert abs(classes - expected) < 1e-5 * expected, (classes, expected)
