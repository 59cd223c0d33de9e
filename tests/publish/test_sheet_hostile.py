"""PDF sheets (图集) against hostile input: a missing extra, options that would do nothing, a map
with nothing to draw. Each must exit 2 or warn in report.json, never a traceback or a silent guess.
"""

from __future__ import annotations

import re
import shutil
import sys
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


@pytest.mark.xfail(
    strict=True,
    reason="a long 图名 is shrunk to fit one line (about 9 pt for 123 characters on A3), never "
    "wrapped; wrapping needs the title box and the map frame below it to be laid out anew",
)
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
