"""Public pages as a resident opens them: a phone (touch, 390x844 or a 640x360 landscape),
foreign hosts unreachable, the folder posted under a sub-path of the bureau's site."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from _phone_helpers import SMALL_TARGETS, serve, visit
from _publish_helpers import SENS, Built, config_of

from qzgeo.pack.catalog import load_pack
from qzgeo.pipeline import run_publish
from qzgeo.publish import browser
from qzgeo.publish.maps import publish_maps

pytest.importorskip("playwright")
pytestmark = pytest.mark.browser

if not browser.chromium_available():  # pragma: no cover - depends on the machine
    pytest.skip(f"no Chromium at {browser.CHROMIUM}", allow_module_level=True)

LONG = "超长名称" * 30 + "_" + "X" * 160  # no break opportunity in the Latin half


@pytest.fixture
def site(built: Built, tmp_path: Path) -> dict[str, Path]:
    built.layers["zones"].loc[0, "名称"] = LONG
    res = publish_maps(
        built.pack, built.layers, built.analysis, tmp_path / "out", analysis_sensitivity=SENS
    )
    return res.maps


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("qinzhou")
    run_publish(None, out)
    return out / "public"


def _rect(page, sel: str) -> dict | None:
    return page.evaluate(
        """(s) => { const e = document.querySelector(s);
        if (!e || !e.offsetParent && getComputedStyle(e).position !== "fixed") return null;
        const r = e.getBoundingClientRect();
        return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; }""",
        sel,
    )


def _overlap(a: dict, b: dict) -> bool:
    return (
        a["left"] < b["right"]
        and b["left"] < a["right"]
        and a["top"] < b["bottom"]
        and b["top"] < a["bottom"]
    )


def test_every_control_is_big_enough_to_tap(site: dict[str, Path]) -> None:
    def probe(page):
        page.click(".qz-layers .qz-panel-head")  # open the layer list: its rows are targets
        return page.evaluate(SMALL_TARGETS)

    v = visit(site["public_map"], probe)
    assert v.page_errors == []
    assert v.value == [], "targets under 40 px: " + repr(v.value)


def test_landscape_phone_starts_folded_and_nothing_overlaps(site: dict[str, Path]) -> None:
    # 640 x 360: wider than a portrait phone, but the panels unfolded would cover the map
    def probe(page):
        folded = page.evaluate(
            """() => Array.from(document.querySelectorAll(
            ".qz-legend .qz-panel-body, .qz-layers .qz-panel-body"))
            .map((b) => getComputedStyle(b).display === "none")"""
        )
        page.wait_for_timeout(300)  # the tiles fail: the notice grows by the 底图 line
        sel = [
            ".qz-title",
            ".qz-search",
            ".qz-layers",
            ".qz-legend",
            ".qz-notice",
            ".leaflet-control-zoom",
            ".qz-tool",
        ]
        return folded, {s: _rect(page, s) for s in sel}

    v = visit(site["public_map"], probe, width=640, height=360)
    folded, rects = v.value
    assert folded == [True, True]
    for s, r in rects.items():
        assert r is not None, s
        assert r["left"] >= 0 and r["right"] <= 640 and r["top"] >= 0 and r["bottom"] <= 360, s
    names = list(rects)
    clashes = [
        (a, b) for i, a in enumerate(names) for b in names[i + 1 :] if _overlap(rects[a], rects[b])
    ]
    assert clashes == []


@pytest.mark.parametrize(("width", "height"), [(360, 640), (640, 360)])
def test_popup_fits_the_phone(site: dict[str, Path], width: int, height: int) -> None:
    def probe(page):
        page.evaluate(
            """(name) => { const inst = window.qzgeo.instances[0];
            inst.overlays.zones.layer.eachLayer((f) => {
              if (f.feature.properties["名称"] === name) { f.openPopup(); } }); }""",
            LONG,
        )
        page.wait_for_timeout(600)  # the map pans the popup into view
        sel = [".leaflet-popup-content-wrapper", ".qz-title", ".leaflet-popup-close-button"]
        return [_rect(page, s) for s in sel]

    v = visit(site["public_map"], probe, width=width, height=height)
    r, title, close = v.value
    assert r is not None, "no popup"
    assert r["left"] >= 0 and r["right"] <= width, r
    assert r["top"] >= 0 and r["bottom"] <= height, r
    assert not _overlap(r, title), "the map title hides the top of the popup"
    assert close["right"] - close["left"] >= 40 and close["bottom"] - close["top"] >= 40


def test_page_says_when_the_basemap_cannot_load(site: dict[str, Path]) -> None:
    # OpenStreetMap is unreachable (blocked here, as it often is on a phone in China): the
    # overlays still draw, and the reader is told why the background is empty.
    def probe(page):
        page.wait_for_timeout(500)
        return page.evaluate(
            """() => { const n = document.querySelector(".qz-tile-note");
            return n && n.offsetParent ? n.textContent : null; }"""
        )

    v = visit(site["public_map"], probe)
    assert v.blocked and all("tile.openstreetmap.org" in u for u in v.blocked)
    assert v.value and "底图" in v.value


def test_no_note_while_no_basemap_is_shown(site: dict[str, Path]) -> None:
    def probe(page):
        return page.evaluate(
            """() => { const n = document.querySelector(".qz-tile-note");
            return n && n.offsetParent ? n.textContent : null; }"""
        )

    v = visit(site["internal_map"], probe)  # basemap = "none"
    assert v.requests and not v.blocked
    assert v.value is None


def test_bundled_public_pages_ask_no_foreign_host(bundled: Path) -> None:
    pages = sorted(bundled.glob("*.html"))
    assert len(pages) >= 4
    for page in pages:
        if page.name == "index.html":
            continue
        v = visit(page, lambda p: p.evaluate("document.title"))
        assert v.page_errors == [], page.name
        assert v.blocked == [], f"{page.name} asked {sorted({u.split('/')[2] for u in v.blocked})}"


def test_posted_under_a_sub_path(site: dict[str, Path], tmp_path: Path) -> None:
    public = site["public_map"].parent
    root = tmp_path / "www"
    shutil.copytree(public, root / "bureau" / "maps")
    with serve(root) as base:

        def probe(page):
            page.click(".card a.open")
            page.wait_for_load_state("load")
            for _ in range(200):
                if page.evaluate("!!(window.qzgeo && window.qzgeo.instances[0].ready)"):
                    break
                page.wait_for_timeout(50)
            return page.url, page.evaluate("window.qzgeo.instances[0].ready")

        v = visit(f"{base}/bureau/maps/", probe, wait_ready=False)
    url, ready = v.value
    assert url.startswith(f"{base}/bureau/maps/") and url.endswith(".html") and ready
    assert v.page_errors == []
    local = [u for u in v.requests if u.startswith(base)]
    # nothing outside the posted folder: no absolute path, no link into internal/
    assert all(u.startswith(f"{base}/bureau/maps/") for u in local), local


def test_strict_csp_header_shows_a_message_not_a_blank_page(
    site: dict[str, Path],
) -> None:
    public = site["public_map"].parent
    strict = {"Content-Security-Policy": "default-src 'self'; img-src 'self' data:"}
    probe = """() => { const f = document.querySelector(".qz-fallback");
        return f && f.offsetHeight > 0 ? f.textContent : null; }"""
    with serve(public, strict) as base:
        blocked = visit(f"{base}/public_map.html", lambda p: p.evaluate(probe), wait_ready=False)
    with serve(public) as base:
        normal = visit(f"{base}/public_map.html", lambda p: p.evaluate(probe))
    assert blocked.value and "Content-Security-Policy" in blocked.value
    assert normal.value is None  # scripts ran: the message is hidden


def test_gallery_cards_fit_a_narrow_phone(site: dict[str, Path]) -> None:
    index = site["public_map"].parent / "index.html"

    def probe(page):
        return page.evaluate(
            """() => ({doc: document.documentElement.scrollWidth,
            cards: Array.from(document.querySelectorAll(".card")).map((c) => {
              const t = c.querySelector("svg, img").getBoundingClientRect();
              const r = c.getBoundingClientRect();
              return [r.right, t.right]; })})"""
        )

    v = visit(index, probe, width=320, height=640, wait_ready=False)
    assert v.value["doc"] <= 320
    for card_right, thumb_right in v.value["cards"]:
        assert card_right <= 320 and thumb_right <= card_right + 0.5


@pytest.mark.parametrize(("width", "height"), [(390, 844), (640, 360)])
def test_on_a_phone_one_panel_is_open_at_a_time(
    site: dict[str, Path], width: int, height: int
) -> None:
    # the legend, the layer list and the sources each cover most of a phone: opening one
    # folds the others, and each heading says whether it is open (aria-expanded)
    def probe(page):
        shown = """() => [".qz-layers .qz-panel-body", ".qz-legend .qz-panel-body",
            ".qz-notice-body"].map((s) => getComputedStyle(document.querySelector(s)).display
            !== "none")"""
        expanded = """() => [".qz-layers .qz-panel-head", ".qz-legend .qz-panel-head",
            ".qz-notice-toggle"].map((s) => document.querySelector(s).getAttribute(
            "aria-expanded"))"""
        steps = []
        for sel in (".qz-layers .qz-panel-head", ".qz-legend .qz-panel-head", ".qz-notice-toggle"):
            page.click(sel)
            steps.append((page.evaluate(shown), page.evaluate(expanded)))
        return steps

    v = visit(site["public_map"], probe, width=width, height=height)
    assert v.value == [
        ([True, False, False], ["true", "false", "false"]),
        ([False, True, False], ["false", "true", "false"]),
        ([False, False, True], ["false", "false", "true"]),
    ]


def test_long_names_wrap_inside_their_panels(built: Built, tmp_path: Path) -> None:
    # a 300-character name and a 120-character title without a break: they wrap inside
    # their boxes, and a search result takes at most three lines of the phone
    built.layers["zones"].loc[0, "名称"] = LONG
    built.write_map(
        "long",
        f"""
        title = "{"T" * 120}"
        audience = "public"
        layers = ["zones"]
        basemap = "none"
        """,
    )
    res = publish_maps(
        built.pack,
        built.layers,
        built.analysis,
        tmp_path / "out",
        analysis_sensitivity=SENS,
        only=["long"],
    )

    def probe(page):
        page.fill(".qz-search input", "XXXX")
        page.wait_for_timeout(200)
        spill = """(s) => { const e = document.querySelector(s);
            return e.scrollWidth - e.clientWidth; }"""
        return {
            "box": _rect(page, ".qz-search"),
            "hit": _rect(page, ".qz-search-hit"),
            "spill": {s: page.evaluate(spill, s) for s in (".qz-title", ".qz-search-hit")},
        }

    v = visit(res.maps["long"], probe)
    box, hit = v.value["box"], v.value["hit"]
    assert hit is not None
    assert box["right"] <= 390 and hit["right"] <= box["right"] + 0.5
    assert hit["bottom"] - hit["top"] <= 80, "one result fills the phone"
    assert v.value["spill"] == {".qz-title": 0, ".qz-search-hit": 0}


def test_controls_speak_chinese(site: dict[str, Path]) -> None:
    def probe(page):
        page.evaluate(
            """() => { const inst = window.qzgeo.instances[0];
            inst.overlays.zones.layer.eachLayer((f) => f.openPopup()); }"""
        )
        return page.evaluate(
            """() => Array.from(document.querySelectorAll("[aria-label], [title]"))
            .map((e) => (e.getAttribute("aria-label") || "") + "|" + (e.title || ""))"""
        )

    v = visit(site["public_map"], probe)
    english = [t for t in v.value if any(w in t for w in ("Zoom", "Close"))]
    assert english == [], english


@pytest.mark.parametrize("pack", [None, "examples/jinzhou"])
def test_bundled_notice_is_written_for_residents(
    pack: str | None, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # the 示意 line is the one text every reader sees: it must be Chinese, not a
    # mostly English sentence with 三区三线 in it
    root = Path(__file__).resolve().parents[2]
    out = tmp_path_factory.mktemp("notice")
    run_publish(None if pack is None else root / pack, out)
    for page in sorted((out / "public").glob("*.html")):
        if page.name == "index.html":
            continue
        notice = config_of(page.read_text(encoding="utf-8"))["notice"]
        assert re.search(r"[\u4e00-\u9fff]{8,}", notice), f"{page.name}: {notice!r}"
        assert notice.startswith("示意"), notice


def test_layer_list_works_from_the_keyboard(site: dict[str, Path]) -> None:
    def probe(page):
        page.focus(".qz-layers .qz-panel-head")
        page.keyboard.press("Enter")
        opened = page.evaluate(
            """() => getComputedStyle(document.querySelector(".qz-layers .qz-panel-body"))
            .display !== "none" """
        )
        page.keyboard.press("Tab")
        focused = page.evaluate("() => document.activeElement.type")
        page.keyboard.press("Space")
        shown = page.evaluate(
            """() => { const inst = window.qzgeo.instances[0];
            return inst.map.hasLayer(inst.overlays.zones.layer); }"""
        )
        return opened, focused, shown

    v = visit(site["public_map"], probe, mobile=False, width=390)
    assert v.value == (True, "checkbox", False)


def test_home_button_brings_back_the_whole_map(site: dict[str, Path]) -> None:
    def probe(page):
        zoom = "() => window.qzgeo.instances[0].map.getZoom()"
        start = page.evaluate(zoom)
        page.evaluate(
            """() => { const m = window.qzgeo.instances[0].map;
            m.setView([21.0, 110.0], m.getZoom() + 4, { animate: false }); }"""
        )
        page.click(".qz-home")
        page.wait_for_timeout(800)
        inside = page.evaluate(
            """() => { const inst = window.qzgeo.instances[0]; const b = inst.cfg.bounds;
            return inst.map.getBounds().contains(L.latLngBounds(b)); }"""
        )
        return start, page.evaluate(zoom), inside, page.evaluate(SMALL_TARGETS)

    v = visit(site["public_map"], probe)
    start, after, inside, small = v.value
    assert after == start and inside
    assert small == []


def test_markup_slipped_into_the_page_cannot_run(site: dict[str, Path]) -> None:
    # the page's own policy lists the hashes of its scripts: were an escaping bug ever to let
    # "<img onerror=...>" into the page, the handler would not run (the page still works)
    def probe(page):
        page.evaluate(
            """() => document.body.insertAdjacentHTML("beforeend",
            '<img src="no-such-file.png" onerror="window.__pwned = 1">')"""
        )
        page.wait_for_timeout(300)
        return page.evaluate(
            "() => [window.__pwned === undefined, window.qzgeo.instances[0].ready]"
        )

    for name in ("public_map", "internal_map"):
        v = visit(site[name], probe)
        assert v.page_errors == []
        assert v.value == [True, True], name


def test_a_map_of_one_point_opens_at_street_level(built: Built, tmp_path: Path) -> None:
    # With no basemap Leaflet has no maximum zoom: fitted to one point, the map went to zoom
    # Infinity ("Invalid LatLng object: (NaN, NaN)"), and the page stayed blank: no layer,
    # no legend, no notice
    built.write_map(
        "one",
        """
        title = "码头位置"
        audience = "public"
        layers = ["hubs"]
        basemap = "none"
        """,
    )
    layers = {**built.layers, "hubs": built.layers["hubs"].iloc[:1]}
    res = publish_maps(
        built.pack,
        layers,
        built.analysis,
        tmp_path / "out",
        analysis_sensitivity=SENS,
        only=["one"],
    )

    def probe(page):
        return page.evaluate(
            """() => [window.qzgeo.instances[0].map.getZoom(),
                      document.querySelectorAll(".leaflet-interactive").length,
                      document.querySelector(".qz-notice") !== null]"""
        )

    v = visit(res.maps["one"], probe, width=360, height=640)
    assert v.page_errors == []
    zoom, drawn, notice = v.value
    assert 15 <= zoom <= 19 and drawn >= 1 and notice


def test_popup_shows_integer_codes_without_grouping(built: Built, tmp_path: Path) -> None:
    # an administrative or parcel code (adcode 450702, 宗地代码 450702001) is an identifier:
    # "450,702,001" is not how anyone writes it; fractions (an area) keep their grouping
    catalog = built.root / "layers" / "catalog.toml"
    text = catalog.read_text(encoding="utf-8")
    text = text.replace('"面积_ha"]', '"面积_ha", "宗地代码", "缺码"]', 1)
    catalog.write_text(text, encoding="utf-8")
    built.pack = load_pack(built.root)
    zones = built.layers["zones"].copy()
    zones["宗地代码"] = 450702001
    # an integer column with a missing value is read as floats: still a code
    zones["缺码"] = [450702.0, *[None] * (len(zones) - 1)]
    zones["面积_ha"] = 12345.678
    layers = {**built.layers, "zones": zones}
    res = publish_maps(
        built.pack, layers, built.analysis, tmp_path / "out", analysis_sensitivity=SENS
    )

    def probe(page):
        return page.evaluate(
            """() => { const inst = window.qzgeo.instances[0]; let cells = null;
            inst.overlays.zones.layer.eachLayer((f) => { if (cells) return; f.openPopup();
              cells = Array.from(document.querySelectorAll(".qz-popup-table tr"))
                .map((r) => r.textContent); f.closePopup(); });
            return cells; }"""
        )

    v = visit(res.maps["public_map"], probe)
    assert v.page_errors == []
    assert "宗地代码450702001" in v.value
    assert "缺码450702" in v.value
    assert "面积_ha12,345.68" in v.value


def test_a_long_unbroken_title_wraps_inside_a_narrow_phone(built: Built, tmp_path: Path) -> None:
    # a map title or description with no break opportunity (a code, a URL) ran past the
    # screen's edge in the gallery's header and its card
    text = "规划" + "Q" * 120
    built.write_map(
        "long_map",
        f"""
        title = "{text}"
        title_en = "{"E" * 120}"
        audience = "public"
        layers = ["zones"]
        basemap = "none"
        description = "{"D" * 200}"
        """,
    )
    built.pack = load_pack(built.root)
    res = publish_maps(
        built.pack, built.layers, built.analysis, tmp_path / "out", analysis_sensitivity=SENS
    )
    index = res.maps["long_map"].parent / "index.html"

    def probe(page):
        return page.evaluate(
            """() => ({doc: document.documentElement.scrollWidth,
            wide: Array.from(document.querySelectorAll("h1, h2, p")).filter(
              (e) => e.scrollWidth > e.clientWidth + 1).map((e) => e.textContent.slice(0, 20))})"""
        )

    v = visit(index, probe, width=320, height=640, wait_ready=False)
    assert v.value["doc"] <= 320, v.value
    assert not v.value["wide"], v.value


LONG_TITLE = (
    "铁山港临港产业园与银海滨海新城及北海综合保税区规划分区示意图"
    "（含铁路、车站及城镇开发边界外围地区说明）"
)


@pytest.mark.parametrize(("width", "height"), [(390, 844), (360, 640)])
def test_a_long_title_clears_the_controls_on_a_portrait_phone(
    built: Built, tmp_path: Path, width: int, height: int
) -> None:
    # a 北海 map title of 51 characters wrapped onto 4 lines ran under the search box and
    # the 图层 button (20 px of its last line hidden on a 390 px phone)
    text = (built.root / "maps" / "public_map.toml").read_text(encoding="utf-8")
    built.write_map("public_map", text.replace('title = "公开示意图"', f'title = "{LONG_TITLE}"'))
    res = publish_maps(
        built.pack, built.layers, built.analysis, tmp_path / "out", analysis_sensitivity=SENS
    )
    sel = [".qz-title", ".qz-search", ".qz-layers", ".qz-legend", ".leaflet-control-zoom"]
    v = visit(
        res.maps["public_map"],
        lambda page: {s: _rect(page, s) for s in sel},
        width=width,
        height=height,
    )
    rects = v.value
    title = rects.pop(".qz-title")
    assert title is not None
    assert [s for s, r in rects.items() if r is not None and _overlap(title, r)] == [], (
        title,
        rects,
    )
