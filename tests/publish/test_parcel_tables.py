"""parcels_summary.xlsx as Excel reads it: zone names are text, never formulas."""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner
from support import get_path

from qzgeo.cli.main import cli

openpyxl = pytest.importorskip("openpyxl")

# Origin of the minipack's squares (EPSG:4524); zone 甲 = [X0, X0+1000], 乙 next to it.
X0, Y0 = 36_564_000.0, 2_399_000.0


def test_a_zone_name_like_a_formula_is_text_in_the_workbook(tmp_path: Path) -> None:
    # openpyxl writes a string that starts with "=" as a formula: Excel computed "=1+1" as 2
    # and turned a name into a link to a foreign host
    pack = tmp_path / "pack"
    shutil.copytree(get_path("minipack"), pack)
    gpkg = pack / "layers" / "mini.gpkg"
    zones = gpd.read_file(gpkg, layer="zones")
    names = ["=1+1", '=HYPERLINK("http://example.com/x","乙")']
    zones["名称"] = names
    zones.to_file(gpkg, layer="zones", driver="GPKG")
    src = tmp_path / "parcels.gpkg"
    parcels = [shapely.box(X0 + 300, Y0 + 300, X0 + 400, Y0 + 400)]
    parcels.append(shapely.box(X0 + 1300, Y0 + 300, X0 + 1400, Y0 + 400))
    gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=parcels, crs="EPSG:4524").to_file(src)
    out = tmp_path / "out"
    args = ["analyze", "--pack", str(pack), "--parcels", str(src), "--out", str(out)]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    sheet = openpyxl.load_workbook(out / "internal" / "parcels_summary.xlsx").active
    cells = [row[1] for row in sheet.iter_rows(min_row=2, max_row=3)]
    assert [c.value for c in cells] == names
    assert [c.data_type for c in cells] == ["s", "s"]
