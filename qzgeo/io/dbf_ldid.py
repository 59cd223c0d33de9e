"""The code page a DBF header declares (its language driver id, byte 29), for Chinese ones.

A Shapefile sent without its ``.cpg`` (the .shp, .shx and .dbf mailed alone) still says its code
page when the tool that wrote it set the language driver id: ArcGIS writes 0x4D for Simplified
Chinese (code page 936, GBK), and so does qzgeo. Such text was tried as UTF-8 first, and GBK
that happens to be valid UTF-8 (茅 is C3 A9, é in UTF-8) was read as mojibake without a word,
while GDAL and ArcGIS read it by the header. Only the Chinese code pages are taken: many older
files carry a Western id (0x57, ANSI) over GBK text.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

__all__ = ["CodePage", "declared_code_page", "mark_code_page", "utf8_under_ldid_note"]


class CodePage(NamedTuple):
    """A code page a DBF header names: the Python codec, the name GDAL is given, a label."""

    codec: str
    gdal: str
    label: str
    ldid: int


#: Language driver ids of the Chinese code pages. 936 is read as GB18030, its superset (as a
#: .cpg naming GBK is).
_CHINESE_LDIDS = {
    0x4D: ("gb18030", "GB18030", "936 (GBK)"),  # Chinese GBK (PRC): what ArcGIS writes
    0x7A: ("gb18030", "GB18030", "936 (GBK)"),  # PRC GBK
    0x4F: ("big5", "BIG5", "950 (Big5)"),  # Chinese Big5 (Taiwan)
    0x78: ("big5", "BIG5", "950 (Big5)"),  # Taiwan Big5
}
_LDID_BYTE = 29
#: The id qzgeo writes for an encoding it writes with one: 0x4D for GBK, as ArcGIS does. GDAL
#: writes 0 beside a .cpg; UTF-8 and GB18030 have no id of their own and keep 0 (their .cpg
#: alone says what they are).
_WRITTEN = {"GBK": 0x4D}


def mark_code_page(dbf: Path, encoding: str) -> None:
    """Set the language driver id of ``dbf``, just written in ``encoding``, if it has one:
    read back by :func:`declared_code_page` (and GDAL, ArcGIS) when the .cpg is lost."""
    ldid = _WRITTEN.get(encoding)
    if ldid is None:
        return
    with dbf.open("r+b") as f:
        f.seek(_LDID_BYTE)
        f.write(bytes([ldid]))


def declared_code_page(dbf: Path) -> CodePage | None:
    """The Chinese code page ``dbf``'s header names, else ``None``.

    Examples
    --------
    >>> import tempfile
    >>> dbf = Path(tempfile.mkdtemp()) / "a.dbf"
    >>> _ = dbf.write_bytes(bytes(29) + bytes([0x4D]) + bytes(2))
    >>> declared_code_page(dbf)
    CodePage(codec='gb18030', gdal='GB18030', label='936 (GBK)', ldid=77)
    """
    with dbf.open("rb") as fh:
        head = fh.read(_LDID_BYTE + 1)
    if len(head) <= _LDID_BYTE:
        return None
    found = _CHINESE_LDIDS.get(head[_LDID_BYTE])
    return None if found is None else CodePage(*found, head[_LDID_BYTE])


def utf8_under_ldid_note(path: Path, sample: bytes | None, page: CodePage) -> str | None:
    """A note when text read by the header's code page is valid UTF-8 too (a tool that set the
    id over UTF-8 text): both readings, and the option that takes the other."""
    if sample is None:
        return None
    try:
        as_utf8 = sample.decode("utf-8")[:16]
    except UnicodeDecodeError:
        return None
    as_header = sample.decode(page.codec, "replace")[:16]
    return (
        f"{path}: no .cpg file; its DBF header names code page {page.label} (language driver "
        f"0x{page.ldid:02X}) and the text is read so ({as_header!r}), but it is valid UTF-8 "
        f"too, {as_utf8!r}; if UTF-8 is meant: --encoding UTF-8"
    )
