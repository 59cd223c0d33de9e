"""Issue 9 (2): every reader notice travels with the result, not only on stderr.

A 界址点 file declaring 9 points with 4 rows and an unclosed ring, a declared-area mismatch, an
encoding guess: `qzgeo check --format json` must list them in the site's ``warnings``; the text
and HTML reports and ``report.json`` (analyze, publish) must carry them too.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from _cli import MINIPACK, check_json, qzgeo, warnings_of
from real_shaped import JzdParcel, add_layer, gk_rect, jzd_text, write_text

COUNT = re.compile(r"9 points|点数.*9|9.*点数")
CLOSED = re.compile(r"clos|闭合")
AREA = re.compile(r"declares 45 公顷|申报面积.*45|45 公顷")
ENCODING = re.compile(r"GBK|GB18030|encoding|编码", re.IGNORECASE)


def sloppy_parcel_file(tmp: Path, name: str = "sloppy.txt") -> Path:
    """9 points declared, 4 rows, ring not closed, 45 公顷 declared for a 25 公顷 square."""
    p = JzdParcel(rings=[gk_rect(400, 100, 900, 600)], points="9", declared="45", close_rings=False)
    return write_text(tmp / name, jzd_text([p]), "utf-8")


def test_check_json_lists_reader_warnings(tmp_path: Path) -> None:
    _, sites = check_json(sloppy_parcel_file(tmp_path), "--pack", MINIPACK)
    text = warnings_of(sites)
    assert COUNT.search(text), sites[0]["warnings"]
    assert CLOSED.search(text), sites[0]["warnings"]
    assert AREA.search(text), sites[0]["warnings"]


def test_check_json_lists_the_encoding_guess(tmp_path: Path) -> None:
    p = JzdParcel(rings=[gk_rect(400, 100, 900, 600)], name="钦州地块")
    path = write_text(tmp_path / "gbk.txt", jzd_text([p]), "gbk")
    _, sites = check_json(path, "--pack", MINIPACK)
    assert ENCODING.search(warnings_of(sites)), sites[0]["warnings"]


def test_check_json_lists_the_shapefile_encoding_guess(tmp_path: Path) -> None:
    import geopandas as gpd
    import shapely

    gdf = gpd.GeoDataFrame(
        {"名称": ["钦州港地块"]},
        geometry=[shapely.Polygon(gk_rect(400, 100, 900, 600))],
        crs="EPSG:4524",
    )
    path = tmp_path / "gbk.shp"
    gdf.to_file(path, engine="pyogrio", encoding="GBK")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    _, sites = check_json(path, "--pack", MINIPACK)
    assert sites[0]["site"] == "钦州港地块"
    assert ENCODING.search(warnings_of(sites)), sites[0]["warnings"]


def test_text_report_lists_reader_warnings(tmp_path: Path) -> None:
    res = qzgeo("check", sloppy_parcel_file(tmp_path), "--pack", MINIPACK)
    assert res.exit_code in (0, 1), res.output
    assert COUNT.search(res.stdout) and CLOSED.search(res.stdout), res.stdout


def test_html_report_lists_reader_warnings(tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = qzgeo(
        "check", sloppy_parcel_file(tmp_path), "--pack", MINIPACK, "--format", "html", "--out", out
    )
    assert res.exit_code in (0, 1), res.output
    html = (out / "internal" / "check.html").read_text(encoding="utf-8")
    assert COUNT.search(html) and CLOSED.search(html)


def test_analyze_report_json_lists_reader_warnings(tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = qzgeo(
        "analyze", "--parcels", sloppy_parcel_file(tmp_path), "--pack", MINIPACK, "--out", out
    )
    assert res.exit_code == 0, res.output
    report = json.dumps(
        json.loads((out / "internal" / "parcels_report.json").read_text(encoding="utf-8")),
        ensure_ascii=False,
    )
    assert COUNT.search(report) and CLOSED.search(report), report[:2000]


def test_publish_report_json_lists_reader_warnings(tmp_path: Path, minipack: Path) -> None:
    jzd = sloppy_parcel_file(tmp_path, "plots.txt")
    add_layer(minipack, PLOTS_ENTRY, [jzd])
    out = tmp_path / "out"
    res = qzgeo("publish", "--pack", minipack, "--out", out, "--no-maps")
    assert res.exit_code == 0, res.output
    report = json.dumps(
        json.loads((out / "internal" / "report.json").read_text(encoding="utf-8")),
        ensure_ascii=False,
    )
    assert COUNT.search(report) and CLOSED.search(report), report[:2000]


PLOTS_ENTRY = """
[[layers]]
id = "plots"
title = "报批地块"
role = "base"
path = "plots.txt"
sensitivity = "internal"
source = "hand-made 界址点 file"
licence = "CC0-1.0"
precision = "survey"
"""


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_warning_not_only_on_stderr(tmp_path: Path, fmt: str) -> None:
    """Whatever reaches stderr about the site's file also reaches the report on stdout."""
    res = qzgeo("check", sloppy_parcel_file(tmp_path), "--pack", MINIPACK, "--format", fmt)
    for line in res.stderr.splitlines():
        if line.startswith("warning:") and "sloppy.txt" in line:
            core = line.split("sloppy.txt line", 1)[-1][:30]
            assert core in res.stdout, (core, res.stdout)
