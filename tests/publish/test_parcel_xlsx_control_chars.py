"""parcels_summary.xlsx with a zone name holding a control character (a CAD or Word export's
``\\x0b``): openpyxl refused the cell (IllegalCharacterError), analyze ended in a traceback
and wrote no result at all. Found in round 21's convert/tables audit."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner
from support import get_path

from qzgeo.cli.main import cli

pytest.importorskip("openpyxl")

X0, Y0 = 36_564_000.0, 2_399_000.0  # the minipack's zone 甲 (EPSG:4524); 乙 east of it


def test_a_control_character_in_a_zone_name_is_escaped_in_the_workbook(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    shutil.copytree(get_path("minipack"), pack)
    gpkg = pack / "layers" / "mini.gpkg"
    zones = gpd.read_file(gpkg, layer="zones")
    zones["名称"] = ["甲\x0b区", "乙_x0041_"]
    zones.to_file(gpkg, layer="zones", driver="GPKG")
    src = tmp_path / "parcels.gpkg"
    parcels = [shapely.box(X0 + 300, Y0 + 300, X0 + 400, Y0 + 400)]
    parcels.append(shapely.box(X0 + 1300, Y0 + 300, X0 + 1400, Y0 + 400))
    gpd.GeoDataFrame({"n": [1, 2]}, geometry=parcels, crs="EPSG:4524").to_file(src)
    out = tmp_path / "out"
    args = ["analyze", "--pack", str(pack), "--parcels", str(src), "--out", str(out)]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    with zipfile.ZipFile(out / "internal" / "parcels_summary.xlsx") as book:
        xml = book.read("xl/worksheets/sheet1.xml").decode("utf-8")
    # OOXML's escapes, which Excel and WPS show as the character (and a literal "_x0041_"
    # escaped in turn, else Excel would show "A")
    assert "<t>甲_x000B_区</t>" in xml and "<t>乙_x005F_x0041_</t>" in xml
    csv = (out / "internal" / "parcels_summary.csv").read_text(encoding="utf-8-sig")
    assert "甲\x0b区" in csv  # the CSV holds the name as it is
