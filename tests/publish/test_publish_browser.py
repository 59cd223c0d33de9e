"""Published pages in headless Chromium with the network blocked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely
from _publish_helpers import HOSTILE, SENS, X0, Y0, Built

import qzgeo.publish.maps
from qzgeo.geo.area import ellipsoidal_area
from qzgeo.publish.basemaps import TIANDITU_NOTE
from qzgeo.publish.maps import publish_maps

browser = pytest.importorskip("qzgeo.publish.browser")
pytestmark = pytest.mark.browser

if not browser.chromium_available():  # pragma: no cover - depends on the machine
    pytest.skip(f"no Chromium at {browser.CHROMIUM}", allow_module_level=True)

PROBE = """
async () => {
  const inst = window.qzgeo.instances[0];
  const q = (s) => document.querySelector(s);
  const texts = (s) => Array.from(document.querySelectorAll(s)).map((e) => e.textContent);
  const out = {
    container: !!q(".leaflet-container"),
    ready: inst.ready === true,
    paths: document.querySelectorAll("path.leaflet-interactive").length,
    counts: inst.counts,
    legendTitles: texts(".qz-legend-title"),
    legendRows: texts(".qz-legend-row"),
    groups: texts(".qz-layers legend"),
    layerRows: texts(".qz-layers .qz-row"),
    notice: q(".qz-notice") ? q(".qz-notice").textContent : null,
    scale: !!q(".leaflet-control-scale"),
    tools: texts(".qz-tool-btn"),
    labels: texts(".qz-label"),
  };
  // render every popup and hover tooltip, so that hostile values meet the DOM
  for (const id in inst.overlays) {
    const layer = inst.overlays[id].layer;
    if (layer && layer.eachLayer) {
      layer.eachLayer((f) => {
        f.openPopup();
        f.closePopup();
        if (f.getTooltip()) { f.openTooltip(); }
      });
    }
  }
  const input = q(".qz-search input");
  out.search = !!input;
  if (input) {
    input.value = "pwned";
    input.dispatchEvent(new Event("input"));
    out.hits = texts(".qz-search-hit");
    const zoom = inst.map.getZoom();
    q(".qz-search-hit").click();
    await new Promise((r) => setTimeout(r, 500));
    out.zoomedIn = inst.map.getZoom() > zoom;
    out.popup = q(".leaflet-popup-content") ? q(".leaflet-popup-content").textContent : null;
  }
  out.pwned = window.__pwned === undefined ? null : window.__pwned;
  out.injectedImgs = document.querySelectorAll('img[src="x"]').length;
  out.jsLinks = document.querySelectorAll('a[href^="javascript"]').length;
  out.scripts = document.querySelectorAll("script").length;
  return out;
}
"""


@pytest.fixture
def site(built: Built, tmp_path: Path) -> tuple[Built, dict[str, Path]]:
    res = publish_maps(
        built.pack, built.layers, built.analysis, tmp_path / "out", analysis_sensitivity=SENS
    )
    return built, res.maps


def test_offline_map_renders_without_network_or_errors(site) -> None:
    _, maps = site
    r = browser.render_html(maps["internal_map"], evaluate=PROBE)
    assert r.page_errors == []
    assert r.console_errors == []
    assert r.requests_blocked == []  # basemap "none": the page needs nothing from the web
    v = r.value
    assert v["container"] and v["ready"] and v["scale"] and v["search"]
    assert v["counts"] == {"zones": 7, "secret_lines": 1, "conflicts": 1}
    assert v["paths"] == 9
    assert v["legendTitles"] == ["规划分区", "内部控制线", "规划冲突"]
    assert "与永久基本农田冲突" in v["legendRows"]
    assert v["groups"] == ["规划分区", "控制线", "分析结果"]
    assert v["tools"] == ["全屏", "测量"]
    assert "示意" in v["notice"] and "数据来源" in v["notice"]


def test_hostile_values_never_execute(site) -> None:
    _, maps = site
    for name in ("internal_map", "public_map"):
        r = browser.render_html(maps[name], evaluate=PROBE)
        v = r.value
        assert r.page_errors == [], name
        assert v["pwned"] is None, name
        assert v["injectedImgs"] == 0 and v["jsLinks"] == 0
        # the permanent labels show the hostile names as plain text
        assert set(v["labels"]) == {"港区<b>一</b>", *HOSTILE}
        titles = ["规划分区"] if name == "internal_map" else ["规划分区", "可用地"]
        expected = [f"{h}{t}" for t in titles for h in HOSTILE if "pwned" in h]
        assert sorted(v["hits"]) == sorted(expected)
        assert v["zoomedIn"]
        assert "window.__pwned" in v["popup"]  # shown as text in the popup table


def test_public_map_with_blocked_tiles(site) -> None:
    _, maps = site
    r = browser.render_html(maps["public_map"], evaluate=PROBE)
    assert r.page_errors == []
    assert r.requests_blocked, "the OSM basemap should have asked for tiles"
    assert all(u.startswith("https://tile.openstreetmap.org/") for u in r.requests_blocked)
    # the only console errors are the aborted tile requests
    assert all(e.startswith("Failed to load resource") for e in r.console_errors)
    v = r.value
    assert v["counts"] == {"zones": 7, "ctrl": 1, "available_land": 7, "axis": 1, "hubs": 2}
    assert v["paths"] == 18
    assert v["groups"] == ["规划分区", "控制线", "通道", "分析结果", "底图"]  # axis: corridor
    assert "OpenStreetMap" in v["layerRows"] and "无底图" in v["layerRows"]
    assert TIANDITU_NOTE in v["notice"]
    assert "QZGEO_TIANDITU_KEY" not in v["notice"]  # readers cannot set it
    assert "© OpenStreetMap contributors" in v["notice"]


def test_measure_tool_reports_hectares_and_mu(site) -> None:
    _, maps = site
    ring = [(X0, Y0), (X0 + 0.01, Y0), (X0 + 0.01, Y0 + 0.01), (X0, Y0 + 0.01)]
    pts = ",".join(f"[{y}, {x}]" for x, y in ring)
    js = f"""
    async () => {{
      const inst = window.qzgeo.instances[0];
      const map = inst.map;
      document.querySelectorAll(".qz-tool-btn")[1].click();
      for (const p of [{pts}]) {{
        const ll = L.latLng(p[0], p[1]);
        map.fire("click", {{ latlng: ll, containerPoint: map.latLngToContainerPoint(ll) }});
      }}
      const text = document.querySelector(".qz-measure-out").textContent;
      return {{ text, area: window.qzgeo.ellipsoidArea([{pts}].map((p) => L.latLng(p[0], p[1]))) }};
    }}
    """
    r = browser.render_html(maps["internal_map"], evaluate=js)
    assert r.page_errors == []
    exact = float(ellipsoidal_area([shapely.Polygon(ring)])[0])
    assert abs(r.value["area"] - exact) / exact < 1e-5
    text = r.value["text"]
    assert "公顷" in text and "亩" in text and "m²" in text
    ha = np.round(exact / 10_000, 4)
    assert f"{ha:,.4f}" in text  # zh-CN grouping matches Python's "," grouping


def test_big_layer_renders_and_toggles(
    built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("qzgeo.publish.biglayer")
    monkeypatch.setattr(qzgeo.publish.maps, "BIG_LAYER_FEATURES", 3)
    res = publish_maps(
        built.pack,
        built.layers,
        built.analysis,
        tmp_path / "out",
        analysis_sensitivity=SENS,
        only=["internal_map"],
    )
    js = """
    () => {
      const inst = window.qzgeo.instances[0];
      const big = inst.overlays.zones.layer;
      const box = document.querySelector(".qz-layers .qz-row input[type=checkbox]");
      const before = !!big && inst.map.hasLayer(big);
      const canvas = document.querySelectorAll("canvas").length;
      box.click();
      const rows = Array.from(document.querySelectorAll(".qz-legend-row"));
      const after = inst.map.hasLayer(big);
      return { before, after, canvas, rows: rows.map((e) => e.textContent) };
    }
    """
    r = browser.render_html(res.maps["internal_map"], evaluate=js)
    assert r.page_errors == [] and r.console_errors == []
    assert r.value["before"] is True and r.value["after"] is False
    assert r.value["canvas"] >= 1
    assert "工业用地 Industrial" in r.value["rows"]


def test_screenshot_is_written(site, tmp_path: Path) -> None:
    _, maps = site
    png = tmp_path / "public_map.png"
    browser.screenshot(maps["public_map"], png)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_png_export_feeds_the_gallery(built: Built, tmp_path: Path) -> None:
    res = publish_maps(
        built.pack,
        built.layers,
        built.analysis,
        tmp_path / "out",
        analysis_sensitivity=SENS,
        png=True,
        only=["internal_map"],
    )
    png = res.pngs["internal_map"]
    assert png == tmp_path / "out" / "internal" / "internal_map.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    index = res.galleries["internal"].read_text(encoding="utf-8")
    assert '<img src="internal_map.png"' in index and "<svg" not in index
