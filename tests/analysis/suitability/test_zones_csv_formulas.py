"""zones.csv of ``qzgeo suitability``: zone and class names like formulas are text (a ``'``
first), the study area's 要素编号 -1 and the areas are still numbers. Read back with ``csv``."""

from __future__ import annotations

import csv
import io

import geopandas as gpd
from click.testing import CliRunner

from qzgeo.cli.main import cli

#: The slope model's classes named like formulas.
FORMULA_CLASSES = """
[result]
breaks = [1.5, 2.5, 3.5, 4.5]
classes = [
  { name = "=g1", color = "#d7191c" }, { name = "+g2", color = "#fdae61" },
  { name = "-g3", color = "#ffffbf" }, { name = "@g4", color = "#a6d96a" },
  { name = "g5", color = "#1a9641" },
]
"""

NAMES = ['=HYPERLINK("http://x","y")', "-1+1", "T"]


def _zones_csv(pack, h, tmp_path) -> tuple[list[str], list[dict[str, str]]]:
    """zones.csv of the slope model of ``pack`` on a 2-degree plane, as text cells."""
    dem = h.gk_plane(tmp_path / "dem.tif", 2.0)
    args = ["suitability", "--pack", str(pack), "--out", str(tmp_path / "out"), "--no-progress"]
    res = CliRunner().invoke(cli, [*args, "--dem", str(dem)])
    assert res.exit_code == 0, res.output
    raw = (tmp_path / "out" / "public" / "suitability" / "slope" / "zones.csv").read_bytes()
    header, *rows = csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""))
    return header, [dict(zip(header, r, strict=True)) for r in rows]


def test_zone_and_class_names_are_text_and_numbers_stay_numbers(make_pack, h, tmp_path):
    pack = make_pack({"slope": h.SLOPE_ONLY + FORMULA_CLASSES})
    gpkg = pack / "layers" / "synthetic.gpkg"
    zones = gpd.read_file(gpkg, layer="zones")
    zones["名称"] = NAMES
    zones.to_file(gpkg, layer="zones", driver="GPKG")
    header, table = _zones_csv(pack, h, tmp_path)
    assert {r["名称"] for r in table} == {"'" + NAMES[0], "'" + NAMES[1], "T", "（评价范围）"}
    assert {r["类别"] for r in table} >= {"'=g1", "'+g2", "'-g3", "'@g4", "g5"}
    for r in table:
        for cell in r.values():
            assert not cell.startswith(("=", "+", "-", "@")) or float(cell) < 0, cell
        assert int(r["要素编号"]) >= -1  # the study area's -1, a number as before
        assert float(r["面积(m²)"]) >= 0
    assert {r["要素编号"] for r in table if r["图层"] == "（评价范围）"} == {"-1"}
    # the .csvt beside it gives QGIS (GDAL's CSV driver) the types: else every column is text
    folder = tmp_path / "out" / "public" / "suitability" / "slope"
    [types] = csv.reader(io.StringIO((folder / "zones.csvt").read_text("ascii")))
    kind = dict(zip(header, types, strict=True))
    assert kind["名称"] == kind["类别"] == kind["图层"] == "String"
    assert kind["要素编号"] == "Integer" and kind["面积(m²)"] == "Real"


def test_areas_are_printed_to_one_precision_per_unit(make_pack, h, tmp_path):
    """m² to 2 decimals, 公顷 to 6 and 亩 to 5 (0.01 m² in each), as every other table: zones.csv
    printed all three to 6 (1e-6 m², 1e-6 亩) and its 亩 disagreed with its m² past 0.01 m²."""
    pack = make_pack({"slope": h.SLOPE_ONLY + h.FIVE_CLASSES})
    _, table = _zones_csv(pack, h, tmp_path)
    assert table
    for r in table:
        m2, ha, mu = r["面积(m²)"], r["面积(公顷)"], r["面积(亩)"]
        assert [len(v.split(".")[1]) for v in (m2, ha, mu)] == [2, 6, 5], r
        assert abs(float(ha) * 10_000 - float(m2)) <= 0.01  # 1 公顷 = 10 000 m²
        assert abs(float(mu) * 10_000 / 15 - float(m2)) <= 0.01  # 1 公顷 = 15 亩
