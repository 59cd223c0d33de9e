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
    out = tmp_path / "out"
    res = CliRunner().invoke(
        cli, ["check", str(sites), "--pack", str(MINIPACK), "--format", "html", "--out", str(out)]
    )
    assert res.exit_code in (0, 1), res.output
    (page,) = out.glob("*/check.html")

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
