"""What a resident on a phone gets from a public page, checked in the page text.

The browser side (tap targets, folding, popups, tiles that fail) is in
``test_phone_browser.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

from _publish_helpers import SENS, Built, config_of

from qzgeo.publish.maps import publish_maps

NO_KEY_DEFAULT = """
title = "天地图默认"
audience = "public"
layers = ["zones"]
basemap = "tianditu_vec"
basemaps = ["tianditu_img", "osm", "none"]
"""


def _publish(b: Built, out: Path, **kw):
    kw.setdefault("analysis_sensitivity", SENS)
    return publish_maps(b.pack, b.layers, b.analysis, out, **kw)


def test_missing_default_basemap_is_not_replaced_by_another(built: Built, tmp_path: Path) -> None:
    # 天地图 is the default but there is no key: the page must not quietly start on the next
    # basemap listed (OpenStreetMap, a host outside China); it starts with none and offers it.
    built.write_map("tdt", NO_KEY_DEFAULT)
    res = _publish(built, tmp_path / "out", only=["tdt"])
    cfg = config_of(res.maps["tdt"].read_text(encoding="utf-8"))
    assert cfg["basemap"] is None
    assert [b["id"] for b in cfg["basemaps"]] == ["osm"]
    said = [w for w in res.warnings if "天地图" in w]
    assert said and "starts with none" in said[0], res.warnings


def test_missing_default_basemap_with_a_key_is_used(
    built: Built, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("QZGEO_TIANDITU_KEY", "k")
    built.write_map("tdt", NO_KEY_DEFAULT)
    res = _publish(built, tmp_path / "out", only=["tdt"])
    cfg = config_of(res.maps["tdt"].read_text(encoding="utf-8"))
    assert cfg["basemap"] == "tianditu_vec"
    assert not [w for w in res.warnings if "天地图" in w]


def test_viewport_lets_readers_zoom_the_page(built: Built, tmp_path: Path) -> None:
    # maximum-scale=1 / user-scalable=no stop a reader with poor sight from enlarging the
    # notice and the popups (WCAG 1.4.4); the map itself handles its own pinch.
    res = _publish(built, tmp_path / "out")
    for page in res.maps.values():
        html = page.read_text(encoding="utf-8")
        metas = re.findall(r'<meta name="viewport" content="([^"]*)"', html)
        assert len(metas) == 1, metas
        content = re.sub(r"\s+", "", metas[0])
        assert content.startswith("width=device-width"), content
        assert "user-scalable=no" not in content and "maximum-scale" not in content


def test_page_says_what_is_wrong_when_its_scripts_are_blocked(built: Built, tmp_path: Path) -> None:
    # A site that sends a strict Content-Security-Policy header blocks inline scripts: the
    # page must then say so in its markup, not stay blank.
    res = _publish(built, tmp_path / "out")
    html = res.maps["public_map"].read_text(encoding="utf-8")
    m = re.search(r'<div class="qz-fallback"[^>]*>(.*?)</div>', html, re.S)
    assert m, "no fallback message in the markup"
    assert "脚本" in m.group(1) and "Content-Security-Policy" in m.group(1)
    assert html.index('class="qz-fallback"') < html.index('class="folium-map"')


def test_site_report_page_reads_on_a_phone() -> None:
    from qzgeo.publish.site_report import reports_to_html

    html = reports_to_html([], internal=False)
    assert '<html lang="zh-CN">' in html
    metas = re.findall(r'<meta name="viewport" content="([^"]*)"', html)
    assert metas == ["width=device-width, initial-scale=1"]
    # the wide table scrolls inside its own box
    assert re.search(r'<div class="qz-check-scroll"><table>', html)
