"""MapInfo tables (``.tab``) and interchange files (``.mif``/``.mid``): what may be opened,
and how their text is decoded.

MapInfo is still what many Chinese land and planning offices keep their parcels in. A table
is several files (``.tab`` header, ``.dat`` attributes, ``.map`` geometry, ``.id`` index);
an interchange file is a ``.mif`` (header and geometry) and a ``.mid`` (attributes).

Only *native* tables are read. A view, a seamless table or a linked table names other
tables by path, as a GDAL VRT does, and is refused like one.

Text: the header's ``Charset`` says the code page and GDAL decodes by it. ``Charset
"Neutral"`` (or none) says nothing: the text is read as UTF-8 when it is, else as GB18030
(a GBK superset) with a note, or as ``--encoding`` says. A file that declares a Latin code
page over GBK text (an English MapInfo on a Chinese Windows wrote many) reads as mojibake:
the reader says so and how to fix it (``--encoding GBK``), which then reads the file as GBK
instead of by its declared code page.
"""

from __future__ import annotations

import codecs
import contextlib
import glob
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
from pyproj import CRS

from qzgeo._errors import InputError, MissingInputError, QzgeoError
from qzgeo.io.dxf_codepage import gbk_misread
from qzgeo.io.shapefile import sidecar
from qzgeo.notices import Notices, attach_notices, notices_of

__all__ = ["MAPINFO_SUFFIXES", "admit_mapinfo", "read_mapinfo"]

MAPINFO_SUFFIXES = frozenset({".tab", ".mif"})

#: Code pages of MapInfo ``Charset`` names whose text may hide GBK read as a Latin code page.
_LATIN_CHARSETS = {
    "windowslatin1": "cp1252",
    "iso8859_1": "latin-1",
    "macroman": "mac-roman",
}
#: Code pages of other ``Charset`` names: ``--encoding`` naming the same one changes nothing.
_CHARSETS = {**_LATIN_CHARSETS, "windowssimpchinese": "gbk", "windowstradchinese": "cp950"}
#: Where a header says its charset: ``!charset X`` and ``Type NATIVE Charset "X"`` (a .tab says
#: it twice), ``Charset "X"`` (a .mif); not a field that happens to be named Charset.
_CHARSET_RE = re.compile(
    rb'^(\s*!charset\s+|\s*(?:type\s+\w+\s+)?charset\s+")([A-Za-z0-9_-]+)', re.I | re.M
)
_TYPE_RE = re.compile(rb"^\s*type\s+([A-Za-z]+)", re.I | re.M)
_COLUMNS_RE = re.compile(rb"^\s*columns\s+(\d+)", re.I | re.M)
_HEADER_BYTES = 65536
_SAVE_COPY = (
    "in MapInfo: File > Save Copy As (a native table), or "
    "`ogr2ogr -f GPKG OUT.gpkg {name}`, then give the copy"
)


def _head(path: Path) -> bytes:
    """The header: a ``.tab`` file's start, a ``.mif`` file's up to its ``Data`` line."""
    with path.open("rb") as fh:
        return _header_of(fh.read(_HEADER_BYTES), path)


def _header_of(start: bytes, path: Path) -> bytes:
    """The header within a file's first bytes ``start`` (see :func:`_head`)."""
    if path.suffix.lower() == ".mif":  # the header ends where the geometry starts
        found = re.search(rb"^\s*data\s*$", start, re.I | re.M)
        return start[: found.start()] if found else start
    return start


def _charset(path: Path) -> str | None:
    """The ``Charset`` the header says, e.g. ``"WindowsSimpChinese"``; None: none said."""
    m = _CHARSET_RE.search(_head(path))
    return m.group(2).decode("ascii") if m else None


