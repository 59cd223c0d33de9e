"""PDF sheets (图集) against hostile input: a missing extra, options that would do nothing, a map
with nothing to draw. Each must exit 2 or warn in report.json, never a traceback or a silent guess.
"""

from __future__ import annotations

import re
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import pytest
from _publish_helpers import SENS, Built
from click.testing import CliRunner

from qzgeo.cli.main import cli
from qzgeo.publish.maps import publish_maps

MINIPACK = Path(__file__).parents[1] / "data" / "minipack"
pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="needs poppler-utils (pdftotext, pdffonts)"
)


def test_pdf_without_matplotlib_exits_2_with_the_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # simulate an install without the `pdf` extra: `import matplotlib` fails
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    for name in [m for m in sys.modules if m.startswith("qzgeo.publish.sheet")]:
        monkeypatch.delitem(sys.modules, name)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["publish", "--pack", str(MINIPACK), "--pdf", "--out", str(out)]
    )
    assert result.exit_code == 2, result.output
    assert not isinstance(result.exception, ModuleNotFoundError)
    assert 'pip install ".[pdf]"' in result.output, result.output
    assert "matplotlib" in result.output
    assert not out.exists()  # refused before anything is analysed or written


@pytest.mark.parametrize("option", [["--paper", "A4"], ["--orientation", "portrait"]])
def test_paper_options_without_pdf_are_refused(tmp_path: Path, option: list[str]) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["publish", "--pack", str(MINIPACK), *option, "--out", str(out)]
    )
    assert result.exit_code == 2, result.output
    assert option[0] in result.output and "--pdf" in result.output
    assert not out.exists()


