"""The 选址 report's table on a phone: a site named in Chinese stays on one line."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from _phone_helpers import visit
from click.testing import CliRunner

from qzgeo.cli.main import cli
from qzgeo.publish import browser

pytest.importorskip("playwright")
pytestmark = pytest.mark.browser

if not browser.chromium_available():  # pragma: no cover - depends on the machine
    pytest.skip(f"no Chromium at {browser.CHROMIUM}", allow_module_level=True)

MINIPACK = Path(__file__).resolve().parents[1] / "data" / "minipack"
X0, Y0 = 36_564_000.0, 2_399_000.0  # inside the minipack's zones (EPSG:4524)


def _check_page(sites: Path, out: Path) -> Path:
    """check.html of ``sites`` on the minipack, written by the CLI."""
    res = CliRunner().invoke(
        cli, ["check", str(sites), "--pack", str(MINIPACK), "--format", "html", "--out", str(out)]
    )
    assert res.exit_code in (0, 1), res.output
    (page,) = out.glob("*/check.html")
    return page


def test_site_names_are_not_squeezed_to_one_character_a_line(tmp_path: Path) -> None:
    """On a 390 px phone the table shrank every column to fit the screen instead of scrolling
    in its box: CJK text may break between any two characters, so 老城地块甲 stood one character
    a line, and each row was a screen high (seen on a 喀什 pack's check.html)."""
    sites = tmp_path / "sites.gpkg"
    names = ["老城地块甲", "东郊地块乙"]
    boxes = [
        shapely.box(X0 + 100 + 400 * i, Y0 + 100, X0 + 400 + 400 * i, Y0 + 400) for i in (0, 1)
    ]
    gpd.GeoDataFrame({"名称": names}, geometry=boxes, crs="EPSG:4524").to_file(sites)
    page = _check_page(sites, tmp_path / "out")

    def probe(p):
        # lines of each name: the rectangles of its text (the row is as high as its
        # tallest cell, whatever the name does)
        return p.evaluate(
            """() => Array.from(document.querySelectorAll(".qz-check td:first-child")).map(
              (e) => { const r = document.createRange(); r.selectNodeContents(e);
                const tops = new Set(Array.from(r.getClientRects()).map((q) => Math.round(q.top)));
                return {text: e.textContent, lines: tops.size}; })"""
        )

    cells = visit(page, probe, wait_ready=False).value
    assert [c["text"] for c in cells] == names
    assert all(c["lines"] == 1 for c in cells), cells


def test_long_warnings_fold_so_a_row_fits_the_phone(tmp_path: Path) -> None:
    """A lon/lat site with 1.5 km edges carries a ~700-character long-edge warning: in the
    16em column its row was taller than the phone's screen (北海地块 on the bundled pack, seen
    at 390 px). Now the notes fold into a <details> and open on a tap."""
    gk = shapely.box(X0 + 200, Y0 + 200, X0 + 1700, Y0 + 1700)
    sites = tmp_path / "sites.geojson"
    site = gpd.GeoDataFrame({"名称": ["长边地块"]}, geometry=[gk], crs="EPSG:4524")
    site.to_crs("EPSG:4490").to_file(sites)  # four vertices: edges of 1.5 km in lon/lat
    page = _check_page(sites, tmp_path / "out")

    def probe(p):
        before = p.locator(".qz-check tr").nth(1).bounding_box()["height"]
        if not p.locator(".qz-check details").count():
            return before, "", ""
        shown = p.locator(".qz-check details").first.inner_text()
        p.locator(".qz-check summary").first.click()
        return before, shown, p.locator(".qz-check details").first.inner_text()

    before, shown, opened = visit(page, probe, wait_ready=False).value
    assert before < 300, before  # the screen is 844 px high
    assert "longer than 1 km" not in shown and "note" in shown
    assert "longer than 1 km" in opened