def admit_mapinfo(path: Path, shown: str) -> None:
    """Refuse a MapInfo file qzgeo must not open, or one missing files of its set.

    Raises
    ------
    InputError
        Not a MapInfo header, or a view, seamless or linked table (they name other files).
    MissingInputError
        A file of the set (``.dat``/``.map``, ``.mid``) is not beside it.
    """
    head = _head(path)  # a table of many fields says it is seamless past 4 kB
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    name = path.name
    if path.suffix.lower() == ".mif":
        if not text.startswith(b"version"):
            msg = f"{shown}: not a MapInfo interchange (.mif) file (no 'Version' line first)"
            raise InputError(msg)
        columns = _COLUMNS_RE.search(head)
        if (columns is None or int(columns.group(1)) > 0) and sidecar(path, ".mid") is None:
            msg = f"{shown}: its .mid file is missing; copy the .mif and the .mid together"
            raise MissingInputError(msg)
        return
    if not text.startswith(b"!table"):
        msg = f"{shown}: not a MapInfo table (.tab) header (it does not start with '!table')"
        raise InputError(msg)
    kind = _TYPE_RE.search(head)
    kind_name = kind.group(1).decode("ascii").upper() if kind else None
    seamless = re.search(rb'"\\IsSeamless"\s*=\s*"TRUE"', head, re.I) is not None
    if kind_name != "NATIVE" or seamless or re.search(rb"create\s+view", head, re.I):
        what = "a seamless table" if seamless else f"a table of type {kind_name or 'VIEW'}"
        msg = (
            f"{shown}: {what}, which names other tables or files (as a GDAL VRT does); qzgeo "
            f"reads native MapInfo tables only: {_SAVE_COPY.format(name=name)}"
        )
        raise InputError(msg)
    missing = [ext for ext in (".dat", ".map") if sidecar(path, ext) is None]
    if missing:
        msg = (
            f"{shown}: the table's {' and '.join(missing)} "
            f"{'files are' if len(missing) > 1 else 'file is'} missing; a MapInfo table is "
            f"several files ({path.stem}.tab, .dat, .map, .id): copy them together"
        )
        raise MissingInputError(msg)


def _data_files(path: Path) -> list[Path]:
    """The files holding the table's text: its header and its attributes."""
    data = sidecar(path, ".mid" if path.suffix.lower() == ".mif" else ".dat")
    return [path] + ([data] if data is not None else [])


def _is_utf8(files: list[Path]) -> bool:
    """Whether every byte of ``files`` is UTF-8 (read a megabyte at a time)."""
    for f in files:
        decoder = codecs.getincrementaldecoder("utf-8")()
        with f.open("rb") as fh:
            try:
                while chunk := fh.read(1 << 20):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                return False
    return True


@contextlib.contextmanager
def _neutral_copy(path: Path) -> Iterator[Path]:
    """``path`` as a copy in a temporary folder whose header says ``Charset "Neutral"``, so that
    GDAL hands the text over undecoded for ``--encoding`` to decode (the other files of the set
    linked, not copied; a ``.mif``'s geometry after its header copied as it is)."""
    tmp = Path(tempfile.mkdtemp(prefix="qzgeo-mapinfo-"))
    try:
        copy = tmp / path.name
        with path.open("rb") as src, copy.open("wb") as dst:
            head = src.read(_HEADER_BYTES)
            cut = len(_header_of(head, path))  # a .mif's geometry and texts left as they are
            dst.write(_CHARSET_RE.sub(rb"\1Neutral", head[:cut]) + head[cut:])
            shutil.copyfileobj(src, dst)
        for other in path.parent.glob(f"{glob.escape(path.stem)}.*"):
            if other.is_file() and other.suffix.lower() != path.suffix.lower():
                (tmp / other.name).symlink_to(other.resolve())
        yield copy
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _same_codec(encoding: str, charset: str | None) -> bool:
    """Whether ``--encoding`` names the code page the ``Charset`` says (GBK and
    WindowsSimpChinese, cp1252 and WindowsLatin1)."""
    known = _CHARSETS.get((charset or "").lower())
    try:
        return known is not None and codecs.lookup(encoding).name == codecs.lookup(known).name
    except LookupError:
        return False


def _misread(gdf: gpd.GeoDataFrame, codec: str) -> tuple[str, str] | None:
    """A column name or text value of ``gdf`` that is GBK read as ``codec``, and its GBK
    reading; None if not. Names and values apart: GDAL's decoding drops bytes ``codec`` lacks
    (cp1252 has no 0x81), and a value cut so no longer decodes, which would clear them all."""
    values = [
        v
        for col in gdf.columns
        if col != gdf.geometry.name and pd.api.types.is_object_dtype(gdf[col])
        for v in gdf[col].head(200).tolist()
        if isinstance(v, str)
    ]
    found = gbk_misread([str(c) for c in gdf.columns], codec) or gbk_misread(values, codec)
    return None if found is None else (found, found.encode(codec).decode("gbk"))


