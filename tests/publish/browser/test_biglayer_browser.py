"""BigPolygonLayer in headless Chromium, offline: drawing, styling, tooltips, hostile data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import shapely
from _biglayer_helpers import (
    HOSTILE,
    STYLES,
    decode_payload,
    offline_html,
    parcel_map,
    voronoi_parcels,
)

from qzgeo.publish.browser import render_html

pytestmark = pytest.mark.browser

N = 2000
NORMAL = 100  # an ordinary parcel index (HOSTILE ones are 0..5)

PROBE = """
async (arg) => {
  const map = window[arg.map], layer = window[arg.layer];
  const box = map.getContainer().getBoundingClientRect();
  const canvas = document.querySelector("canvas.qzgeo-biglayer");
  const cbox = canvas.getBoundingClientRect();
  const ctx = canvas.getContext("2d");
  const img = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < img.length; i += 4) { if (img[i]) { painted++; } }
  const pointer = (type, lat, lon) => {
    const p = map.latLngToContainerPoint([lat, lon]);
    map.getContainer().dispatchEvent(new MouseEvent(type, {
      clientX: box.left + p.x, clientY: box.top + p.y, bubbles: true, cancelable: true}));
    const tip = document.querySelector(".qzgeo-biglayer-tooltip");
    return {
      shown: tip.style.display !== "none",
      feature: tip.getAttribute("data-feature"),
      heads: [...tip.querySelectorAll("th")].map(e => e.textContent),
      cells: [...tip.querySelectorAll("td")].map(e => e.textContent),
      markup: tip.querySelectorAll("img,script,b,i").length,
      cursor: map.getContainer().style.cursor,
    };
  };
  const pixel = (lat, lon) => {
    const p = map.latLngToContainerPoint([lat, lon]);
    const x = Math.round(box.left + p.x - cbox.left), y = Math.round(box.top + p.y - cbox.top);
    return Array.from(ctx.getImageData(x, y, 1, 1).data);
  };
  const hovers = arg.points.map(([lat, lon]) => pointer("mousemove", lat, lon));
  const click = pointer("click", arg.points[1][0], arg.points[1][1]);
  const pixels = arg.pixels.map(([lat, lon]) => pixel(lat, lon));
  const firstVertices = arg.features.map(f => {
    const v = layer._vertOff[layer._featRing[f]];
    const ll = map.options.crs.unproject(L.point(layer._X[v], layer._Y[v]));
    return [ll.lng, ll.lat];
  });
  return {painted, total: canvas.width * canvas.height, hovers, click, pixels, firstVertices,
          pwned: window.__pwned === undefined ? null : window.__pwned,
          ready: window.__qzgeo_ready};
}
"""


@pytest.fixture(scope="module")
def parcels():
    return voronoi_parcels(N, seed=7)


@pytest.fixture(scope="module")
def page(parcels, tmp_path_factory) -> dict[str, Any]:
    m, layer = parcel_map(parcels)
    html = tmp_path_factory.mktemp("biglayer") / "map.html"
    html.write_text(offline_html(m), encoding="utf-8")
    reps = shapely.point_on_surface(parcels.geometry.array)
    hover_ids = [*range(len(HOSTILE)), NORMAL]
    points = [[reps[i].y, reps[i].x] for i in hover_ids]
    lat, lon = points[-1]
    points.append([lat + 0.2, lon])  # far outside the layer
    styled = int(parcels.index[parcels["cls"] == "G"][0])
    unstyled = int(parcels.index[parcels["cls"] == "W"][0])
    arg = {
        "map": m.get_name(),
        "layer": layer.get_name(),
        "points": points,
        "pixels": [[reps[i].y, reps[i].x] for i in (styled, unstyled)],
        "features": [0, NORMAL, N - 1],
    }
    result = render_html(html, evaluate=f"({PROBE})({json.dumps(arg)})")
    return {"result": result, "layer": layer, "hover_ids": hover_ids}


def test_renders_offline_without_errors(page):
    r = page["result"]
    assert r.page_errors == []
    assert r.console_errors == []
    assert r.requests_blocked == []
    assert r.value["ready"] is True


def test_canvas_is_painted(page):
    v = page["result"].value
    assert v["painted"] > 0.1 * v["total"]


def test_fill_colours_follow_classes(page):
    green, default = page["result"].value["pixels"]
    fill = STYLES["G"]["fillColor"]
    expected = [int(fill[i : i + 2], 16) for i in (1, 3, 5)]
    assert all(abs(a - b) <= 3 for a, b in zip(green[:3], expected, strict=True)), green
    assert abs(green[3] - round(255 * STYLES["G"]["fillOpacity"])) <= 2
    assert all(abs(a - b) <= 3 for a, b in zip(default[:3], (0x33, 0x88, 0xFF), strict=True))
    assert abs(default[3] - round(255 * 0.4)) <= 2


def test_hover_shows_the_right_parcel_as_literal_text(page, parcels):
    hovers = page["result"].value["hovers"]
    for i, hover in zip(page["hover_ids"], hovers, strict=False):
        assert hover["shown"], i
        assert hover["feature"] == str(i)
        assert hover["heads"] == ["地块", "类别", "面积(亩)"]
        row = parcels.iloc[i]
        assert hover["cells"] == [row["parcel"], row["cls"], f"{row['area_mu']:.5f}"]
        assert hover["markup"] == 0
        assert hover["cursor"] == "pointer"
    outside = hovers[-1]
    assert not outside["shown"]
    assert outside["cursor"] == ""


def test_click_shows_the_tooltip_too(page):
    click = page["result"].value["click"]
    assert click["shown"] and click["feature"] == "1"


def test_hostile_strings_do_not_execute(page):
    assert page["result"].value["pwned"] is None
    texts = [h["cells"][0] for h in page["result"].value["hovers"][: len(HOSTILE)]]
    assert texts == HOSTILE


def test_javascript_decodes_like_python(page):
    _, decoded = decode_payload(page["layer"])
    for f, (lon, lat) in zip(
        [0, NORMAL, N - 1], page["result"].value["firstVertices"], strict=True
    ):
        x0, y0 = decoded[f].exterior.coords[0]
        assert lon == pytest.approx(x0, abs=1e-9)
        assert lat == pytest.approx(y0, abs=1e-9)


TOGGLE = """
async (arg) => {
  const frames = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const painted = () => {
    const c = document.querySelector("canvas.qzgeo-biglayer");
    if (!c) { return -1; }
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let n = 0; for (let i = 3; i < d.length; i += 4) { if (d[i]) { n++; } }
    return n;
  };
  const box = document.querySelector(".leaflet-control-layers-selector");
  const out = {label: box.parentElement.textContent.trim(), start: painted()};
  box.click(); await frames();
  out.off = painted(); out.readyOff = window.__qzgeo_ready;
  box.click(); await frames();
  out.on = painted(); out.readyOn = window.__qzgeo_ready;
  window[arg.map].setZoom(17, {animate: false}); await frames();
  out.zoomed = painted(); out.readyZoomed = window.__qzgeo_ready;
  return out;
}
"""


def test_layer_control_toggles_and_zoom_redraws(parcels, tmp_path: Path):
    m, _ = parcel_map(parcels.head(400), fit=True)
    html = tmp_path / "map.html"
    html.write_text(offline_html(m), encoding="utf-8")
    r = render_html(html, evaluate=f"({TOGGLE})({json.dumps({'map': m.get_name()})})")
    assert r.page_errors == [] and r.console_errors == []
    v = r.value
    assert v["label"] == "地块 parcels"
    assert v["start"] > 0
    assert v["off"] == -1 and v["readyOff"] is True
    assert v["on"] > 0 and v["readyOn"] is True
    assert v["zoomed"] > 0 and v["readyZoomed"] is True


def test_hidden_layer_page_still_becomes_ready(parcels, tmp_path: Path):
    m, _ = parcel_map(parcels.head(50), show=False)
    html = tmp_path / "map.html"
    html.write_text(offline_html(m), encoding="utf-8")
    r = render_html(html, evaluate="document.querySelectorAll('canvas.qzgeo-biglayer').length")
    assert r.value == 0
    assert r.page_errors == []
