"""PDF map sheets (图集): valid vector PDFs, embedded CJK font, true round scale, same bytes.

Checks go through poppler (pdftotext, pdfinfo, pdffonts) and pyproj's Geod, sharing no code
with the sheet renderer.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zlib
from pathlib import Path

import pytest
from _publish_helpers import SENS, Built
from pyproj import CRS, Geod, Transformer

from qzgeo._errors import PublishError
from qzgeo.pack.catalog import load_pack
from qzgeo.publish.maps import publish_maps
from qzgeo.publish.prepare import prepare_layer
from qzgeo.publish.render import LayerView, MapPage
from qzgeo.publish.sheet import write_sheet
from qzgeo.publish.sheet_font import FONT_ENV

pytest.importorskip("matplotlib")
pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="needs poppler-utils (pdftotext, pdffonts)"
)

PT_PER_MM = 72 / 25.4
ROUND = {k * 10**e for e in range(3, 8) for k in (1, 2, 2.5, 5)}


def _run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def _text(pdf: Path) -> str:
    return _run("pdftotext", "-layout", str(pdf), "-")


def _publish(b: Built, out: Path, **kw: object) -> dict[str, Path]:
    kw.setdefault("pdf", True)
    res = publish_maps(b.pack, b.layers, b.analysis, out, analysis_sensitivity=SENS, **kw)
    return res.pdfs


def _fill_colours(pdf: Path) -> set[tuple[float, float, float]]:
    """Every ``r g b rg`` fill colour in the page content streams (decompressed)."""
    data = pdf.read_bytes()
    colours: set[tuple[float, float, float]] = set()
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            text = zlib.decompress(m.group(1)).decode("latin-1")
        except zlib.error:
            continue
        for r, g, bl in re.findall(r"([\d.]+) ([\d.]+) ([\d.]+) rg", text):
            colours.add((round(float(r), 3), round(float(g), 3), round(float(bl), 3)))
    return colours


def test_publish_writes_one_pdf_per_map_with_the_sheet_text(built: Built, tmp_path: Path) -> None:
    pdfs = _publish(built, tmp_path)
    assert set(pdfs) == set(built.pack.maps)
    for mid, pdf in pdfs.items():
        part = "public" if built.pack.maps[mid].sensitivity == "public" else "internal"
        assert pdf == tmp_path / part / f"{mid}.pdf"  # beside its page
        assert pdf.read_bytes().startswith(b"%PDF-")
        text = _text(pdf)
        assert built.pack.maps[mid].title in text
        assert "示意" in text
        assert re.search(r"1:\d{1,3}( \d{3})+", text), text
        assert "编制单位" in text and "资料来源" in text
        assert (
            "内部" in text if built.pack.maps[mid].sensitivity == "internal" else "内部" not in text
        )
        assert b"/Subtype /Image" not in pdf.read_bytes()  # vector, not a bitmap
    assert "Public sketch" in _text(pdfs["public_map"])  # English subtitle
    assert "测试数据 © qzgeo tests" in _text(pdfs["public_map"])  # pack attribution


def test_fonts_are_embedded_truetype_subsets(built: Built, tmp_path: Path) -> None:
    pdf = _publish(built, tmp_path, only=["internal_map"])["internal_map"]
    rows = _run("pdffonts", str(pdf)).splitlines()[2:]
    assert rows
    for row in rows:
        assert "CID TrueType" in row, row
        assert re.search(r"\byes\s+yes\s+yes\b", row), row  # emb sub uni


@pytest.mark.parametrize(
    ("paper", "orientation", "size_mm"),
    [
        ("A3", "landscape", (420, 297)),
        ("A4", "portrait", (210, 297)),
        ("A1", "landscape", (841, 594)),
    ],
)
def test_page_size_matches_the_paper(
    built: Built, tmp_path: Path, paper: str, orientation: str, size_mm: tuple[int, int]
) -> None:
    pdf = _publish(built, tmp_path, only=["public_map"], paper=paper, orientation=orientation)[
        "public_map"
    ]
    m = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", _run("pdfinfo", str(pdf)))
    assert m is not None
    assert float(m.group(1)) == pytest.approx(size_mm[0] * PT_PER_MM, abs=0.5)
    assert float(m.group(2)) == pytest.approx(size_mm[1] * PT_PER_MM, abs=0.5)


def test_map_toml_sets_the_paper(built: Built, tmp_path: Path) -> None:
    built.write_map(
        "portrait",
        """
        title = "竖版图"
        audience = "public"
        layers = ["zones"]
        basemap = "none"
        paper = "A4"
        orientation = "portrait"
        """,
    )
    pdf = _publish(built, tmp_path, only=["portrait"])["portrait"]
    m = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", _run("pdfinfo", str(pdf)))
    assert m is not None and float(m.group(1)) < float(m.group(2))


@pytest.mark.parametrize(("paper", "orientation"), [("a4", "Portrait"), ("A4", "PORTRAIT")])
def test_map_toml_paper_and_orientation_in_any_case(
    built: Built, paper: str, orientation: str
) -> None:
    """``--paper a4`` is accepted by the CLI: ``paper = "a4"`` in a map's TOML is too."""
    built.write_map(
        "lower",
        f"""
        title = "小写纸张"
        audience = "public"
        layers = ["zones"]
        paper = "{paper}"
        orientation = "{orientation}"
        """,
    )
    assert not [p for p in built.pack.problems if "lower" in p], built.pack.problems
    spec = built.pack.maps["lower"]
    assert (spec.paper, spec.orientation) == ("A4", "portrait")  # the canonical spelling


