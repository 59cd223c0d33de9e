"""A layer classed by a decimal column (REAL 1.0, 2.0, 3.0) is styled alike everywhere.

`validate` rejected the style keys "1", "2", "3" (the classes were "1.0", "2.0", "3.0"); with
"1.0", "2.0", "3.0" the web map drew every zone in the default colour (the browser reads 1.0 as
the number 1, and String(1) is "1") while its legend showed the class colours. Both spellings
now validate, and the page, the gallery and the PDF sheet colour each zone by its class. The
page is read with :mod:`json` and :mod:`html.parser`, the PDF with :mod:`zlib`, and it is drawn
in headless Chromium, where the pixels are sampled.
"""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import pytest
from decimal_class_pack import (
    COLOURS,
    DEFAULT,
    NAMES,
    SPELLINGS,
    PathFills,
    decimal_pack,
    page_config,
    run,
)


def _pdf_fills(pdf: Path) -> set[tuple[int, int, int]]:
    """Every ``r g b rg`` fill colour of the page content streams, as 0-255 integers."""
    out: set[tuple[int, int, int]] = set()
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf.read_bytes(), re.S):
        try:
            text = zlib.decompress(m.group(1)).decode("latin-1")
        except zlib.error:
            continue
        for r, g, b in re.findall(r"([\d.]+) ([\d.]+) ([\d.]+) rg", text):
            out.add((round(float(r) * 255), round(float(g) * 255), round(float(b) * 255)))
    return out


def _rgb(hexcolour: str) -> tuple[int, int, int]:
    return (int(hexcolour[1:3], 16), int(hexcolour[3:5], 16), int(hexcolour[5:7], 16))


@pytest.fixture(scope="module", params=sorted(SPELLINGS))
def published(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp(request.param)
    pack = decimal_pack(folder / "pack", request.param)
    res = run("validate", "--pack", pack)
    assert res.exit_code == 0, res.output  # "1" was an unknown style class of a REAL column
    out = folder / "out"
    res = run("publish", "--pack", pack, "--out", out, "--pdf")
    assert res.exit_code == 0, res.output
    return out


def test_validate_accepts_either_spelling(published: Path) -> None:
    assert (published / "public" / "overview.html").is_file()


def test_the_page_styles_each_feature_by_its_class(published: Path) -> None:
    config = page_config(published / "public" / "overview.html")
    zones = next(lay for lay in config["layers"] if lay["id"] == "zones")
    assert {k: s["fill"].upper() for k, s in zones["styles"].items()} == {
        str(k): c for k, c in COLOURS.items()
    }
    legend = {r["label"]: r["symbol"]["fill"].upper() for r in zones["legend"]}
    assert legend == {f"代码{k}": c for k, c in COLOURS.items()}
    for f in zones["data"]["features"]:
        code = f["properties"]["代码"]
        assert f["qz_class"] == str(round(code))  # the key the page looks its style up by
        assert zones["styles"][f["qz_class"]]["fill"].upper() == COLOURS[round(code)]


def test_the_gallery_sketch_colours_the_classes(published: Path) -> None:
    fills = PathFills.of((published / "public" / "index.html").read_text(encoding="utf-8"))
    assert set(COLOURS.values()) <= set(fills), fills
    assert DEFAULT not in fills


def test_the_pdf_sheet_colours_the_classes(published: Path) -> None:
    fills = _pdf_fills(published / "public" / "overview.pdf")
    assert {_rgb(c) for c in COLOURS.values()} <= fills, sorted(fills)
    assert _rgb(DEFAULT) not in fills


PROBE = """
(arg) => {
  const inst = window.qzgeo.instances[0];
  const out = [];
  inst.overlays.zones.layer.eachLayer((f) => {
    // below the label at the centre, above the corridor south of the strips
    const b = f.getBounds(), lat = b.getSouth() + 0.2 * (b.getNorth() - b.getSouth());
    const p = inst.map.latLngToContainerPoint([lat, b.getCenter().lng]);
    const box = inst.map.getContainer().getBoundingClientRect();
    const x = Math.round(box.left + p.x), y = Math.round(box.top + p.y);
    out.push({name: f.feature.properties["名称"], fill: f.options.fillColor, x: x, y: y,
              top: document.elementFromPoint(x, y) === f.getElement()});
  });
  return out;
}
"""


@pytest.mark.browser
def test_chromium_draws_each_zone_in_its_class_colour(published: Path) -> None:
    browser = pytest.importorskip("qzgeo.publish.browser")
    image = pytest.importorskip("PIL.Image")
    png = published.parent / f"{published.parent.name}.png"
    html = published / "public" / "overview.html"
    result = browser.render_html(html, evaluate=PROBE, screenshot=png, width=900, height=700)
    assert result.page_errors == []
    features = result.value
    by_name = {n: k for k, n in NAMES.items()}
    assert sorted(f["name"] for f in features) == sorted(NAMES.values())
    with image.open(png) as img:
        rgb = img.convert("RGB")
        for f in features:
            want = COLOURS[by_name[f["name"]]]
            assert f["fill"].upper() == want, f
            assert f["top"], f  # the zone itself is drawn there, under no panel or label
            got = rgb.getpixel((f["x"], f["y"]))
            # fill_opacity 1: the class colour itself, whatever lies under it
            assert max(abs(a - b) for a, b in zip(got, _rgb(want), strict=True)) <= 3, (f, got)
