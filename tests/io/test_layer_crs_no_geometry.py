"""A layer without a CRS whose features all lack a geometry: the CRS hint crashed.

Real shape: a CSV of WKT from a spreadsheet of a European locale (decimal commas, ``;`` as the
separator): GDAL parses no cell, every feature has a null geometry, and the file has no CRS.
The hint about what the coordinates look like took the bounds of no geometry (NaN) and
crashed with ``ValueError: cannot convert float NaN to integer``: a traceback and exit 1,
which ``qzgeo check`` means as "a site conflicts".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli._cli import assert_exit2, qzgeo

CSV = (
    "名称;WKT\n"
    '甲;"POLYGON((108,62 21,96, 108,622 21,96, 108,622 21,962, 108,62 21,96))"\n'
    '乙;"POLYGON((108,63 21,97, 108,632 21,97, 108,632 21,972, 108,63 21,97))"\n'
)


@pytest.fixture
def comma_csv(tmp_path: Path) -> Path:
    src = tmp_path / "选址 坐标.csv"
    src.write_text(CSV, encoding="utf-8")
    return src


def test_check_says_no_crs_instead_of_crashing(comma_csv: Path) -> None:
    res = qzgeo("check", comma_csv, "--format", "json")
    assert_exit2(res, "选址 坐标.csv", "has no CRS", "--crs")
    assert "no feature has a geometry" in res.output, res.output


def test_analyze_says_no_crs_instead_of_crashing(comma_csv: Path, tmp_path: Path) -> None:
    res = qzgeo("analyze", "--parcels", comma_csv, "--out", tmp_path / "out")
    assert_exit2(res, "选址 坐标.csv", "has no CRS", "--crs")


def test_with_crs_the_unparsed_cells_are_said_once(
    comma_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given --crs, the file has no polygon: the message names each unparsed cell once (given
    by its bare name, as users type it, the notes of the read were listed twice)."""
    monkeypatch.chdir(comma_csv.parent)
    res = qzgeo("check", comma_csv.name, "--crs", "EPSG:4490", "--format", "json")
    assert_exit2(res, "has no polygon features", "its WKT does not parse")
    assert res.output.count("feature 1: its WKT does not parse") == 1, res.output
