"""The code page of a DXF R12–R2004 file: its ``$DWGCODEPAGE``, unless its names say GBK.

Up to R2004 a DXF's text is in the code page its header names; from R2007 it is UTF-8.
Chinese CAD set up wrongly writes GBK names under ``$DWGCODEPAGE = ANSI_1252``: read as
cp1252, a layer 宗地 became '×ÚµØ' without a word. When every non-ASCII name and text of the
drawing, turned back into its bytes, is GBK for Chinese characters, the file is read as GBK
and a warning says so, naming the declared code page and the fix in CAD.
"""

from __future__ import annotations

import codecs
import unicodedata
from collections.abc import Iterable
from typing import Any

__all__ = ["UNICODE_FROM", "gbk_misread", "names_and_text"]

#: First DXF version whose text is UTF-8 whatever its header says (R2007).
UNICODE_FROM = "AC1021"
_GBK = ("gbk", "gb2312", "gb18030")
_TEXT = ("TEXT", "MTEXT", "ATTRIB", "ATTDEF")


def names_and_text(doc: Any) -> list[str]:
    """The layer names of ``doc`` and the text of its model space (what a code page decodes)."""
    out = [str(layer.dxf.name) for layer in doc.layers]
    out += [str(e.dxf.text) for e in doc.modelspace() if e.dxftype() in _TEXT]
    return out


def gbk_misread(strings: Iterable[str], encoding: str) -> str | None:
    """A name decoded with ``encoding`` that is GBK Chinese once turned back into its bytes.

    ``None`` unless every non-ASCII string is: its bytes decode as GBK, into CJK characters
    only, nearly all of them in GB2312 (common Chinese). A Latin name ('Straße', 'Müller')
    fails the last test: an accented letter and the ASCII letter after it make a GBK
    extension character, not a GB2312 one.
    """
    if codecs.lookup(encoding).name in _GBK:
        return None
    found, chars, common = None, 0, 0
    for s in strings:
        if s.isascii():
            continue
        try:
            back = s.encode(encoding, "surrogateescape").decode("gbk")
        except UnicodeError:
            return None
        wide = [c for c in back if not c.isascii()]
        if not all(_is_cjk(c) for c in wide):
            return None
        chars += len(wide)
        common += sum(_in_gb2312(c) for c in wide)
        found = found or s
    return found if found is not None and common >= 0.9 * chars else None


def _is_cjk(c: str) -> bool:
    # ideographs, CJK punctuation, full-width forms: what Chinese names are written in
    return (
        "CJK" in unicodedata.name(c, "") or "\u3000" <= c <= "\u303f" or "\uff00" <= c <= "\uffef"
    )


def _in_gb2312(c: str) -> bool:
    try:
        c.encode("gb2312")
    except UnicodeError:
        return False
    return True
