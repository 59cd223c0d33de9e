"""parcels_summary.xlsx as Excel reads it: zone names are text, never formulas."""

from __future__ import annotations

import re
import shutil
import zipfile
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
    with zipfile.ZipFile(out / "internal" / "parcels_summary.xlsx") as book:
        xml = book.read("xl/worksheets/sheet1.xml").decode("utf-8")
    assert not re.search(r"<f[ >]", xml)  # no formula element in the sheet: Excel computes none


def test_summary_files_hold_areas_to_a_hundredth_of_a_square_metre(tmp_path: Path) -> None:
    # Unrounded, 0.002 m² of rounding showed as 1.93e-07 公顷 in Excel, and every area as all
    # the digits of a double. 公顷 to 6 decimals and 亩 to 5 are 0.01 m², as parcels.gpkg.
    import csv

    import pyproj

    src = tmp_path / "parcels.gpkg"
    parcels = [  # one in 甲, one across 甲|乙, one sliver of 0.3 m x 0.01 m
        shapely.box(X0 + 300, Y0 + 300, X0 + 400.123, Y0 + 400.456),
        shapely.box(X0 + 950, Y0 + 300, X0 + 1050.5, Y0 + 333.3),
        shapely.box(X0 + 500, Y0 + 500, X0 + 500.3, Y0 + 500.01),
    ]
    gpd.GeoDataFrame({"n": [1, 2, 3]}, geometry=parcels, crs="EPSG:4524").to_file(src)
    out = tmp_path / "out"
    args = [
        "analyze",
        "--pack",
        str(get_path("minipack")),
        "--parcels",
        str(src),
        "--out",
        str(out),
    ]
    assert CliRunner().invoke(cli, args).exit_code == 0
    raw = (out / "internal" / "parcels_summary.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" not in raw and b"e-" not in raw
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    total = rows[-1]
    assert total["分区图层"] == "合计"
    for name, text in total.items():
        if name.endswith("_公顷"):
            assert len(text.split(".")[1]) == 6, (name, text)
        if name.endswith("_亩"):
            assert len(text.split(".")[1]) == 5, (name, text)
    # the oracle: the parcels' ellipsoidal areas from pyproj.Geod on their corners
    geod = pyproj.Geod(ellps="GRS80")
    to_ll = pyproj.Transformer.from_crs("EPSG:4524", "EPSG:4490", always_xy=True)
    m2 = 0.0
    for p in parcels:
        x, y = to_ll.transform(*shapely.get_coordinates(shapely.segmentize(p, 1.0)).T)
        m2 += abs(geod.polygon_area_perimeter(x, y)[0])
    assert float(total["面积_公顷"]) == pytest.approx(m2 / 1e4, abs=1e-6)
    assert float(total["面积_亩"]) == pytest.approx(m2 * 15 / 1e4, abs=1e-5)
    sheet = openpyxl.load_workbook(out / "internal" / "parcels_summary.xlsx").active
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    last = next(iter(sheet.iter_rows(min_row=sheet.max_row)))
    for name, cell in zip(header, last, strict=True):
        if name.endswith("_公顷"):
            assert cell.number_format == "0.000000" and cell.value == round(float(total[name]), 6)
