"""Round 21, outsider: a mistyped value in a style, a map or ``[params]`` is a problem.

A pack author edits a ``qzgeo new-pack`` skeleton and runs ``qzgeo validate`` after each
change, as the guide says. Each edit below was "OK" for validate, and then ``qzgeo publish
--pdf`` crashed with a traceback (``weight = "thick"``: TypeError in the QGIS project and the
PDF legend; ``fill_opacity = 7``: ValueError in the PDF sheet; ``legend = 5``: TypeError in
validate itself), refused what validate had passed (``publish_simplify_m = -5``), or put the
value's Python repr on the pages (``title = 5``, ``description = ["…"]``, ``legend_title =
["…"]``). Each is now a validate problem naming the file, the key and the value, and publish
exits 2 with the same words.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packs import all_output, assert_no_traceback, new_pack, run_cli

STYLES = "styles/layers.toml"
CATALOG = "layers/catalog.toml"
OVERVIEW = "maps/overview.toml"

CASES = {
    # id: (file, text, its replacement, what the problem says)
    "weight-text": (STYLES, "weight = 1.5", 'weight = "thick"', "`weight`"),
    "weight-negative": (STYLES, "weight = 1.5", "weight = -3", "`weight`"),
    "fill-opacity-7": (STYLES, "fill_opacity = 0.5", "fill_opacity = 7", "`fill_opacity`"),
    "class-opacity-nan": (STYLES, "weight = 2.5", "weight = 2.5\nopacity = nan", "`opacity`"),
    "legend-number": (STYLES, 'legend = "规划分区"', "legend = 5", "`legend`"),
    "radius-text": (STYLES, "weight = 4.0", 'weight = 4.0\nradius = "big"', "`radius`"),
    "legend-title-list": (
        STYLES,
        'legend_title = "控制线"',
        'legend_title = ["控制线"]',
        "`legend_title`",
    ),
    "simplify-negative": (
        CATALOG,
        "min_patch_m2 = 1.0",
        "min_patch_m2 = 1.0\npublish_simplify_m = -5",
        "`publish_simplify_m`",
    ),
    "min-patch-inf": (CATALOG, "min_patch_m2 = 1.0", "min_patch_m2 = inf", "`min_patch_m2`"),
    "fill-banana": (STYLES, 'fill = "#BB9674"', 'fill = "banana"', "`fill`"),
    "fill-rgb-out-of-range": (STYLES, 'fill = "#BB9674"', 'fill = "rgb(300, 2)"', "`fill`"),
    "stroke-true": (STYLES, 'stroke = "#1565C0"', "stroke = true", "`stroke`"),
    "dash-number": (STYLES, 'dash = "8 4"', "dash = 8", "`dash`"),
    "dash-dot": (STYLES, 'dash = "8 4"', 'dash = "."', "`dash`"),
    "map-title-number": (OVERVIEW, 'title = "新规划包（示意）"', "title = 5", "`title`"),
    "map-description-list": (
        OVERVIEW,
        'description = "示意：由 qzgeo new-pack 生成的占位数据。"',
        'description = ["占位"]',
        "`description`",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_mistyped_value_is_a_validate_and_publish_problem(tmp_path: Path, case: str) -> None:
    rel, old, new, said = CASES[case]
    pack = new_pack(tmp_path / "pack", "121.1,41.1")
    path = pack / rel
    text = path.read_text(encoding="utf-8")
    assert old in text, (old, rel)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    where = rel.removeprefix("layers/")  # catalog problems name catalog.toml

    checked = run_cli("validate", "--pack", pack)
    assert_no_traceback(checked)
    assert checked.exit_code == 2, all_output(checked)
    value = re.sub(r'[\[\]"]', "", new.rsplit("=", 1)[1]).strip().lower()  # as said
    lines = [ln.lower() for ln in all_output(checked).splitlines() if said in ln]
    assert any(where in ln and value in ln for ln in lines), all_output(checked)

    out = tmp_path / "out"
    published = run_cli("publish", "--pack", pack, "--out", out, "--pdf")
    assert_no_traceback(published)
    assert published.exit_code == 2, all_output(published)
    assert said in all_output(published)
    assert not (out / "public").exists()


def test_a_colour_of_a_layer_on_no_map_is_a_validate_problem(tmp_path: Path) -> None:
    # the QGIS project draws every styled layer: publish stopped on it with no file named
    pack = new_pack(tmp_path / "pack", "121.1,41.1")
    for name in ("overview", "conflicts"):
        path = pack / "maps" / f"{name}.toml"
        text = path.read_text(encoding="utf-8").replace(', "corridor"]', "]")
        path.write_text(text, encoding="utf-8")
    styles = pack / STYLES
    text = styles.read_text(encoding="utf-8")
    styles.write_text(text.replace('stroke = "#1565C0"', 'stroke = "banana"'), encoding="utf-8")
    checked = run_cli("validate", "--pack", pack)
    assert checked.exit_code == 2, all_output(checked)
    assert "styles/layers.toml [corridor]: `stroke` = 'banana'" in all_output(checked)
    published = run_cli("publish", "--pack", pack, "--out", tmp_path / "out")
    assert published.exit_code == 2, all_output(published)
    assert "styles/layers.toml [corridor]" in all_output(published)


def test_css_rgb_colours_are_drawn_on_the_pdf_sheets(tmp_path: Path) -> None:
    # validate passed them, QGIS read them, and publish --pdf crashed: matplotlib reads no rgb()
    pack = new_pack(tmp_path / "pack", "121.1,41.1")
    styles = pack / STYLES
    text = styles.read_text(encoding="utf-8")
    text = text.replace('stroke = "#1565C0"', 'stroke = "rgba(21, 101, 192, 0.8)"')
    text = text.replace('fill = "#BB9674"', 'fill = "rgb(73%, 59%, 45%)"')
    styles.write_text(text.replace('stroke = "#6B4F33"', 'stroke = "SaddleBrown"'), "utf-8")
    assert run_cli("validate", "--pack", pack).exit_code == 0
    out = tmp_path / "out"
    published = run_cli("publish", "--pack", pack, "--out", out, "--pdf")
    assert_no_traceback(published)
    assert published.exit_code == 0, all_output(published)
    assert (out / "public" / "overview.pdf").is_file()
