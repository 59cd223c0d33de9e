"""Issue 9 (7, 8): no tracebacks; validate finds what publish finds.

Bad option values and hostile packs are exit 2 with the file, the value and the fix: a CRS
that does not exist, publish --png without Playwright, a DBF field name cut inside a
multibyte character, mistyped catalog values. ``validate`` reads data through the same readers
and runs the same CRS checks as loading.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest
from _cli import MINIPACK, assert_exit2, qzgeo
from real_shaped import (
    JzdParcel,
    add_layer,
    edit_catalog,
    geojson_polygons,
    gk_rect,
    jzd_text,
    shapefile_cut_field_name,
    to_lonlat,
    write_text,
)

BAD_CRS = "EPSG:99999999"


def site(tmp: Path) -> Path:
    return geojson_polygons(tmp / "site.geojson", [[to_lonlat(gk_rect(400, 100, 900, 600))]])


def no_zone_jzd(tmp: Path) -> Path:
    p = JzdParcel(rings=[gk_rect(400, 100, 900, 600)])
    text = jzd_text([p], zone=None).replace(",36", ",")  # unprefixed eastings, no 带号
    return write_text(tmp / "nozone.txt", text, "gbk")


@pytest.mark.parametrize("cmd", ["check", "analyze", "convert"])
def test_bad_crs_value(tmp_path: Path, cmd: str) -> None:
    src = no_zone_jzd(tmp_path)
    args = {
        "check": ["check", src, "--pack", MINIPACK],
        "analyze": ["analyze", "--parcels", src, "--pack", MINIPACK, "--out", tmp_path / "o"],
        "convert": ["convert", src, tmp_path / "o.gpkg"],
    }[cmd]
    res = qzgeo(*args, "--crs", BAD_CRS)
    assert_exit2(res, BAD_CRS, "--crs")


def test_publish_png_without_playwright(tmp_path: Path) -> None:
    """A real process whose Python has no Playwright (import blocked)."""
    code = (
        "import sys; sys.modules['playwright'] = None; sys.modules['playwright.sync_api'] = None\n"
        "from qzgeo.cli.main import cli; cli()"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "publish",
            "--pack",
            str(MINIPACK),
            "--out",
            str(tmp_path / "o"),
            "--png",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert "Traceback" not in out
    assert "--png" in out and "playwright" in out.lower(), out


def test_dbf_field_name_cut_inside_a_character_check(tmp_path: Path) -> None:
    shp = shapefile_cut_field_name(tmp_path / "cut.shp")
    res = qzgeo("check", shp, "--pack", MINIPACK, "--format", "json")
    crashed = res.exception is not None and not isinstance(res.exception, SystemExit)
    assert not crashed, repr(res.exception)
    assert res.exit_code in (0, 1, 2) and "Traceback" not in res.output
    if res.exit_code == 2:
        assert "cut.shp" in res.output


def test_dbf_field_name_cut_inside_a_character_validate(tmp_path: Path, minipack: Path) -> None:
    shp = shapefile_cut_field_name(tmp_path / "cut.shp")
    entry = """
[[layers]]
id = "cut"
title = "截断字段"
role = "base"
path = "cut.shp"
sensitivity = "internal"
source = "hand-made"
licence = "CC0-1.0"
precision = "schematic"
"""
    add_layer(
        minipack, entry, [shp.with_suffix(s) for s in (".shp", ".shx", ".dbf", ".prj", ".cpg")]
    )
    res = qzgeo("validate", "--pack", minipack)
    crashed = res.exception is not None and not isinstance(res.exception, SystemExit)
    assert not crashed, repr(res.exception)
    assert "Traceback" not in res.output
    if res.exit_code == 2:
        assert "cut.shp" in res.output


CATALOG_CASES = {
    "title_en_list": ({'title_en = "Zones"': 'title_en = ["Zones", "区"]'}, "", "title_en"),
    "tianditu_key_int": ({}, "tianditu_key = 123", "tianditu_key"),
    "params_string": ({}, "", "min_patch_m2"),
    "planar_crs_unknown": ({}, 'planar_crs = "EPSG:99999999"', "planar_crs"),
    "planar_crs_not_gk": ({}, 'planar_crs = "EPSG:4326"', "planar_crs"),
}


@pytest.mark.parametrize("cmd", ["validate", "publish", "check"])
@pytest.mark.parametrize("case", list(CATALOG_CASES))
def test_mistyped_catalog(tmp_path: Path, minipack: Path, case: str, cmd: str) -> None:
    replace, pack_lines, needle = CATALOG_CASES[case]
    edit_catalog(minipack, pack_lines=pack_lines, replace=replace)
    if case == "params_string":
        cat = minipack / "layers" / "catalog.toml"
        cat.write_text(
            cat.read_text(encoding="utf-8") + '\n[params]\nmin_patch_m2 = "1.0 m2"\n',
            encoding="utf-8",
        )
    args = {
        "validate": ["validate"],
        "publish": ["publish", "--out", str(tmp_path / "o"), "--no-maps"],
        "check": ["check", str(site(tmp_path))],
    }[cmd]
    res = qzgeo(*args, "--pack", minipack)
    assert_exit2(res, "catalog.toml", needle)


# --- validate reads data like loading does -------------------------------------------------


def test_validate_catches_the_wrong_zone_variant(minipack: Path) -> None:
    """Zone-prefixed eastings labelled EPSG:4545 (the unprefixed variant): publish refuses."""
    gpkg = minipack / "layers" / "mini.gpkg"
    zones = (
        gpd.read_file(gpkg, layer="zones")
        .to_crs("EPSG:4524")
        .set_crs("EPSG:4545", allow_override=True)
    )
    zones.to_file(minipack / "layers" / "wrongzone.gpkg", layer="zones", engine="pyogrio")
    edit_catalog(
        minipack,
        replace={'path = "mini.gpkg"\nlayer = "zones"': 'path = "wrongzone.gpkg"\nlayer = "zones"'},
    )
    pub = qzgeo("publish", "--pack", minipack, "--out", minipack / "o", "--no-maps")
    assert_exit2(pub, "EPSG:4524")
    val = qzgeo("validate", "--pack", minipack)
    assert_exit2(val, "EPSG:4524")


def _jzd_layer(minipack: Path, tmp: Path, text_ok: bool) -> None:
    p = JzdParcel(rings=[gk_rect(400, 100, 900, 600)])
    text = jzd_text([p]) if text_ok else jzd_text([p], zone=None).replace(",36", ",")
    jzd = write_text(tmp / "plots.txt", text, "gbk")
    entry = """
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
    add_layer(minipack, entry, [jzd])


def test_validate_accepts_a_jzd_layer_that_loading_accepts(tmp_path: Path, minipack: Path) -> None:
    _jzd_layer(minipack, tmp_path, text_ok=True)
    pub = qzgeo("publish", "--pack", minipack, "--out", tmp_path / "o", "--no-maps")
    assert pub.exit_code == 0, pub.output
    val = qzgeo("validate", "--pack", minipack)
    assert val.exit_code == 0, val.output


def test_validate_refuses_a_jzd_layer_that_loading_refuses(tmp_path: Path, minipack: Path) -> None:
    _jzd_layer(minipack, tmp_path, text_ok=False)
    pub = qzgeo("publish", "--pack", minipack, "--out", tmp_path / "o", "--no-maps")
    assert_exit2(pub, "plots.txt")
    val = qzgeo("validate", "--pack", minipack)
    assert_exit2(val, "plots.txt")
