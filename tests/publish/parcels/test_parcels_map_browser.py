"""The parcels page in headless Chromium, network blocked: it draws; hostile data stays text."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import shapely
from _parcels_helpers import HOSTILE, ZONE_NAMES, Analysed

from qzgeo.publish.parcels_map import TOOLTIP_LABELS, parcels_sensitivity, publish_parcels_map

browser = pytest.importorskip("qzgeo.publish.browser")
pytestmark = pytest.mark.browser

if not browser.chromium_available():  # pragma: no cover - depends on the machine
    pytest.skip(f"no Chromium at {browser.CHROMIUM}", allow_module_level=True)

PROBE = """
async (arg) => {
  const inst = window.qzgeo.instances[0];
  const map = inst.map;
  const box = map.getContainer().getBoundingClientRect();
  const canvas = document.querySelector("canvas.qzgeo-biglayer");
  const img = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < img.length; i += 4) { if (img[i]) { painted++; } }
  const hover = ([lat, lon]) => {
    const p = map.latLngToContainerPoint([lat, lon]);
    map.getContainer().dispatchEvent(new MouseEvent("mousemove", {
      clientX: box.left + p.x, clientY: box.top + p.y, bubbles: true, cancelable: true}));
    const tip = document.querySelector(".qzgeo-biglayer-tooltip");
    return {
      shown: tip.style.display !== "none",
      heads: [...tip.querySelectorAll("th")].map(e => e.textContent),
      cells: [...tip.querySelectorAll("td")].map(e => e.textContent),
      markup: tip.querySelectorAll("img,script").length,
    };
  };
  const texts = (s) => Array.from(document.querySelectorAll(s)).map((e) => e.textContent);
  // the corners and edge midpoints of the data's extent, and any panel drawn over one
  const [[s, w], [n, e]] = inst.cfg.bounds;
  const rects = [...document.querySelectorAll(".leaflet-control, .qz-title")]
    .map((el) => [el.className, el.getBoundingClientRect()]).filter(([, r]) => r.width);
  const covered = [];
  for (const [lat, lon] of [[s, w], [s, e], [n, w], [n, e], [(s + n) / 2, w], [(s + n) / 2, e],
                            [s, (w + e) / 2], [n, (w + e) / 2]]) {
    const p = map.latLngToContainerPoint([lat, lon]);
    const x = box.left + p.x, y = box.top + p.y;
    const inside = x >= box.left && x <= box.right && y >= box.top && y <= box.bottom;
    const under = rects.filter(
      ([, r]) => x >= r.left && x <= r.right && y >= r.top && y <= r.bottom);
    if (!inside || under.length) { covered.push([lat, lon, inside, under.map(([c]) => c)]); }
  }
  return {
    painted, total: canvas.width * canvas.height, covered,
    hovers: arg.points.map(hover),
    title: document.title,
    mapTitle: texts(".qz-title-zh"),
    legendRows: texts(".qz-legend-row"),
    labels: texts(".qz-label"),
    notice: texts(".qz-notice-head"),
    scale: !!document.querySelector(".leaflet-control-scale"),
    tools: texts(".qz-tool-btn"),
    pwned: window.__pwned === undefined ? null : window.__pwned,
    injectedImgs: document.querySelectorAll('img[src="x"]').length,
    ready: window.__qzgeo_ready,
  };
}
"""


@pytest.fixture(scope="module")
def rendered(analyzed: Analysed, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("browser")
    html = publish_parcels_map(
        analyzed.result,
        analyzed.pack,
        out / "parcels.html",
        sensitivity=parcels_sensitivity(analyzed.pack),
        layers=analyzed.loaded.layers,
    )
    res = analyzed.result
    # Hover over a point deep inside two hostile parcels (one per zone if possible).
    picks = [0, 1, 2, 3]
    # results keep the parcels' CRS; Leaflet wants lon/lat
    geoms = np.asarray(res.geometry.to_crs("EPSG:4490").values[picks], dtype=object)
    inner = shapely.point_on_surface(shapely.buffer(geoms, -2e-5))
    points = [[float(p.y), float(p.x)] for p in inner]
    shot = out / "parcels.png"
    result = browser.render_html(
        html,
        evaluate=f"({PROBE})({{points: {points!r}}})",
        screenshot=shot,
    )
    return {"result": result, "picks": picks, "shot": shot, "html": html}


def test_page_renders_offline_without_errors(rendered: dict[str, Any]) -> None:
    r = rendered["result"]
    assert r.console_errors == []
    assert r.page_errors == []
    assert r.requests_blocked == []
    v = r.value
    assert v["ready"] is True
    assert v["scale"] is True
    assert v["tools"] == ["全屏", "测量"]
    assert v["title"] == v["mapTitle"][0]
    assert v["title"].endswith(" · 地块分析结果（内部）")
    assert any("示意" in n for n in v["notice"])
    assert rendered["shot"].stat().st_size > 10_000


#: For each window size: the map resized, then 全图 (the whole map) pressed; the corners and
#: edge midpoints of the data's extent that end up outside the map or under a panel.
HOME_SWEEP = """
() => {
  const inst = window.qzgeo.instances[0];
  const map = inst.map;
  const c = map.getContainer();
  const home = c.querySelector(".qz-home");
  const [[s, w], [n, e]] = inst.cfg.bounds;
  const out = [];
  for (let width = 640; width <= 1600; width += 40) {
    for (const height of [480, 640, 800, 1100]) {
      c.style.width = width + "px";
      c.style.height = height + "px";
      map.invalidateSize({ animate: false });
      home.click();
      const box = c.getBoundingClientRect();
      const rects = [...c.querySelectorAll(".leaflet-control, .qz-title")]
        .map((el) => [el.className, el.getBoundingClientRect()]).filter(([, r]) => r.width);
      for (const [lat, lon] of [[s, w], [s, e], [n, w], [n, e], [(s + n) / 2, w],
                                [(s + n) / 2, e], [s, (w + e) / 2], [n, (w + e) / 2]]) {
        const p = map.latLngToContainerPoint([lat, lon]);
        const x = box.left + p.x, y = box.top + p.y;
        const inside = x >= box.left && x <= box.right && y >= box.top && y <= box.bottom;
        const under = rects.filter(
          ([, r]) => x >= r.left && x <= r.right && y >= r.top && y <= r.bottom);
        if (!inside || under.length) {
          out.push([width, height, lat, lon, inside, under.map(([k]) => k)]);
        }
      }
    }
  }
  return out;
}
"""


def test_no_panel_covers_the_edges_of_the_data(rendered: dict[str, Any]) -> None:
    """The first view frames every parcel clear of the layer list, the legend, the title and
    the notice (with 10 px of padding alone, parcels at the east edge sat under the legend)."""
    assert rendered["result"].value["covered"] == []


def test_the_whole_map_button_frames_the_data_clear_of_the_panels(
    rendered: dict[str, Any],
) -> None:
    """全图 in windows of many shapes, wherever the extent fills the width or the height."""
    result = browser.render_html(rendered["html"], evaluate=HOME_SWEEP)
    assert result.value == []


def test_canvas_has_drawn_parcels(rendered: dict[str, Any]) -> None:
    v = rendered["result"].value
    assert v["painted"] > 0.1 * v["total"]
    assert any(row.startswith("冲突") for row in v["legendRows"])
    assert any(row.startswith("可用") for row in v["legendRows"])


def test_hostile_values_are_shown_as_text(rendered: dict[str, Any], analyzed: Analysed) -> None:
    v = rendered["result"].value
    assert v["pwned"] is None
    assert v["injectedImgs"] == 0
    assert set(v["labels"]) == set(ZONE_NAMES)  # zone labels, as text
    res = analyzed.result
    for k, hover in zip(rendered["picks"], v["hovers"], strict=True):
        assert hover["shown"]
        assert hover["markup"] == 0
        assert hover["heads"] == list(TOOLTIP_LABELS.values())
        assert hover["cells"][0] == str(res.index[k])
        assert hover["cells"][0].startswith(HOSTILE[k % len(HOSTILE)])
        assert hover["cells"][1] == res["zone_name"].iloc[k]
