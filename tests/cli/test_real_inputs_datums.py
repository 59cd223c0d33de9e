"""Issue 9 (4): old datums never move silently.

Xian 1980 and Beijing 1954 data (a 界址点 file with 坐标系=80国家大地坐标系, shapefiles with ESRI
Xian_1980 / Beijing_1954 .prj) are either refused with exit 2 naming the datum and the fix, or
converted only when the user says so (``--assume-datum-shift-negligible``), and the result says
which was done.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from _cli import MINIPACK, assert_exit2, check_json, qzgeo, warnings_of
from real_shaped import (
    ESRI_BEIJING54_CM108,
    ESRI_XIAN80_CM108,
    JzdParcel,
    jzd_text,
    rect,
    shapefile_with_prj,
    write_text,
)

FIX = "--assume-datum-shift-negligible"
XIAN = re.compile(r"Xian|西安|1980|80国家")
BEIJING = re.compile(r"Beijing|北京|1954|54")


def xian_jzd(tmp: Path) -> Path:
    # Xian 1980 3-degree GK zone 36 (prefixed) coordinates near 钦州港.
    p = JzdParcel(rings=[rect(36_564_400, 2_399_100, 36_564_900, 2_399_600)], name="西安80地块")
    return write_text(tmp / "xian80.txt", jzd_text([p], coord_sys="80国家大地坐标系"), "gbk")


def old_shp(tmp: Path, which: str) -> Path:
    prj, epsg = {
        "xian": (ESRI_XIAN80_CM108, "EPSG:2381"),
        "beijing": (ESRI_BEIJING54_CM108, "EPSG:2433"),
    }[which]
    ring = rect(564_400, 2_399_100, 564_900, 2_399_600)
    return shapefile_with_prj(tmp / f"{which}.shp", [ring], prj, crs=epsg)


def test_jzd_xian80_refused(tmp_path: Path) -> None:
    res = qzgeo("check", xian_jzd(tmp_path), "--pack", MINIPACK, "--format", "json")
    assert_exit2(res, "xian80.txt", FIX)
    assert XIAN.search(res.output)


@pytest.mark.parametrize("which", ["xian", "beijing"])
def test_shapefile_old_datum_refused(tmp_path: Path, which: str) -> None:
    res = qzgeo("check", old_shp(tmp_path, which), "--pack", MINIPACK, "--format", "json")
    assert_exit2(res, f"{which}.shp", FIX)
    assert (XIAN if which == "xian" else BEIJING).search(res.output)


@pytest.mark.parametrize("which", ["xian", "beijing"])
def test_convert_old_datum_refused(tmp_path: Path, which: str) -> None:
    res = qzgeo("convert", old_shp(tmp_path, which), tmp_path / "out.gpkg", "--to-crs", "EPSG:4490")
    assert_exit2(res, f"{which}.shp", FIX)
    assert not (tmp_path / "out.gpkg").exists()


def test_jzd_xian80_with_the_assumption_says_so(tmp_path: Path) -> None:
    _, sites = check_json(xian_jzd(tmp_path), "--pack", MINIPACK, FIX)
    text = warnings_of(sites)
    assert XIAN.search(text) and re.search(r"datum|基准", text, re.IGNORECASE), text


def test_shapefile_xian80_with_the_assumption_says_so(tmp_path: Path) -> None:
    _, sites = check_json(old_shp(tmp_path, "xian"), "--pack", MINIPACK, FIX)
    assert XIAN.search(warnings_of(sites)), sites[0]["warnings"]


def test_cgcs2000_needs_no_datum_notice(tmp_path: Path) -> None:
    """Control: CGCS2000 files carry no datum notice and need no option."""
    p = JzdParcel(rings=[rect(36_564_400, 2_399_100, 36_564_900, 2_399_600)])
    path = write_text(tmp_path / "cgcs.txt", jzd_text([p]), "gbk")
    _, sites = check_json(path, "--pack", MINIPACK)
    assert not XIAN.search(warnings_of(sites))