def _empty(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gdf.iloc[0:0].copy()


def test_map_of_empty_layers_warns_and_writes_no_sheet(built: Built, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    built.write_map(
        "nothing",
        """
        title = "空图"
        audience = "public"
        layers = ["axis", "hubs"]
        basemap = "none"
        """,
    )
    layers = {**built.layers, "axis": _empty(built.layers["axis"])}
    layers["hubs"] = _empty(built.layers["hubs"])
    res = publish_maps(
        built.pack, layers, built.analysis, tmp_path, analysis_sensitivity=SENS, pdf=True
    )
    # the empty map frames nothing: no sheet of a made-up extent at 1:50 000 000
    assert "nothing" not in res.pdfs
    assert not (tmp_path / "public" / "nothing.pdf").exists()
    assert "public_map" in res.pdfs  # the other maps are still drawn
    said = [w for w in res.warnings if "'nothing'" in w]
    assert said, res.warnings
    assert "axis" in said[0] and "hubs" in said[0] and "no features" in said[0]


def test_an_empty_layer_on_a_map_is_named_in_the_warnings(built: Built, tmp_path: Path) -> None:
    layers = {**built.layers, "hubs": _empty(built.layers["hubs"])}
    res = publish_maps(
        built.pack, layers, built.analysis, tmp_path, analysis_sensitivity=SENS, only=["public_map"]
    )
    said = [w for w in res.warnings if "'public_map'" in w and "hubs" in w]
    assert said and "no features" in said[0], res.warnings


@pytest.mark.parametrize("paper", ["A4", "A3"])
def test_a_one_parcel_sheet_still_has_graticule_labels(tmp_path: Path, paper: str) -> None:
    """A 50 m parcel is drawn at about 1:500: its frame spans seconds of arc, under a 1′ step."""
    import datetime as dt

    pytest.importorskip("matplotlib")
    from test_sheet import _square_views, _text

    from qzgeo.publish.sheet import write_sheet

    page, views = _square_views(0.0005)  # ~50 m
    info = write_sheet(
        page,
        views,
        tmp_path / "s.pdf",
        organisation="测试单位",
        date=dt.date(2024, 1, 2),
        planar_crs="EPSG:4545",
        paper=paper,
    )
    assert info.scale <= 1000
    text = _text(info.path)
    # a planner reads the parcel's position off the neat line: seconds of arc, both axes
    assert re.search(r"108°30′\d\d″E", text), text
    assert re.search(r"21°48′\d\d″N", text), text


def test_a_long_title_wraps_instead_of_shrinking_below_12_pt(tmp_path: Path) -> None:
    import datetime as dt
    import subprocess

    pytest.importorskip("matplotlib")
    from test_sheet import _square_views

    from qzgeo.publish.sheet import write_sheet

    page, views = _square_views(0.02)
    page.title = "钦州港片区规划分区与控制线冲突分析" * 7 + "（示意）"  # 123 characters
    info = write_sheet(
        page, views, tmp_path / "s.pdf", organisation="测试单位", date=dt.date(2024, 1, 2)
    )
    bbox = subprocess.run(
        ["pdftotext", "-bbox", str(info.path), "-"], capture_output=True, text=True, check=True
    ).stdout
    heights = [
        float(m.group(2)) - float(m.group(1))
        for m in re.finditer(r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">钦州港片区', bbox)
    ]
    assert heights
    # a word box is ~1.45 em high in Noto Sans CJK
    assert min(heights) / 1.45 >= 12.0, heights


_LONG_TITLE = (
    "钦州港片区“一心两轴六区”与“三区三线”规划分区、控制线冲突与可用地分析"
    "（2021—2035年，示意），含 Port Area A-12 号地块与 1:50 000 比例尺成果……汇编·总图"
)
_LONG_EN = (
    "Qinzhou Port Area: zones, control lines and the land available "
    "(schematic sketch, not a survey; 2021-2035)"
)
_STAMP = {"内部", "内部资料", "不得公开"}
PT_PER_MM = 72 / 25.4


def _ink_boxes(pdf: Path) -> list[tuple[float, float, float, float, str]]:
    """pdftotext's word boxes (points from the top left), cut to the glyphs' ink height.

    A box spans the font's ascent to descent (about 1.45 em in Noto Sans CJK) and so overlaps
    the next line's at a 1.3 em line pitch; the ink of CJK glyphs is about 0.28 em below the
    box's top and 0.17 em above its bottom.
    """
    import subprocess

    out = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    boxes = []
    for m in re.finditer(
        r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<', out
    ):
        x0, y0, x1, y1 = (float(m.group(i)) for i in range(1, 5))
        em = (y1 - y0) / 1.448
        boxes.append((x0, y0 + 0.28 * em, x1, y1 - 0.17 * em, m.group(5)))
    return boxes


@pytest.mark.parametrize("orientation", ["portrait", "landscape"])
@pytest.mark.parametrize("paper", ["A4", "A3", "A1"])
def test_a_wrapped_title_overlaps_nothing(tmp_path: Path, paper: str, orientation: str) -> None:
    """Title lines, the 内部 stamp, graticule labels, legend, scale and notes: no two overlap,
    and the title sits whole above the frame's graticule labels, at 12 pt or more."""
    import datetime as dt

    pytest.importorskip("matplotlib")
    from test_sheet import _square_views

    from qzgeo.publish.sheet import write_sheet

    page, views = _square_views(0.05)
    page.title, page.title_en = _LONG_TITLE, _LONG_EN
    info = write_sheet(
        page,
        views,
        tmp_path / "s.pdf",
        organisation="测试单位",
        date=dt.date(2024, 1, 2),
        planar_crs="EPSG:4545",
        internal=True,
        paper=paper,
        orientation=orientation,
    )
    assert not info.warnings
    boxes = _ink_boxes(info.path)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            apart = a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
            assert apart, (a, b)
    frame_top = info.page_mm[1] - info.frame_mm[1] - info.frame_mm[3]  # mm from the top
    frame_top *= PT_PER_MM
    top_ticks = [b for b in boxes if "°" in b[4] and b[3] <= frame_top]
    assert top_ticks  # graticule labels above the frame
    ceiling = min(b[1] for b in top_ticks)
    above = [b for b in boxes if b[3] <= ceiling and b[4] not in _STAMP]
    lines: dict[float, list[tuple[float, float, float, float, str]]] = {}
    for b in above:
        lines.setdefault(round(b[1], 1), []).append(b)
    texts = [" ".join(w[4] for w in sorted(ws)) for _, ws in sorted(lines.items())]
    # every word of the title and subtitle is there, above the graticule labels: none is hidden
    # under the frame or cut off
    assert "".join(texts).replace(" ", "") == (_LONG_TITLE + _LONG_EN).replace(" ", ""), texts
    title_lines = [t for t in texts if re.search("[\u4e00-\u9fff]", t)]
    assert 2 <= len(title_lines) <= 3, texts
    for text in title_lines[1:]:
        assert text[0] not in "，。、；：！？）」』》”", texts  # never before closing punctuation
    for unit in ("A-12", "1:50 000", "2021—2035", "……"):
        assert any(unit in t for t in title_lines), (unit, texts)  # never inside a number
    heights = [b[3] - b[1] for b in above if re.search("[\u4e00-\u9fff]", b[4])]
    assert min(heights) >= 12.0 * 0.99, heights  # the ink box is 1 em high


def test_a_title_too_long_for_three_lines_is_shrunk_with_a_warning_in_the_report(
    built: Built, tmp_path: Path
) -> None:
    import json

    pytest.importorskip("matplotlib")
    title = ("钦州港片区规划分区与控制线冲突分析" * 12)[:200]  # the longest title a pack takes
    built.write_map(
        "long",
        f"""
        title = "{title}"
        audience = "public"
        layers = ["zones"]
        basemap = "none"
        paper = "A4"
        orientation = "portrait"
        """,
    )
    assert not built.pack.problems
    res = publish_maps(
        built.pack,
        built.layers,
        built.analysis,
        tmp_path,
        analysis_sensitivity=SENS,
        pdf=True,
        only=["long"],
    )
    said = [w for w in res.warnings if "'long'" in w]
    assert said, res.warnings  # res.warnings is what report.json lists
    assert "maps/long.toml" in said[0] and "200 characters" in said[0], said
    assert "A4 portrait" in said[0] and "shorten" in said[0], said
    manifest = json.loads((tmp_path / "public" / "manifest.json").read_text(encoding="utf-8"))
    assert said[0] in manifest["warnings"]


def _sheet_lines(tmp_path: Path, title: str, layer_title: str, organisation: str) -> list[str]:
    """The text lines of a sheet with these texts (pdftotext, blanks collapsed); asserts that
    matplotlib warned of no missing glyph."""
    import datetime as dt
    import warnings

    pytest.importorskip("matplotlib")
    from test_sheet import _run, _square_views

    from qzgeo.publish.sheet import write_sheet

    page, views = _square_views(0.02)
    page.title = title
    views = [replace(views[0], title=layer_title)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        info = write_sheet(
            page, views, tmp_path / "s.pdf", organisation=organisation, date=dt.date(2024, 1, 2)
        )
    assert not [str(w.message) for w in caught if "Glyph" in str(w.message)]
    return [" ".join(line.split()) for line in _run("pdftotext", str(info.path), "-").splitlines()]


def test_line_and_paragraph_separators_drop_no_text(tmp_path: Path) -> None:
    """U+2029 in a title, layer title or 编制单位 made matplotlib drop the rest of that text
    (and U+2028 drew a missing-glyph box); a newline drew a second line over the next one.
    Each is set as a space: every word on the sheet, on one line, and no glyph warning."""
    lines = _sheet_lines(
        tmp_path, "一号图\u2029二号图\u2028三号图", "分区\u2029四号层\n五号层", "单位\u2029六号单位"
    )
    for text in ("一号图 二号图 三号图", "分区 四号层 五号层", "编制单位：单位 六号单位"):
        assert text in lines, lines


def test_control_characters_and_a_bom_in_sheet_text(tmp_path: Path) -> None:
    """A tab or NUL in a layer title drew a missing-glyph box (a warning on stderr only); an
    invisible U+FEFF pasted into a title (TOML takes it as it is) crashed matplotlib's PDF
    backend with an IndexError. Controls are set as spaces, U+FEFF is dropped."""
    lines = _sheet_lines(
        tmp_path, "\ufeff一号图\t二号图", "分区\x00四号层\ufeff\x07五号层", "单位\x1b"
    )
    for text in ("一号图 二号图", "分区 四号层 五号层", "编制单位：单位"):
        assert text in lines, lines


def test_a_layer_wholly_outside_the_frame_is_named_in_the_warnings(tmp_path: Path) -> None:
    """The sheet is framed on the map's polygons; a corridor south of them (as in the
    `qzgeo new-pack` skeleton) drew nothing while the legend listed it: say so."""
    import datetime as dt

    pytest.importorskip("matplotlib")
    from shapely.geometry import LineString
    from test_sheet import _square_views

    from qzgeo.publish.prepare import prepare_layer
    from qzgeo.publish.sheet import write_sheet

    page, views = _square_views(0.02)
    road = gpd.GeoDataFrame(
        {"名称": ["走廊"]}, geometry=[LineString([(108.4, 21.75), (108.7, 21.75)])], crs="EPSG:4490"
    )
    inside = gpd.GeoDataFrame(
        {"名称": ["穿越"]}, geometry=[LineString([(108.4, 21.81), (108.7, 21.81)])], crs="EPSG:4490"
    )
    for lid, gdf in (("road", road), ("cross", inside)):
        prepared = prepare_layer(gdf, fields=["名称"], what=f"layer {lid!r}")
        views.append(replace(views[0], id=lid, title=f"{lid}线", group="通道", prepared=prepared))
    info = write_sheet(
        page, views, tmp_path / "s.pdf", organisation="测试单位", date=dt.date(2024, 1, 2)
    )
    assert [w for w in info.warnings if "road线" in w], info.warnings
    assert not [w for w in info.warnings if "cross线" in w or "分区" in w], info.warnings


def test_wide_latin_text_stays_inside_the_panel_and_its_column(tmp_path: Path) -> None:
    """Legend and notes were wrapped at an estimated 0.55 em a Latin letter: a layer title or
    a source in capitals (W is 0.9 em) ran over the legend's second column and off the panel.
    """
    import datetime as dt

    pytest.importorskip("matplotlib")
    from test_sheet import _square_views

    from qzgeo.publish.sheet import write_sheet

    page, views = _square_views(0.02)
    # enough rows to fill two legend columns: the wide title sits in the first
    rows = [
        replace(views[0], id=f"z{i}", title=f"分区{i}" + ("WMWMWMWM" * 6 if i == 3 else ""))
        for i in range(14)
    ]
    info = write_sheet(
        page,
        rows,
        tmp_path / "s.pdf",
        organisation="测试单位",
        date=dt.date(2024, 1, 2),
        sources=["SOURCE " + "MWMWMWMW" * 12 + " END"],
    )
    boxes = _ink_boxes(info.path)
    panel_right = (info.page_mm[0] - 15.0) * PT_PER_MM  # margin and padding on A3
    wide = [b for b in boxes if "WM" in b[4] or "MW" in b[4]]
    assert wide
    assert max(b[2] for b in wide) <= panel_right, (panel_right, wide)
    for a in wide:
        for b in boxes:
            if b is not a:
                apart = a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
                assert apart, (a, b)


def test_a_glyph_the_font_lacks_names_the_map(built: Built, tmp_path: Path) -> None:
    """The error named the font and the characters but not which of the maps uses them; it is
    now a warning (the character is set as □; test_sheet_missing_glyphs.py) naming the map."""
    pytest.importorskip("matplotlib")

    built.write_map(
        "emoji",
        """
        title = "港区 🏭 规划"
        audience = "public"
        layers = ["zones"]
        basemap = "none"
        """,
    )
    res = publish_maps(
        built.pack,
        built.layers,
        built.analysis,
        tmp_path,
        analysis_sensitivity=SENS,
        pdf=True,
        only=["emoji"],
    )
    said = [w for w in res.warnings if "no glyph" in w]
    assert said and "maps/emoji.toml" in said[0] and "🏭" in said[0], res.warnings


def test_a_one_point_map_is_drawn_at_a_real_scale(tmp_path: Path) -> None:
    """A map of one point framed nothing: its sheet came out at 1:1, a frame 0.4 m across.
    1:500, the largest scale of China's standard map series, is the floor."""
    import datetime as dt

    pytest.importorskip("matplotlib")
    from shapely.geometry import Point
    from test_sheet import _square_views, _text

    from qzgeo.publish.prepare import prepare_layer
    from qzgeo.publish.sheet import write_sheet

    page, views = _square_views(0.02)
    gdf = gpd.GeoDataFrame({"名称": ["码头"]}, geometry=[Point(108.5, 21.8)], crs="EPSG:4490")
    prepared = prepare_layer(gdf, fields=["名称"], what="layer 'pt'")
    view = replace(views[0], id="pt", title="节点", group="通道", prepared=prepared)
    page.bounds = (108.5, 21.8, 108.5, 21.8)
    info = write_sheet(
        page, [view], tmp_path / "s.pdf", organisation="单位", date=dt.date(2024, 1, 2)
    )
    assert info.scale == 500
    assert "1:500" in _text(info.path)


def test_a_legend_too_long_for_the_panel_is_an_error_naming_the_fix(tmp_path: Path) -> None:
    """124 land-use classes on an A3 sheet: `ValueError: legend does not fit`, a traceback."""
    import datetime as dt

    pytest.importorskip("matplotlib")
    from test_sheet import _square_views

    from qzgeo._errors import PublishError
    from qzgeo.publish.sheet import write_sheet

    page, views = _square_views(0.02)
    many = [replace(views[0], id=f"z{i}", title=f"用途分类{i:03d}") for i in range(150)]
    with pytest.raises(PublishError, match=r"legend \(300 lines\).*holds about \d+.*fewer"):
        write_sheet(
            page,
            many,
            tmp_path / "s.pdf",
            organisation="单位",
            date=dt.date(2024, 1, 2),
            sources=["测试"],
        )
    assert not (tmp_path / "s.pdf").exists()


def test_a_portrait_legend_too_long_says_landscape_holds_it(tmp_path: Path) -> None:
    """80 legend lines on an A4 portrait sheet: the error said "on any paper" and offered only
    fewer classes, though a landscape sheet, whose panel is a column, holds them."""
    import datetime as dt

    pytest.importorskip("matplotlib")
    from test_sheet import _square_views

    from qzgeo._errors import PublishError
    from qzgeo.publish.sheet import write_sheet

    page, views = _square_views(0.02)
    many = [replace(views[0], id=f"z{i}", title=f"用途分类{i:03d}") for i in range(40)]
    kw = {"organisation": "单位", "date": dt.date(2024, 1, 2), "sources": ["测试"], "paper": "A4"}
    with pytest.raises(PublishError, match=r"legend \(80 lines\)") as caught:
        write_sheet(page, many, tmp_path / "p.pdf", orientation="portrait", **kw)
    assert "any paper;" not in str(caught.value)
    assert "--orientation landscape" in str(caught.value)
    write_sheet(page, many, tmp_path / "l.pdf", orientation="landscape", **kw)
    assert (tmp_path / "l.pdf").exists()


@pytest.mark.parametrize("orientation", ["portrait", "landscape"])
def test_sources_too_long_for_the_panel_never_cover_the_map(
    tmp_path: Path, orientation: str
) -> None:
    """20 layers' sources on an A4 portrait sheet: the notes under the map grew upward over
    it, the scale bar drawn on the map, and no word said so. They shrink to fit, or the sheet
    is refused naming the sources (and, on a portrait sheet, the landscape one)."""
    import datetime as dt
    import subprocess

    pytest.importorskip("matplotlib")
    from test_sheet import _square_views

    from qzgeo._errors import PublishError
    from qzgeo.publish.sheet import write_sheet

    page, views = _square_views(0.02)
    text = "某某规划文本第三章第二节，示意位置，按公开数据校准" * 3
    kw = {"organisation": "单位", "date": dt.date(2024, 1, 2), "paper": "A4"}
    for n in (20, 60):
        sources = [f"来源{i}：{text}" for i in range(n)]
        path = tmp_path / f"s{n}.pdf"
        try:
            info = write_sheet(page, views, path, sources=sources, orientation=orientation, **kw)
        except PublishError as exc:
            assert "资料来源" in str(exc) and f"{n} " in str(exc), exc
            assert ("--orientation landscape" in str(exc)) == (orientation == "portrait")
            assert not path.exists()
            continue
        words = subprocess.run(
            ["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout
        (top,) = re.findall(r'yMin="([\d.]+)"[^>]*>比例尺<', words)
        page_h = info.page_mm[1]
        frame_x, frame_y, frame_w, _ = info.frame_mm
        if orientation == "portrait":  # the panel is under the frame: the notes stay below it
            assert float(top) * 25.4 / 72 > page_h - frame_y, n
        else:  # beside it
            (left,) = re.findall(r'xMin="([\d.]+)"[^>]*>比例尺<', words)
            assert float(left) * 25.4 / 72 > frame_x + frame_w, n
    assert n == 60
