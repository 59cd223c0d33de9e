"""Attribute text that is not in the encoding it was read in: found, and said with the fix.

GDAL's Arrow reader hands over the bytes of a text field as they are: a CSV saved by Excel on
Chinese Windows (GBK), a GeoJSON from an old tool, a shapefile whose ``.cpg`` says UTF-8 over
GBK text come out as strings that are not UTF-8. pandas keeps them in Arrow memory without a
look, so they went on into the outputs (a GeoPackage QGIS shows as garbage) or crashed a later
step; they are refused at the read instead.
"""

from __future__ import annotations

import ast
import contextlib
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow as pa

from qzgeo._errors import InputError


def require_utf8(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``gdf``, after checking that its Arrow-held text columns are valid UTF-8.

    Raises
    ------
    UnicodeDecodeError
        Naming the first column that is not (the reader's callers turn it into the message).
    """
    for name in gdf.columns:
        dtype = gdf[name].dtype
        if not (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"):
            continue
        try:
            pa.array(gdf[name].array).validate(full=True)
        except pa.ArrowInvalid as exc:
            codec, reason = "utf-8", f"field {str(name)!r}: {exc}"
            raise UnicodeDecodeError(codec, b"", 0, 1, reason) from exc
    return gdf


def utf16_said(head: bytes) -> str | None:
    """What to say of text whose first bytes are UTF-16 (Notepad's "Unicode", Excel's "Unicode
    text"), which GDAL reads as no known format; ``None`` for other text.

    With a byte-order mark, or without one when its first characters are ASCII with a zero
    byte beside each (a GeoJSON's ``{"type"``, a CSV's header).

    Examples
    --------
    >>> utf16_said('{"type": "FeatureCollection"}'.encode("utf-16-le"))
    'it is UTF-16 (UTF-16LE without a byte-order mark), which GDAL does not read here'
    >>> utf16_said(b'{"type": "FeatureCollection"}') is None
    True
    """
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "it is UTF-16 (it starts with a byte-order mark), which GDAL does not read here"
    part = head[: min(len(head), 64) // 2 * 2]
    for zeros, chars, name in ((part[1::2], part[0::2], "LE"), (part[0::2], part[1::2], "BE")):
        if len(part) >= 4 and not any(zeros) and all(0 < c < 128 for c in chars):
            bare = f"UTF-16{name} without a byte-order mark"
            return f"it is UTF-16 ({bare}), which GDAL does not read here"
    return None


def not_utf8_message(path: Path, encoding: str, reason: str) -> str:
    """The message for a text file (CSV, GeoJSON) not in the encoding it was read in.

    Nothing is guessed: bytes that are not UTF-8 decode as GBK (Excel on Chinese Windows saves
    "CSV (逗号分隔)" in it) and as cp1252 (Western Windows) alike, a Latin-1 "Cafés" as GBK
    "Caf閟". The first line that is not ``encoding`` is shown read both ways, with its number,
    and the user passes the encoding that reads right.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "宗地.csv"
    >>> _ = p.write_bytes("名称,WKT\\n甲地,\\n".encode("gbk"))
    >>> print(not_utf8_message(p, "utf-8", "invalid continuation byte").split(": ", 1)[1])
    its text is not valid utf-8 (invalid continuation byte); line 1 reads as GBK '名称,WKT', as cp1252 'Ãû³Æ,WKT': pass the encoding that reads right with --encoding (--encoding GBK for Chinese Windows: Excel, ArcGIS; --encoding cp1252 for Western Windows), or save it as UTF-8 (Excel: 'CSV UTF-8')
    """  # noqa: E501
    excel = " (Excel: 'CSV UTF-8')" if path.suffix.lower() == ".csv" else ""
    fix = "pass its encoding with --encoding"
    with contextlib.suppress(OSError, LookupError):
        data = path.read_bytes()
        if (utf16 := utf16_said(data[:64])) is not None:  # Excel's "Unicode text", Notepad
            return f"cannot read {path}: {utf16}; save it as UTF-8{excel}"
        for number, line in enumerate(data.splitlines(), start=1):
            try:
                line.decode(encoding)
            except UnicodeDecodeError as exc:
                fix = f"line {number} reads {readings(line, exc.start)}: " + ENCODING_FIX
                break
    return (
        f"cannot read {path}: its text is not valid {encoding} ({reason}); {fix}, or save it "
        f"as UTF-8{excel}"
    )


def dbf_text_message(path: Path, encoding: str, reason: str, start: int) -> str:
    """The message for a shapefile whose DBF is not in the encoding it was read in.

    :func:`require_utf8` names the field whose values fail (``field 'DLMC': ...``): the text
    is in another encoding. A failure before any value is in a field name, most often one a
    10-byte DBF limit cut inside a multibyte character.

    Examples
    --------
    >>> print(dbf_text_message(Path("地块.shp"), "utf-8", "field 'DLMC': bad", 0))
    cannot read 地块.shp: the text of field 'DLMC' is not valid utf-8 (bad); give the right encoding (--encoding / a .cpg file)
    """  # noqa: E501
    field = re.match(r"field ('[^']*'): (.*)", reason, re.S)
    if field is not None:
        return (
            f"cannot read {path}: the text of field {field[1]} is not valid {encoding} "
            f"({field[2]}); give the right encoding (--encoding / a .cpg file)"
        )
    return (
        f"cannot read {path}: a field name or text is not valid {encoding} ({reason} at byte "
        f"{start}; a DBF field name cut inside a character?). Rename the field and export "
        "again, or give the right encoding (--encoding / a .cpg file)"
    )


#: How to pass the encoding that reads right (see :func:`readings`).
ENCODING_FIX = (
    "pass the encoding that reads right with --encoding (--encoding GBK for Chinese Windows: "
    "Excel, ArcGIS; --encoding cp1252 for Western Windows)"
)


def readings(line: bytes, at: int) -> str:
    """``line`` around byte ``at`` as GBK and as cp1252 (60 bytes at most: a WKT is long)."""
    part = line[max(0, at - 30) : at + 30]
    out = []
    for label, codec in (("GBK", "gb18030"), ("cp1252", "cp1252")):
        text = part.decode(codec, errors="replace").strip()
        out.append(f"as {label} {text!r}")
    return ", ".join(out)


_XML_ENCODING_RE = re.compile(rb"""<\?xml[^>]*encoding\s*=\s*["']([^"']+)["']""")


def xml_encoding_message(path: Path) -> str | None:
    """The message for a KML or GML whose XML declares an encoding GDAL's parser lacks.

    Chinese tools write ``encoding="GBK"`` or ``"GB2312"``; expat knows UTF-8, UTF-16 and
    Latin-1 only, and GDAL said "unknown encoding ... the file may be corrupt".
    """
    try:
        with path.open("rb") as fh:
            found = _XML_ENCODING_RE.search(fh.read(512))
    except OSError:
        return None
    if found is None:
        return None
    declared = found.group(1).decode("ascii", "replace")
    return (
        f"cannot read {path}: its XML declares encoding {declared!r}, which GDAL's reader does "
        f"not know; save it as UTF-8 (e.g. iconv -f {declared} -t UTF-8, then write "
        'encoding="UTF-8" in its first line)'
    )


def refuse_json_nul(path: Path, shown: str) -> None:
    r"""Refuse a JSON text holding an escaped NUL (``\u0000``) in a string.

    GDAL keeps a string up to its NUL and drops the rest without a word: ``"ab\u0000cd"``
    was read as ``"ab"``. An escaped backslash before ``u0000`` (``"\\u0000"``, the six
    characters) is no NUL and passes.
    """
    import mmap  # lazy: only GeoJSON sources come here

    if path.stat().st_size == 0:
        return
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        at = mm.find(b"\\u0000")
        while at >= 0:
            slashes = len(mm[max(0, at - 64) : at]) - len(mm[max(0, at - 64) : at].rstrip(b"\\"))
            if slashes % 2 == 0:  # the backslash of \u0000 is not itself escaped
                before = mm[max(0, at - 40) : at].decode("utf-8", "replace")
                msg = (
                    f"{shown}: a text holds a NUL character (\\u0000) at byte {at:,}, after "
                    f"{before!r}; GDAL would keep the text only up to it. Remove the \\u0000 "
                    "(or replace it with a space) in the file and run again"
                )
                raise InputError(msg)
            at = mm.find(b"\\u0000", at + 1)


#: pyogrio's wrapping of a GDAL error it could not decode (the message names a lone byte).
_RAW_ERROR = re.compile(r"Could not decode error message to UTF-8\. Raw error: (b'.*?'|b\".*?\")")


def gdal_said(exc: BaseException) -> str:
    r"""GDAL's message in ``exc`` as text: a byte it names shown as ``byte 0xEF``, and for a
    character outside ASCII where JSON wants syntax, the likely cause (full-width digits or
    punctuation typed with a Chinese input method), instead of pyogrio's "Raw error: b'...'".

    Examples
    --------
    >>> gdal_said(RuntimeError("Could not decode error message to UTF-8. Raw error: "
    ...                        "b'At line 1, character 31: Unexpected character (\\xef)'"))[:60]
    'At line 1, character 31: Unexpected character (byte 0xEF: a '
    """
    text = str(exc)
    found = _RAW_ERROR.search(text)
    if found is None:
        return text
    try:
        raw = ast.literal_eval(found.group(1))
    except (ValueError, SyntaxError):
        return text
    if not isinstance(raw, bytes):
        return text
    # UTF-8 text in the message (a file or field name) kept; a lone byte named
    said = re.sub(
        r"\\x([0-9a-f]{2})",
        lambda m: f"byte 0x{m.group(1).upper()}",
        raw.decode("utf-8", "backslashreplace"),
    )
    if "Unexpected character (byte 0x" in said:  # GeoJSON: a character JSON has no place for
        said = re.sub(
            r"\(byte (0x[0-9A-F]{2})\)",
            r"(byte \1: a character that is not ASCII where the syntax needs a digit, a comma or"
            r" a bracket; full-width digits or punctuation (１ ， ．) typed with a Chinese input"
            r" method? retype them in ASCII)",
            said,
        )
    return text[: found.start()] + said + text[found.end() :]
