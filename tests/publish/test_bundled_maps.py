"""Every map of the bundled Qinzhou pack renders offline in headless Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest

from qzgeo.pipeline import PublishSummary, run_publish
from qzgeo.publish import browser

pytestmark = pytest.mark.browser

PROBE = """
() => {
  const inst = window.qzgeo.instances[0];
  const texts = (s) => Array.from(document.querySelectorAll(s)).map((e) => e.textContent);
  return {
    container: !!document.querySelector(".leaflet-container"),
    ready: inst.ready === true,
    counts: inst.counts,
    legendTitles: texts(".qz-legend-title"),
    scale: !!document.querySelector(".leaflet-control-scale"),
    notice: (document.querySelector(".qz-notice") || {}).textContent || "",
  };
}
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> PublishSummary:
    return run_publish(None, tmp_path_factory.mktemp("qinzhou"))


def _expected_counts(built: PublishSummary, map_id: str) -> dict[str, int]:
    spec = built.pack.maps[map_id]
    frames = dict(built.loaded.layers)
    frames["available_land"] = built.analysis.available_land
    frames["conflicts"] = built.analysis.conflicts
    return {
        lid: int((~frames[lid].geometry.is_empty & frames[lid].geometry.notna()).sum())
        for lid in (*spec.layers, *spec.analysis)
    }


@pytest.mark.parametrize("map_id", ["overview", "port", "hitech", "canal", "conflicts"])
def test_bundled_map_renders_offline(built: PublishSummary, map_id: str) -> None:
    page = built.maps[map_id]
    result = browser.render_html(page, evaluate=PROBE, block_network=True)
    assert result.page_errors == []
    # The only requests a bundled map makes are basemap tiles, and they are blocked here.
    assert all("tile" in u or "openstreetmap" in u for u in result.requests_blocked)
    assert [e for e in result.console_errors if "Failed to load resource" not in e] == []
    v = result.value
    assert v["container"] and v["ready"] and v["scale"]
    assert v["counts"] == _expected_counts(built, map_id)
    assert v["legendTitles"], "the legend is missing"
    assert "示意" in v["notice"]


def test_public_maps_carry_no_internal_data(built: PublishSummary) -> None:
    internal_values = set(built.loaded.layers["control_lines"]["名称"].dropna())
    assert len(internal_values) > 5
    for map_id, spec in built.pack.maps.items():
        if spec.sensitivity != "public":
            continue
        html = Path(built.maps[map_id]).read_text(encoding="utf-8")
        assert "control_lines" not in html
        leaked = [v for v in internal_values if v and v in html]
        assert leaked == [], f"{map_id}: {leaked}"


@pytest.mark.parametrize(("width", "folded"), [(390, True), (1280, False)])
def test_panels_fold_on_phones(built: PublishSummary, width: int, folded: bool) -> None:
    probe = """
    () => Array.from(
      document.querySelectorAll(".qz-legend .qz-panel-body, .qz-layers .qz-panel-body")
    ).map((b) => getComputedStyle(b).display === "none")
    """
    result = browser.render_html(built.maps["port"], evaluate=probe, width=width)
    assert result.value == [folded, folded]


PANELS = """
() => [...document.querySelectorAll(".leaflet-control")]
  .map((el) => { const r = el.getBoundingClientRect();
                 return [el.className, r.left, r.top, r.right, r.bottom]; })
  .filter(([, l, t, r, b]) => r > l && b > t)
"""


@pytest.mark.parametrize("size", [(1280, 900), (1024, 700), (1600, 1000), (1366, 768)])
@pytest.mark.parametrize("map_id", ["overview", "conflicts"])
def test_no_two_panels_overlap(built: PublishSummary, map_id: str, size: tuple[int, int]) -> None:
    """The layer list (top right) and the legend (bottom right), both open, each scroll within
    their half of the map: at 1280 × 900 the legend hid the layer list's 底图 rows."""
    rects = browser.render_html(
        built.maps[map_id], evaluate=PANELS, width=size[0], height=size[1]
    ).value
    clashes = [
        (a[0], b[0])
        for i, a in enumerate(rects)
        for b in rects[i + 1 :]
        if a[1] < b[3] and b[1] < a[3] and a[2] < b[4] and b[2] < a[4]
    ]
    assert clashes == []
