"""The map of ``qzgeo check --format html`` as a GIS officer opens it offline: a metric scale
line only, and no attribution link out of the page (it showed Leaflet's default link to
leafletjs.com and a second scale line in feet and miles, unlike the published maps)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from packs import minipack_site

from qzgeo.cli.main import cli
from qzgeo.publish import browser

pytestmark = pytest.mark.browser

PROBE = """() => ({
  scales: Array.from(document.querySelectorAll(".leaflet-control-scale-line"))
    .map((e) => e.textContent),
  links: Array.from(document.querySelectorAll(".leaflet-control-attribution a"))
    .map((a) => a.href),
  sites: document.querySelectorAll(".leaflet-overlay-pane path").length,
})"""


def test_the_check_page_has_a_metric_scale_and_no_link_out(minipack: Path, tmp_path: Path) -> None:
    if not browser.chromium_available():  # pragma: no cover - depends on the machine
        pytest.skip(f"no Chromium at {browser.CHROMIUM}")
    site = minipack_site(tmp_path / "site.geojson")
    out = tmp_path / "out"
    res = CliRunner().invoke(
        cli, ["check", "--pack", str(minipack), str(site), "--format", "html", "--out", str(out)]
    )
    assert res.exit_code in (0, 1), res.output
    page = next(out.glob("*/check.html"))
    got = browser.render_html(page, evaluate=PROBE, ready="true", width=800, height=600)
    assert not got.page_errors and not got.requests_blocked, got
    assert got.value["sites"] >= 1  # the site is drawn: the probe saw the map
    scales = got.value["scales"]
    assert len(scales) == 1 and scales[0].strip().endswith(("m", "km")), scales
    assert got.value["links"] == [], got.value["links"]
