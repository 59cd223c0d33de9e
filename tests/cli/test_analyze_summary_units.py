"""parcels_summary (CSV, .csvt, Excel) as a planner reads it alone.

Every area is in m², 公顷 and 亩, each to 0.01 m² (m² 2 decimals, 公顷 6, 亩 5: README), and
overlapping parcels, whose land the totals count once per parcel over it, are said in the 分区
cell of the 合计 row, in memory and streamed alike. Oracles: pyproj.Geod on the hand-made
squares, the units converted here by hand (1 公顷 = 10 000 m² = 15 亩).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from packs import all_output, run_cli
from pyproj import Geod
from shapely.geometry import box
from support import ROOT

openpyxl = pytest.importorskip("openpyxl")

#: Inside the bundled pack's 港口核心区 (EPSG:4524).
X0, Y0 = 36_569_300.0, 2_410_600.0
AREAS = ("面积", "受约束", "可用", "未核查")
UNITS = {"_m²": 2, "_公顷": 6, "_亩": 5}


def _geod_m2(geom: object) -> float:
    ll = gpd.GeoSeries([geom], crs="EPSG:4524").to_crs(4490).iloc[0]
    return abs(Geod(ellps="GRS80").geometry_area_perimeter(ll)[0])


def _analyze(tmp: Path, cells: list[object], *chunks: str) -> Path:
    src = tmp / "p.gpkg"
    gdf = gpd.GeoDataFrame({"n": list(range(len(cells)))}, geometry=cells, crs="EPSG:4524")
    gdf.to_file(src, driver="GPKG")
    out = tmp / "out"
    res = run_cli("analyze", "--parcels", src, "--pack", ROOT, "--out", out, *chunks)
    assert res.exit_code == 0, all_output(res)
    return out / "internal"


def _rows(folder: Path) -> list[dict[str, str]]:
    text = (folder / "parcels_summary.csv").read_bytes().decode("utf-8-sig")
    return list(csv.DictReader(text.splitlines()))


def test_every_area_of_the_summary_is_in_three_units(tmp_path: Path) -> None:
    cells = [box(X0 + 60 * i, Y0, X0 + 60 * i + 50.123, Y0 + 50.456) for i in range(3)]
    folder = _analyze(tmp_path, cells)
    rows = _rows(folder)
    header = list(rows[0])
    for label in AREAS:
        for unit in UNITS:
            assert label + unit in header, header
    total = rows[-1]
    assert total["分区图层"] == "合计" and total["分区"] == ""  # no overlap: no note
    for row in rows:
        for name, text in row.items():
            for unit, places in UNITS.items():
                if name.endswith(unit):
                    assert len(text.split(".")[1]) == places, (name, text)
        for label in AREAS:  # the same area in each unit, converted by hand from m²
            m2 = float(row[label + "_m²"])
            assert float(row[label + "_公顷"]) == pytest.approx(m2 / 1e4, abs=1.01e-6)
            assert float(row[label + "_亩"]) == pytest.approx(m2 * 15 / 1e4, abs=1.01e-5)
        parts = sum(float(row[f"{k}_m²"]) for k in ("受约束", "可用", "未核查"))
        assert parts == pytest.approx(float(row["面积_m²"]), abs=0.03)
    want = sum(_geod_m2(c) for c in cells)
    assert float(total["面积_m²"]) == pytest.approx(want, abs=0.011)
    types = (folder / "parcels_summary.csvt").read_text().strip().split(",")
    assert len(types) == len(header)
    for name, kind in zip(header, types, strict=True):
        if name.endswith(tuple(UNITS)):
            assert kind == '"Real"', (name, kind)
    sheet = openpyxl.load_workbook(folder / "parcels_summary.xlsx").active
    assert [c.value for c in next(sheet.iter_rows(max_row=1))] == header
    last = next(iter(sheet.iter_rows(min_row=sheet.max_row)))
    for name, cell in zip(header, last, strict=True):
        for unit, places in UNITS.items():
            if name.endswith(unit):
                assert cell.number_format == "0." + "0" * places, (name, cell.number_format)
                assert cell.value == pytest.approx(float(total[name]), abs=0.6 * 10.0**-places)


@pytest.mark.parametrize("chunks", [[], ["--chunk-rows", "4", "--workers", "2"]])
def test_overlapping_parcels_are_said_in_the_summary_itself(
    tmp_path: Path, chunks: list[str]
) -> None:
    cells = [box(X0 + 50 * i, Y0, X0 + 50 * (i + 1), Y0 + 50) for i in range(8)]
    folder = _analyze(tmp_path, [*cells, cells[2]], *chunks)  # fid 3 and 9: one square
    shared = _geod_m2(cells[2])
    raw = (folder / "parcels_summary.csv").read_bytes()
    table = pd.read_csv(io.BytesIO(raw), encoding="utf-8-sig")
    # a reader of the CSV alone: the same rows and numeric columns as without the note
    assert table["面积_公顷"].dtype == float and table["地块数"].dtype == "int64"
    assert list(table["分区图层"])[-1] == "合计"
    note = str(table["分区"].iloc[-1])
    assert note.startswith("注意：1 对地块相互重叠"), note
    assert f"{shared:,.2f} m²" in note and f"{shared / 1e4:,.6f} 公顷" in note, (note, shared)
    assert f"{shared * 15 / 1e4:,.5f} 亩" in note
    assert int(table["地块数"].iloc[-1]) == 9  # each parcel counted, as said
    assert float(table["面积_m²"].iloc[-1]) == pytest.approx(9 * shared, abs=0.05)
    sheet = openpyxl.load_workbook(folder / "parcels_summary.xlsx").active
    assert sheet.cell(sheet.max_row, 2).value == note
    if chunks:  # streamed: the same bytes as in memory
        (tmp_path / "mem").mkdir()
        again = _analyze(tmp_path / "mem", [*cells, cells[2]])
        assert (again / "parcels_summary.csv").read_bytes() == raw
        xlsx = (folder / "parcels_summary.xlsx").read_bytes()
        assert (again / "parcels_summary.xlsx").read_bytes() == xlsx
