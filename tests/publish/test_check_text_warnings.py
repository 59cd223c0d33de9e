"""`qzgeo check`'s text report says a warning every site has once, not in every block.

A pack-level warning (the minipack's lon/lat red lines with 2 km edges) travels with every
site's result: the JSON keeps it in each, the text printed it in each of hundreds of blocks.
A site's own warning stays in its block.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import shapely
from packs import all_output, run_cli

CLEAR = shapely.box(108.63, 21.69, 108.631, 21.691)
LONG = shapely.Polygon([(108.60, 21.688), (108.64, 21.688), (108.64, 21.6885), (108.60, 21.6885)])


def _sites(tmp_path: Path) -> Path:
    path = tmp_path / "sites.gpkg"
    gpd.GeoDataFrame({"名称": ["甲", "乙"]}, geometry=[CLEAR, LONG], crs=4490).to_file(path)
    return path


def test_a_warning_every_site_has_is_printed_once(minipack: Path, tmp_path: Path) -> None:
    sites = _sites(tmp_path)
    as_json = run_cli("check", sites, "--pack", minipack, "--format", "json")
    assert as_json.exit_code in (0, 1), all_output(as_json)
    first, second = (set(d["warnings"]) for d in json.loads(as_json.stdout))
    common, own = first & second, second - first
    assert common and own, (first, second)  # the pack's, and 乙's 4 km edges
    text = run_cli("check", sites, "--pack", minipack)
    assert text.exit_code in (0, 1), all_output(text)
    out = text.stdout
    for w in common:
        assert out.count(w) == 1, out
        assert f"警告 Warning（每个地块 every site）: {w}" in out
        assert out.index(w) > out.index("共 2 个地块"), out  # after the total line
    for w in own:
        block = out.split("== 地块 Site: 乙")[1].split("共 2 个地块")[0]
        assert f"警告 Warning: {w}" in block, out


def test_the_page_shows_it_once_too(minipack: Path, tmp_path: Path) -> None:
    import html

    sites = _sites(tmp_path)
    as_json = run_cli("check", sites, "--pack", minipack, "--format", "json")
    first, second = (set(d["warnings"]) for d in json.loads(as_json.stdout))
    out = tmp_path / "out"
    r = run_cli("check", sites, "--pack", minipack, "--format", "html", "--out", out)
    assert r.exit_code in (0, 1), all_output(r)
    page = (out / "internal" / "check.html").read_text("utf-8")
    for w in first & second:
        assert page.count(html.escape(w)) == 1, w
    for w in second - first:
        assert page.count(html.escape(w)) == 1, w  # in 乙's row
