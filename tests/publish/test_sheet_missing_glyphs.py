"""A character the sheet's font has no glyph for (an emoji in a zone name or a map title, a
private-use character) is set as □, the 缺字 mark of Chinese print, with a warning naming the
characters and the texts that hold them: it stopped `publish --pdf` (exit 2) for every map.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import warnings
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from qzgeo.cli.main import cli

MINIPACK = Path(__file__).parents[1] / "data" / "minipack"
pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="needs poppler-utils (pdftotext, pdffonts)"
)


def _text(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_emoji_and_a_private_use_character_are_set_as_the_missing_mark(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from test_sheet import _square_views

    from qzgeo.publish.sheet import write_sheet

    # a family (ZWJ sequence), a flag (two regional indicators) and a heart with VS16 are one
    # character each to a reader: one mark each, not one per code point
    names = ("🏭工业园区😀", "\U0001f1e8\U0001f1f3港❤\ufe0f区")
    page, views = _square_views(0.05, names)
    page.title = "港区\U0001f468\u200d\U0001f469\u200d\U0001f467规划🏭图\ue000"
    views = [replace(views[0], title="分区🌳图层")]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        info = write_sheet(
            page, views, tmp_path / "s.pdf", organisation="单位", date=dt.date(2024, 1, 2)
        )
    assert not [str(w.message) for w in caught if "Glyph" in str(w.message)]
    text = " ".join(_text(info.path).split())
    for shown in ("港区□规划□图□", "分区□图层", "□工业园区□", "□港□区"):
        assert shown in text, (shown, text)
    said = [w for w in info.warnings if "no glyph" in w]
    assert len(said) == 1, info.warnings
    for char in ("🏭", "😀", "🌳", "\\ue000"):
        assert char in said[0], said
    assert "□" in said[0] and "QZGEO_CJK_FONT" in said[0]


def test_publish_pdf_with_an_emoji_title_warns_in_report_json(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    pack = tmp_path / "pack"
    shutil.copytree(MINIPACK, pack)
    spec = pack / "maps" / "zones.toml"
    spec.write_text(
        spec.read_text(encoding="utf-8").replace("测试分区图", "测试🏭分区图"), encoding="utf-8"
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["publish", "--pack", str(pack), "--pdf", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "测试□分区图" in " ".join(_text(out / "public" / "zones.pdf").split())
    report = json.loads((out / "internal" / "report.json").read_text(encoding="utf-8"))
    said = [w for w in report["warnings"] if "no glyph" in w]
    assert said and "maps/zones.toml" in said[0] and "🏭" in said[0], report["warnings"]
    manifest = json.loads((out / "public" / "manifest.json").read_text(encoding="utf-8"))
    public = json.dumps(manifest, ensure_ascii=False)
    assert "🏭" in public
    assert "/usr/" not in public and str(tmp_path) not in public  # no path of the build machine


def test_format_characters_leave_no_mark_and_keep_the_text_searchable(tmp_path: Path) -> None:
    """Text pasted from a web page or Word carries invisible format characters: a soft hyphen
    (U+00AD) was drawn as a bar between 划 and 图, and a zero-width joiner between 工业 and 园区
    made the PDF's text read 工业‍业‍园区 (a search for 工业园区 found nothing)."""
    pytest.importorskip("matplotlib")
    from test_sheet import _square_views

    from qzgeo.publish.sheet import write_sheet

    page, views = _square_views(0.05)
    page.title = "工业\u200d园区\u200b规划\u00ad图\u2060甲"
    info = write_sheet(
        page, views, tmp_path / "s.pdf", organisation="单位", date=dt.date(2024, 1, 2)
    )
    first = _text(info.path).splitlines()[0]
    assert first == "工业园区规划图甲", [hex(ord(c)) for c in first]
    assert not info.warnings


def test_a_label_keeps_its_joined_characters_together(tmp_path: Path) -> None:
    """A zero-width joiner in a zone's name was made a space before the label was set: 工业‍园区
    printed (and searched) as '工业 园区', a family emoji as three marks '□ □ □'. A label
    follows the sheet's rule for every text: format characters leave no mark (a sheet is set
    without shaping), a ZWJ sequence is one character (one mark), a private-use character is
    a mark like in a title, not a space."""
    pytest.importorskip("matplotlib")
    from test_sheet import _square_views

    from qzgeo.publish.sheet import write_sheet

    names = ("工业\u200d园区", "甲\U0001f468\u200d\U0001f469\u200d\U0001f467乙", "丙\ue000丁")
    page, views = _square_views(0.05, names)
    info = write_sheet(
        page, views, tmp_path / "s.pdf", organisation="单位", date=dt.date(2024, 1, 2)
    )
    assert info.labels == len(names)
    text = _text(info.path)
    for shown in ("工业园区", "甲□乙", "丙□丁"):
        assert shown in text, (shown, text)
    assert "工业 园区" not in text and "□ □" not in text, text