def test_cli_orientation_in_any_case(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from qzgeo.cli.main import cli

    # without --pdf both are refused after parsing, naming the value as it was normalised
    for option, value, canonical in (
        ("--orientation", "Portrait", "portrait"),
        ("--paper", "a4", "A4"),
    ):
        result = CliRunner().invoke(cli, ["publish", option, value])
        assert result.exit_code == 2
        assert f"{option} {canonical} sets the paper" in result.output, result.output


def test_bad_paper_in_map_toml_is_a_pack_problem(built: Built) -> None:
    built.write_map("bad", 'title = "x"\naudience = "public"\nlayers = ["zones"]\npaper = "B5"\n')
    assert any("`paper` must be one of A4, A3, A1" in p for p in built.pack.problems)


def test_rebuild_is_byte_identical(
    built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    a = _publish(built, tmp_path / "a", only=["public_map", "amap_map"])
    b = _publish(built, tmp_path / "b", only=["public_map", "amap_map"])
    for mid in a:
        assert a[mid].read_bytes() == b[mid].read_bytes(), mid
    assert "2023年11月14日" in _text(a["public_map"])
    assert b"D:20231114" in a["public_map"].read_bytes()  # CreationDate from the epoch


def _square_views(
    side_deg: float, names: tuple[str, ...] = ("甲区",)
) -> tuple[MapPage, list[LayerView]]:
    """Squares of ``side_deg`` side by side, labelled ``names``."""
    import geopandas as gpd
    from shapely.geometry import box

    x0 = [108.5 + 1.5 * side_deg * i for i in range(len(names))]
    gdf = gpd.GeoDataFrame(
        {"名称": list(names)},
        geometry=[box(x, 21.8, x + side_deg, 21.8 + side_deg) for x in x0],
        crs="EPSG:4490",
    )
    prepared = prepare_layer(gdf, fields=["名称"], what="layer 'z'")
    view = LayerView(
        id="z",
        title="分区",
        group="规划分区",
        prepared=prepared,
        style=None,
        class_field=None,
        label_field="名称",
        name_field="名称",
        fields=["名称"],
        labels=True,
        provenance="分区：测试（CC0；精度 schematic）",
    )
    page = MapPage(
        id="z",
        title="比例尺测试图",
        title_en=None,
        notice="示意",
        basemaps=[],
        basemap=None,
        bounds=tuple(float(v) for v in gdf.total_bounds),  # type: ignore[arg-type]
    )
    return page, [view]


@pytest.mark.parametrize("side_deg", [0.02, 0.1, 0.4])
@pytest.mark.parametrize("paper", ["A4", "A3"])
def test_scale_is_round_and_true_on_paper(tmp_path: Path, side_deg: float, paper: str) -> None:
    import datetime as dt

    page, views = _square_views(side_deg)
    info = write_sheet(
        page,
        views,
        tmp_path / "s.pdf",
        organisation="测试单位",
        date=dt.date(2024, 1, 2),
        planar_crs="EPSG:4545",
        paper=paper,
    )
    assert info.scale in ROUND
    assert f"1:{info.scale:,}".replace(",", " ") in _text(info.path)
    # independent: the frame's bottom and top edges measured on the ellipsoid
    to_geo = Transformer.from_crs(CRS.from_user_input(info.crs), "EPSG:4490", always_xy=True)
    minx, miny, maxx, maxy = info.ground
    geod = Geod(ellps="GRS80")
    width_m = info.frame_mm[2] / 1000
    for y in (miny, maxy):
        (lon1, lon2), (lat1, lat2) = to_geo.transform([minx, maxx], [y, y])
        ground = geod.inv(lon1, lat1, lon2, lat2)[2]
        assert ground / width_m == pytest.approx(info.scale, rel=0.01)
    # the subject fits in the frame and fills a good part of it (round steps are <= 2x apart)
    to_plane = Transformer.from_crs("EPSG:4490", info.crs, always_xy=True)
    bx0, by0, bx1, by1 = to_plane.transform_bounds(*page.bounds)
    assert minx <= bx0 and bx1 <= maxx and miny <= by0 and by1 <= maxy
    assert max((bx1 - bx0) / (maxx - minx), (by1 - by0) / (maxy - miny)) > 0.4


def test_style_colour_change_shows_in_the_pdf(built: Built, tmp_path: Path) -> None:
    target = (round(0x12 / 255, 3), round(0x34 / 255, 3), round(0x56 / 255, 3))
    before = _publish(built, tmp_path / "a", only=["public_map"])["public_map"]
    assert target not in _fill_colours(before)
    styles = built.root / "styles" / "styles.toml"
    styles.write_text(
        styles.read_text(encoding="utf-8").replace('fill = "#e78ac3"', 'fill = "#123456"'),
        encoding="utf-8",
    )
    built.pack = load_pack(built.root)
    after = _publish(built, tmp_path / "b", only=["public_map"])["public_map"]
    assert target in _fill_colours(after)


def test_missing_cjk_font_fails_before_writing(
    built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bogus = tmp_path / "nofont.ttf"
    bogus.write_bytes(b"not a font")
    monkeypatch.setenv(FONT_ENV, str(bogus))
    with pytest.raises(PublishError, match=f"cannot read the font .*{FONT_ENV}"):
        _publish(built, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_latin_only_font_is_refused(
    built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import matplotlib

    dejavu = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    monkeypatch.setenv(FONT_ENV, str(dejavu))
    with pytest.raises(PublishError, match="no face with Chinese glyphs"):
        _publish(built, tmp_path / "out")


def test_cli_publish_pdf(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from qzgeo.cli.main import cli

    result = CliRunner().invoke(cli, ["publish", "--pdf", "--paper", "A5"])
    assert result.exit_code == 2
    assert "--paper" in result.output and "A5" in result.output


def test_labels_are_searchable_text_once_with_embedded_fonts(tmp_path: Path) -> None:
    """Planners search a sheet for a place name and copy it: labels are text, not outlines."""
    import datetime as dt

    names = ("甲区", "钦州港（一期）", "Port A-12 区")
    page, views = _square_views(0.05, names)
    info = write_sheet(
        page,
        views,
        tmp_path / "s.pdf",
        organisation="测试单位",
        date=dt.date(2024, 1, 2),
        planar_crs="EPSG:4545",
    )
    assert info.labels == len(names)
    # the map frame only: the legend and notes do not repeat the names
    x, y, w, h = (v * PT_PER_MM for v in info.frame_mm)
    page_h = info.page_mm[1] * PT_PER_MM
    crop = ["-x", f"{x:.0f}", "-y", f"{page_h - y - h:.0f}", "-W", f"{w:.0f}", "-H", f"{h:.0f}"]
    framed = _run("pdftotext", "-raw", *crop, str(info.path), "-")
    for name in names:
        # once: a halo drawn as a second copy of the text would be extracted twice
        assert framed.count(name) == 1, (name, framed)
    for row in _run("pdffonts", str(info.path)).splitlines()[2:]:
        assert re.search(r"\byes\s+yes\s+yes\b", row), row  # embedded, subset, unicode


def test_a_zone_label_wider_than_its_zone_is_left_out(tmp_path: Path) -> None:
    """As on the web map, a zone's name is printed only where it fits in the zone's box: a
    long 北海 name was printed across its neighbours, 3 times the zone's width."""
    import datetime as dt

    long = "北海市银海区冯家江生态修复与滨海休闲旅游综合开发示范片区（近期实施范围，含道路绿地）"
    names = ("甲区", long, "乙区")
    page, views = _square_views(0.05, names)
    info = write_sheet(
        page,
        views,
        tmp_path / "s.pdf",
        organisation="测试单位",
        date=dt.date(2024, 1, 2),
        planar_crs="EPSG:4545",
    )
    # independent: the square's width on paper (Geod along its southern edge, at the scale)
    square_mm = Geod(ellps="GRS80").inv(108.5, 21.8, 108.55, 21.8)[2] / info.scale * 1000
    words = re.findall(
        r'xMin="([\d.]+)"[^>]*xMax="([\d.]+)"[^>]*>([^<]+)<',
        _run("pdftotext", "-bbox", str(info.path), "-"),
    )
    printed = {t: (float(b) - float(a)) / PT_PER_MM for a, b, t in words if t in names}
    assert set(printed) == {"甲区", "乙区"}, printed
    assert info.labels == 2
    assert all(width <= square_mm for width in printed.values()), (printed, square_mm)
