"""A conflict class fed by two constraint layers (farmland from two sources) is summed over
both in the zone summary. The minipack plus a second farmland layer, disjoint from the first:
乙区 then holds 25 ha + 25 ha of 永久基本农田 (hand computation, to the GK scale error as in
``test_zones``). A mutant keeping only the last layer's area passed the suite."""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from support import get_path

from qzgeo.analysis.zones import analyze_pack
from qzgeo.pack.catalog import load_pack
from qzgeo.pack.load import load_pack_layers

X0, Y0 = 36_564_000.0, 2_399_000.0  # zone 乙区 = [X0+1000, X0+2000] x [Y0, Y0+1000]
GK_SCALE = 2e-4

FARM2 = """
[[layers]]
id = "farm2"
title = "永久基本农田（第二来源）"
role = "constraint"
path = "farm2.gpkg"
layer = "farm2"
sensitivity = "internal"
class_field = "类别"
constraint_classes = { "永久基本农田" = "exclusion" }
source = "hand-made test square"
licence = "CC0-1.0"
precision = "schematic"
"""


def test_a_class_from_two_layers_is_summed_in_the_zone_summary(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    shutil.copytree(get_path("minipack"), pack)
    # the NW quarter of 乙区: clear of the first farmland (its SE quarter) and the red line
    nw = shapely.box(X0 + 1000, Y0 + 500, X0 + 1500, Y0 + 1000)
    gpd.GeoDataFrame({"类别": ["永久基本农田"]}, geometry=[nw], crs="EPSG:4524").to_file(
        pack / "layers" / "farm2.gpkg", layer="farm2"
    )
    catalog = pack / "layers" / "catalog.toml"
    catalog.write_text(catalog.read_text(encoding="utf-8") + FARM2, encoding="utf-8")
    s = analyze_pack(load_pack_layers(load_pack(pack))).zone_summary.set_index("名称")
    yi = s.loc["乙区"]
    assert yi["永久基本农田_ha"] == pytest.approx(50, rel=GK_SCALE)
    # 25 + 25 ha farmland and 20 ha outside the boundary, 10 ha of them farmland
    assert yi["constrained_ha"] == pytest.approx(60, rel=GK_SCALE)
    # the square shares 甲区's east edge: a sliver of reprojection round-off (~0.02 m²)
    assert s.loc["甲区", "永久基本农田_ha"] == pytest.approx(0.0, abs=1e-5)
