"""Attribute text that is not in the encoding it was read in: found, and said with the fix.

GDAL's Arrow reader hands over the bytes of a text field as they are: a CSV saved by Excel on
Chinese Windows (GBK), a GeoJSON from an old tool, a shapefile whose ``.cpg`` says UTF-8 over
GBK text come out as strings that are not UTF-8. pandas keeps them in Arrow memory without a
look, so they went on into the outputs (a GeoPackage QGIS shows as garbage) or crashed a later
step; they are refused at the read instead.
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow as pa


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


def not_utf8_message(path: Path, encoding: str, reason: str) -> str:
    """The message for a text file (CSV, GeoJSON) not in the encoding it was read in.

    Excel on Chinese Windows saves "CSV (逗号分隔)" in GBK: say so when the text decodes as GBK.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "宗地.csv"
    >>> _ = p.write_bytes("名称,WKT\\n钦州,\\n".encode("gbk"))
    >>> print(not_utf8_message(p, "utf-8", "invalid continuation byte").split(": ", 1)[1])
    its text is not valid utf-8 (invalid continuation byte); it decodes as GBK: pass --encoding GBK, or save it as UTF-8 (Excel: 'CSV UTF-8')
    """  # noqa: E501
    excel = " (Excel: 'CSV UTF-8')" if path.suffix.lower() == ".csv" else ""
    try:
        path.read_bytes().decode("gb18030")
        fix = "it decodes as GBK: pass --encoding GBK"
    except (OSError, UnicodeDecodeError):
        fix = "pass its encoding with --encoding"
    return (
        f"cannot read {path}: its text is not valid {encoding} ({reason}); {fix}, or save it "
        f"as UTF-8{excel}"
    )


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