def read_mapinfo(
    path: Path,
    *,
    layer: str | None,
    encoding: str | None,
    read: Callable[..., gpd.GeoDataFrame],
) -> gpd.GeoDataFrame:
    """Read a MapInfo ``.tab`` or ``.mif`` with ``read(path, layer=, encoding=)`` (the OGR
    reader), deciding how its text is decoded and saying so in the layer's notices."""
    notes = Notices()
    charset = _charset(path)
    neutral = charset is None or charset.lower() == "neutral"
    said = f'Charset "{charset}"' if charset else "no Charset"
    if neutral and encoding is None and not _is_utf8(_data_files(path)):
        encoding = "GB18030"
        notes.add(
            f"{path.name}: its header says {said} (no code page) and its text is not UTF-8: "
            "read as GB18030 (GBK); pass --encoding if names look wrong",
            kind="note",
            source=path.name,
        )
    if not neutral and encoding is not None and _same_codec(encoding, charset):
        encoding = None  # GDAL decodes it so already
    if neutral or encoding is None:
        gdf = read(path, layer=layer, encoding=encoding)
    else:
        notes.add(
            f"{path.name}: read as {encoding} as --encoding says, not as its header's {said}",
            kind="note",
            source=path.name,
        )
        with _neutral_copy(path) as copy:
            try:
                gdf = read(copy, layer=layer, encoding=encoding)
            except QzgeoError as exc:  # name the user's file, not the copy
                raise type(exc)(str(exc).replace(str(copy), str(path))) from exc
    codec = _LATIN_CHARSETS.get((charset or "").lower()) if encoding is None else None
    found = _misread(gdf, codec) if codec else None
    if found is not None:
        notes.add(
            f"{path.name}: its header says {said}, but its text looks like GBK read that way "
            f"({found[0]!r} is {found[1]!r} as GBK); pass --encoding GBK to read it as GBK",
            source=path.name,
        )
    gdf = _xian80_ellipsoid(gdf, path, notes)
    out = notices_of(gdf)
    out.extend(notes)
    attach_notices(gdf, out)
    return gdf


#: Xian 1980's ellipsoid (IAG 1975), as EPSG:7049 gives it.
_IAG75 = {"name": "IAG 1975", "semi_major_axis": 6378140, "inverse_flattening": 298.257}


def _xian80_ellipsoid(gdf: gpd.GeoDataFrame, path: Path, notes: Notices) -> gpd.GeoDataFrame:
    """The layer with its Xian 1980 datum on IAG 1975, the ellipsoid Xian 1980 is defined on.

    GDAL's table of MapInfo datums gives Xian 1980 (MapInfo datum 1017) an "unknown" ellipsoid
    of WGS84's size, 3 m larger: a ``--towgs84`` shift applied on it put positions about a
    metre off (areas agree to 1 ppm).
    """
    crs = gdf.crs
    datum = None if crs is None else crs.datum
    if datum is None or "xian" not in datum.name.lower() or crs is None:
        return gdf
    spec = crs.to_json_dict()
    frame = spec.get("base_crs", spec).get("datum")
    ellipsoid = frame.get("ellipsoid", {}) if isinstance(frame, dict) else {}
    if ellipsoid.get("semi_major_axis") in (None, _IAG75["semi_major_axis"]):
        return gdf
    frame["ellipsoid"] = dict(_IAG75)
    notes.add(
        f"{path.name}: its datum Xian 1980 came with the ellipsoid a = "
        f"{ellipsoid['semi_major_axis']} m (GDAL's table of MapInfo datums); read on Xian "
        "1980's own ellipsoid, IAG 1975 (a = 6378140 m)",
        kind="note",
        source=path.name,
    )
    return gdf.set_crs(CRS.from_json_dict(spec), allow_override=True)
