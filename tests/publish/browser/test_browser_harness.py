"""The headless-Chromium harness: network blocking, error capture, screenshots, failures."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from _biglayer_helpers import offline_html, parcel_map, voronoi_parcels

from qzgeo._errors import InputError, PublishError
from qzgeo.publish import browser


def _page(tmp_path: Path, body: str) -> Path:
    html = tmp_path / "page.html"
    html.write_text(
        f"<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>{body}</body></html>"
    )
    return html


def test_missing_chromium_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(browser, "CHROMIUM", str(tmp_path / "no-such-chromium"))
    assert not browser.chromium_available()
    with pytest.raises(PublishError, match="apt-get install chromium"):
        browser.render_html(_page(tmp_path, "x"), ready="true")


def test_missing_html_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        browser.render_html(tmp_path / "nope.html")


@pytest.mark.browser
def test_network_is_blocked_and_errors_are_captured(tmp_path):
    html = _page(
        tmp_path,
        """<img src="https://example.invalid/tile.png">
        <script>
          window.__sum = 1 + 2;
          console.error("boom");
          fetch("http://example.invalid/data.json").catch(() => {});
          setTimeout(() => { throw new Error("bang"); }, 0);
        </script>""",
    )
    r = browser.render_html(
        html,
        ready="window.__sum === 3",
        evaluate="new Promise(r => setTimeout(() => r(window.__sum), 50))",
    )
    assert r.value == 3
    assert "https://example.invalid/tile.png" in r.requests_blocked
    assert "http://example.invalid/data.json" in r.requests_blocked
    assert "boom" in r.console_errors
    assert any("bang" in e for e in r.page_errors)
    assert r.elapsed_s > 0


@pytest.mark.browser
def test_never_ready_times_out_with_publish_error(tmp_path):
    with pytest.raises(PublishError, match="headless Chromium failed"):
        browser.render_html(_page(tmp_path, "x"), ready="false", timeout_s=1.5)


@pytest.mark.browser
def test_screenshot_of_a_map(tmp_path):
    m, _ = parcel_map(voronoi_parcels(300, seed=3), fit=True)
    html = tmp_path / "map.html"
    html.write_text(offline_html(m), encoding="utf-8")
    png = browser.screenshot(html, tmp_path / "out" / "map.png", width=800, height=600)
    assert png == tmp_path / "out" / "map.png"
    assert [p.name for p in png.parent.iterdir()] == ["map.png"]  # no temporary left over
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (800, 600)  # IHDR width, height
    image = pytest.importorskip("PIL.Image")  # colour check only where Pillow is installed
    with image.open(png) as img:
        colours = img.convert("RGB").getcolors(maxcolors=100_000)
    assert colours is not None and len(colours) > 5  # parcels drawn, not a blank page
    fill = (0xF5, 0xD7, 0x6E)  # class R at 0.7 opacity over Leaflet's #ddd background
    blended = tuple(round(0.7 * c + 0.3 * 0xDD) for c in fill)
    close = [c for _, c in colours if max(abs(a - b) for a, b in zip(c, blended, strict=True)) <= 3]
    assert close, "no pixel has the class R fill colour"
