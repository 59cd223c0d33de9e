"""Which face of a CJK font collection sets the sheets, read once per version of the file.

Choosing it used to decode the character map of every face of the collection (ten in Noto
Sans CJK), ~1.3 s a call, several calls a sheet: `publish --pdf` of the bundled pack spent
more time choosing the font than drawing. The choice is the same; these tests pin it against
fontTools read directly, and show that a font replaced on disk is read again.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fontTools.ttLib import TTCollection

from qzgeo._errors import PublishError
from qzgeo.publish.sheet_font import FONT_ENV, find_cjk_font

NOTO = Path("/usr/share/fonts/opentype/noto")
REGULAR, BOLD = NOTO / "NotoSansCJK-Regular.ttc", NOTO / "NotoSansCJK-Bold.ttc"
pytestmark = pytest.mark.skipif(not REGULAR.is_file(), reason="needs fonts-noto-cjk")


def _expected(path: Path) -> tuple[int, str]:
    """The first face named Simplified Chinese (" SC") holding 图例示意分区, by fontTools."""
    for i, font in enumerate(TTCollection(str(path), lazy=True).fonts):
        name = str(font["name"].getDebugName(4))
        cmap = font.getBestCmap()
        if " SC" in name and all(ord(c) in cmap for c in "图例示意分区"):
            return i, name
    raise AssertionError(path)


def test_the_simplified_chinese_face_is_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FONT_ENV, raising=False)
    for bold, path in ((False, REGULAR), (True, BOLD)):
        face = find_cjk_font(bold=bold)
        assert (face.path, face.index, face.name) == (path, *_expected(path))


def test_a_font_replaced_on_disk_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = tmp_path / "字体.ttc"
    shutil.copyfile(REGULAR, mine)
    monkeypatch.setenv(FONT_ENV, str(mine))
    assert find_cjk_font().name == _expected(REGULAR)[1]
    shutil.copyfile(BOLD, mine)  # another size: the same path, another font
    assert find_cjk_font().name == _expected(BOLD)[1]
    mine.write_bytes(b"not a font any more")
    with pytest.raises(PublishError, match="cannot read the font"):
        find_cjk_font()
    mine.unlink()
    with pytest.raises(PublishError, match="cannot read the font"):
        find_cjk_font()
