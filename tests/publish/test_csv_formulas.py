"""CSV formula injection: a text cell that Excel or LibreOffice would run as a formula starts
with ``'`` in every CSV qzgeo writes; numbers stay numbers. (parcels_summary.xlsx: text cells,
tests/publish/test_parcel_tables.py.) The files are read back with Python's ``csv`` module.
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import geopandas as gpd
import shapely
from click.testing import CliRunner
from hypothesis import example, given
from hypothesis import strategies as st

from qzgeo.cli.main import cli
from qzgeo.publish.tables import formula_safe

#: OWASP's list, written out here rather than imported: the test's own idea of a formula.
TRIGGERS = "=+-@\t\r"

HYPERLINK = '=HYPERLINK("http://x","y")'
NAMES = [HYPERLINK, "-1+1"]
#: A constraint class of the minipack renamed: class names become zone summary headers.
CLASS_OLD, CLASS_NEW = "永久基本农田", "@SUM(1+1)"

# Origin of the minipack's squares (EPSG:4524); zone 甲 = [X0, X0+1000], 乙 next to it.
X0, Y0 = 36_564_000.0, 2_399_000.0


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _rows(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def _no_cell_is_a_formula(rows: list[list[str]]) -> None:
    for k, row in enumerate(rows):
        for cell in row:
            if cell[:1] and cell[0] in TRIGGERS:
                assert _is_number(cell) and k > 0, (k, cell)  # a negative number, not a header


def _hostile_pack(src: Path, dst: Path) -> Path:
    """The minipack with zones named like formulas and a constraint class named like one."""
    shutil.copytree(src, dst)
    gpkg = dst / "layers" / "mini.gpkg"
    zones = gpd.read_file(gpkg, layer="zones")
    zones["名称"] = NAMES
    zones["主导产业"] = ["+86 0777", "\t=1"]
    zones.to_file(gpkg, layer="zones", driver="GPKG")
    lines = gpd.read_file(gpkg, layer="control_lines")
    lines["类别"] = lines["类别"].replace(CLASS_OLD, CLASS_NEW)
    lines.to_file(gpkg, layer="control_lines", driver="GPKG")
    for toml in (dst / "layers" / "catalog.toml", dst / "styles" / "mini.toml"):
        toml.write_text(toml.read_text("utf-8").replace(CLASS_OLD, CLASS_NEW), "utf-8")
    return dst


@given(st.text())
@example("")
@example("'=1+1")
@example("\r\n=1")
def test_formula_safe_output_never_starts_a_formula(text: str) -> None:
    out = formula_safe(text)
    assert not out or out[0] not in TRIGGERS
    if text[:1] and text[0] in TRIGGERS:
        assert out == "'" + text  # the text is kept whole behind the quote
    else:
        assert out == text  # text without a trigger is unchanged (an existing ' too)


def test_publish_zone_summary_cells_and_headers_are_text(minipack: Path, tmp_path: Path) -> None:
    pack = _hostile_pack(minipack, tmp_path / "pack")
    out = tmp_path / "out"
    args = ["publish", "--pack", str(pack), "--out", str(out), "--no-maps"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    path = out / "internal" / "zone_summary.csv"
    rows = _rows(path)
    _no_cell_is_a_formula(rows)
    header, body = rows[0], rows[1:]
    assert f"'{CLASS_NEW}(公顷)" in header
    table = [dict(zip(header, r, strict=True)) for r in body]
    assert [r["名称"] for r in table] == ["'" + n for n in NAMES]
    for r in table:  # the numbers are still numbers
        assert int(r["要素编号"]) > 0 and int(r["冲突图斑数"]) >= 0
        for name, cell in r.items():
            if name.endswith(("(m²)", "(公顷)", "(亩)")):
                assert float(cell) >= 0, (name, cell)
    assert float(table[0][f"'{CLASS_NEW}(公顷)"]) >= 0
    # a re-run writes the same bytes
    res = CliRunner().invoke(cli, [*args[:-3], "--out", str(tmp_path / "again"), "--no-maps"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "again" / "internal" / "zone_summary.csv").read_bytes() == path.read_bytes()


def test_analyze_parcels_summary_cells_are_text(minipack: Path, tmp_path: Path) -> None:
    pack = _hostile_pack(minipack, tmp_path / "pack")
    src = tmp_path / "parcels.gpkg"
    parcels = [
        shapely.box(X0 + 300, Y0 + 300, X0 + 400, Y0 + 400),
        shapely.box(X0 + 1300, Y0 + 300, X0 + 1400, Y0 + 400),
        shapely.box(X0 - 900, Y0 - 900, X0 - 800, Y0 - 800),  # in no zone
    ]
    attrs = {"name": ["=1+1", "@x", "-2"], "n": [-1, -2, 3]}
    gpd.GeoDataFrame(attrs, geometry=parcels, crs="EPSG:4524").to_file(src)
    out = tmp_path / "out"
    args = ["analyze", "--pack", str(pack), "--parcels", str(src), "--out", str(out)]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    rows = _rows(out / "internal" / "parcels_summary.csv")
    _no_cell_is_a_formula(rows)
    header, body = rows[0], rows[1:]
    table = [dict(zip(header, r, strict=True)) for r in body]
    assert [r["分区"] for r in table[:2]] == ["'" + n for n in NAMES]
    assert table[-1]["分区图层"] == "合计"
    for r in table:  # the numbers are still numbers
        assert int(r["地块数"]) >= 1 and int(r["冲突地块数"]) >= 0
        for name, cell in r.items():
            if name.endswith(("_公顷", "_亩")):
                assert _is_number(cell), (name, cell)


def test_fixed_decimals_are_rounded_and_follow_the_index() -> None:
    """``decimals``: the values rounded, a -0.0 of rounding written 0 (not ``-0.00``, which a
    reader takes for a negative area), each on its own row when the frame's index is not
    0..n-1 (a filtered or sorted table). Read back with ``csv``, expected cells by hand."""
    import pandas as pd

    from qzgeo.publish.tables import csv_bytes

    t = pd.DataFrame(
        {"名称": ["甲", "=乙", "丙"], "面积": [-0.001, 2.5, -0.004], "n": [3, 1, 2]},
        index=[30, 10, 20],
    )
    header, *rows = csv.reader(io.StringIO(csv_bytes(t, decimals={"面积": 2}).decode("utf-8-sig")))
    assert header == ["名称", "面积", "n"]
    assert rows == [["甲", "0.00", "3"], ["'=乙", "2.50", "1"], ["丙", "0.00", "2"]]
