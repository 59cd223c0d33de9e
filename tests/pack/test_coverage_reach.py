"""`qzgeo validate` warns of zone layers and boundaries (城镇开发边界) that reach past the
pack's coverage layer: parcels and sites there are 未核查, whatever the pack draws over them.

Oracle: geopandas' difference of the layer and the districts, measured by GeographicLib
(pyproj) on oriented rings; no qzgeo code.
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner
from support import ROOT, copy_bundled_pack, geod_ring_area

from qzgeo.cli.main import cli

PACKS = {
    "qinzhou": (ROOT, "qinzhou.gpkg", "钦州港城镇开发边界（示意）"),
    "jinzhou": (ROOT / "examples" / "jinzhou", "jinzhou.gpkg", None),
}


def _outside_ha(gpkg: Path, name: str | None) -> float:
    districts = gpd.read_file(gpkg, layer="districts")
    lines = gpd.read_file(gpkg, layer="control_lines")
    boundary = lines[lines["类别"] == "城镇开发边界"]
    if name is not None:
        boundary = boundary[boundary["名称"] == name]
    beyond = boundary.geometry.difference(shapely.union_all(districts.geometry.values))
    return sum(geod_ring_area(g) for g in beyond) / 1e4


@pytest.mark.parametrize("pack", sorted(PACKS))
def test_validate_names_the_boundary_land_outside_the_coverage(pack: str) -> None:
    root, gpkg, name = PACKS[pack]
    want = _outside_ha(root / "layers" / gpkg, name)
    assert want > 1.0, "the bundled data no longer reach past the districts: rethink the test"
    res = CliRunner().invoke(cli, ["validate", "--pack", str(root)])
    assert res.exit_code == 0, res.output
    said = [line for line in res.output.splitlines() if "outside the coverage layer" in line]
    assert len(said) == 1 and "'control_lines'" in said[0], res.output
    got = float(re.search(r"([\d,.]+) 公顷 lie outside", said[0]).group(1).replace(",", ""))
    assert got == pytest.approx(want, abs=0.05), (got, want)
    assert "未核查" in said[0] and "'districts'" in said[0]


def test_boundaries_cut_to_the_coverage_get_no_such_warning(tmp_path: Path) -> None:
    pack = copy_bundled_pack(tmp_path / "pack")
    gpkg = pack / "layers" / "qinzhou.gpkg"
    districts = shapely.union_all(gpd.read_file(gpkg, layer="districts").geometry.values)
    lines = gpd.read_file(gpkg, layer="control_lines")
    lines["geometry"] = lines.geometry.intersection(districts)
    lines.to_file(gpkg, layer="control_lines", driver="GPKG", mode="w")
    res = CliRunner().invoke(cli, ["validate", "--pack", str(pack)])
    assert res.exit_code == 0, res.output
    assert "outside the coverage layer" not in res.output, res.output
