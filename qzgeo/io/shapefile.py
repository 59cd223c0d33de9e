"""Shapefiles: refusing truncated files, finding the DBF's text encoding, writing them safely.

GDAL reads a truncated .shp/.shx/.dbf without complaint (fewer features) and guesses a DBF's
encoding from nothing when there is no ``.cpg``; these checks make both explicit. The writer
refuses what a DBF would silently cut (long field names, long text) and replaces the sidecar
files of an old shapefile atomically, one by one, the ``.shp`` last.
"""

from __future__ import annotations

import codecs
import contextlib
import logging
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from qzgeo._errors import InputError, MissingInputError
from qzgeo.io.dbf_ldid import declared_code_page, utf8_under_ldid_note
from qzgeo.io.dbf_numbers import odd_cells
from qzgeo.io.text_encoding import ENCODING_FIX, readings
from qzgeo.notices import Notices

log = logging.getLogger(__name__)


def sidecar(path: Path, ext: str) -> Path | None:
    """The file beside ``path`` with extension ``ext`` (either case), if it exists."""
    for cand in (path.with_suffix(ext), path.with_suffix(ext.upper())):
        if cand.exists():
            return cand
    return None


def folder_shapefile(path: Path, layer: str | None) -> Path | None:
    """The Shapefile a folder's ``layer`` is (a folder of shapefiles), else None.

    Read through the folder, a Shapefile got none of the checks of one named itself: a GBK
    DBF without a .cpg (as ArcGIS writes them) was refused as "a folder where GDAL finds no
    layer", since GDAL, read through Arrow, takes the text as UTF-8.
    """
    if not path.is_dir() or path.suffix.lower() == ".gdb":
        return None
    found = sorted(p for p in path.iterdir() if p.suffix.lower() == ".shp" and p.is_file())
    named = [p for p in found if layer is None or p.stem == layer]
    return named[0] if len(named) == 1 else None


def _check_shp_header(path: Path, ext: str) -> None:
    part = path if ext == ".shp" else sidecar(path, ext)
    if part is None:
        msg = f"{path}: the {ext} file is missing; copy all the shapefile's files together"
        raise MissingInputError(msg)
    size = part.stat().st_size
    with part.open("rb") as fh:
        head = fh.read(100)
    if len(head) < 100 or struct.unpack(">i", head[:4])[0] != 9994:
        msg = f"{part} is not a shapefile (bad or truncated header); export it again"
        raise InputError(msg)
    declared = struct.unpack(">i", head[24:28])[0] * 2
    if size < declared:
        msg = (
            f"{part} is truncated: its header says {declared} bytes, the file has {size}; "
            "copy or export it again"
        )
        raise InputError(msg)


def check_shapefile(path: Path) -> None:
    """Refuse truncated .shp/.shx/.dbf files (GDAL would silently read fewer features)."""
    for ext in (".shp", ".shx"):
        _check_shp_header(path, ext)
    dbf = sidecar(path, ".dbf")
    if dbf is None:
        msg = f"{path}: the .dbf file is missing; copy all the shapefile's files together"
        raise MissingInputError(msg)
    n_records, header_len, record_len = _dbf_header(dbf)
    if dbf.stat().st_size < header_len + n_records * record_len:
        msg = (
            f"{dbf} is truncated: {n_records} records need {header_len + n_records * record_len} "
            f"bytes, the file has {dbf.stat().st_size}; copy or export it again"
        )
        raise InputError(msg)
    shx = sidecar(path, ".shx")
    shapes = (shx.stat().st_size - 100) // 8 if shx is not None else n_records
    if shapes != n_records:  # GDAL reads the fewer, and pairs shapes with the wrong rows
        msg = (
            f"{path}: its .shx indexes {shapes} shapes but its .dbf holds {n_records} records: "
            "the files come from different exports and the attributes would not match the "
            "shapes; copy the shapefile's files from one export"
        )
        raise InputError(msg)


def _dbf_header(dbf: Path) -> tuple[int, int, int]:
    with dbf.open("rb") as fh:
        head = fh.read(32)
    if len(head) < 32:
        msg = f"{dbf} is truncated (no complete header)"
        raise InputError(msg)
    n_records, header_len, record_len = struct.unpack("<IHH", head[4:12])
    return n_records, header_len, record_len


def _dbf_fields(header: bytes) -> tuple[list[bytes], list[tuple[int, int]]]:
    """Field names, and (offset, length) in a record of each character field."""
    fields: list[tuple[int, int]] = []
    names: list[bytes] = []
    offset = 1  # deletion flag
    for k in range(32, len(header) - 1, 32):
        desc = header[k : k + 32]
        if desc[:1] == b"\r" or len(desc) < 32:
            break
        names.append(desc[:11].split(b"\0", 1)[0])
        length = desc[16]
        if desc[11:12] == b"C":
            length = desc[16] + 256 * desc[17]  # FoxPro-style long character fields
            fields.append((offset, length))
        offset += length
    return names, fields


#: Widest DBF numeric field (digits) GDAL reads as an integer by its width alone.
_DBF_INT64_DIGITS = 18


def dbf_wide_integers(path: Path) -> list[bytes]:
    """Raw names of a shapefile's DBF fields ``N(w,0)`` wider than 18 digits ([] if none).

    GDAL reads such a field as floats unless it looks at the values first (open option
    ``ADJUST_TYPE``): QGIS, GDAL and ArcGIS write 64-bit integers (a 19-digit 宗地代码) as
    ``N(19,0)`` or ``N(20,0)``, and read as floats two parcels' codes become one number.
    """
    dbf = sidecar(path, ".dbf")
    if dbf is None:
        return []
    try:
        n_records, header_len, record_len = _dbf_header(dbf)
        if dbf.stat().st_size < header_len + n_records * record_len:
            # GDAL's ADJUST_TYPE scan crashes the process (3.12: SIGSEGV) on a cut .dbf;
            # without it check_shapefile refuses the file with its sizes.
            return []
        with dbf.open("rb") as fh:
            header = fh.read(header_len)
    except (OSError, InputError):
        return []  # the reader says what is wrong with the file
    wide: list[bytes] = []
    for k in range(32, len(header) - 1, 32):
        desc = header[k : k + 32]
        if desc[:1] == b"\r" or len(desc) < 32:
            break
        if desc[11:12] == b"N" and desc[16] > _DBF_INT64_DIGITS and desc[17] == 0:
            wide.append(desc[:11].split(b"\0", 1)[0])
    return wide


def note_shapefile_read(gdf: gpd.GeoDataFrame, path: Path, notes: Notices) -> None:
    """Pair rings GDAL paired wrongly, in ``gdf``, and say which fields floats rounded.

    See :func:`nest_miswound_rings` and :func:`rounded_integer_fields`.
    """
    for fid in nest_miswound_rings(gdf):
        notes.add(
            f"{path.name}: feature {fid}: rings wound against the shapefile rule (outer "
            "clockwise, holes counter-clockwise); holes found by which ring lies in which",
            kind="repair",
            source=path.name,
            feature=fid,
        )
    _note_overflowed(gdf, path, notes)
    for name in rounded_integer_fields(path, gdf):
        notes.add(
            f"{path.name}: field {name!r} holds integers too long for 64 bits (over "
            "9223372036854775807); the field is read as decimal numbers rounded to about "
            "16 digits: store such codes as text (a character field)",
            source=path.name,
        )


def _note_overflowed(gdf: gpd.GeoDataFrame, path: Path, notes: Notices) -> None:
    """Say which cells of the features read GDAL reads otherwise than they hold: number cells
    of stars (``***``: read as empty; GDAL's NULL, or a dBASE-style overflow that lost the
    number) and dates no calendar has (``20230230``: rolled over into another date)."""
    dbf = sidecar(path, ".dbf")
    if dbf is None or not len(gdf):
        return
    odd = odd_cells(dbf, gdf.index.to_numpy())
    for raw, fids in odd.stars.items():
        shown = ", ".join(str(f) for f in fids[:10]) + (", ..." if len(fids) > 10 else "")
        notes.add(
            f"{path.name}: field {_field_name(raw, gdf)!r} holds '***' in {len(fids)} "
            f"feature(s) ({shown}), read as empty: GDAL, QGIS and qzgeo write it for an empty "
            "cell (NULL), dBASE-style tools for a number too wide for the field (lost in the "
            "file itself); if those features had a number, export the layer again with a "
            "wider field (or to GeoPackage)",
            source=path.name,
            feature=fids[0] if len(fids) == 1 else None,
        )
    for raw, dates in odd.bad_dates.items():
        shown = ", ".join(f"feature {f}: {text}" for f, text in dates[:10])
        notes.add(
            f"{path.name}: date field {_field_name(raw, gdf)!r} holds day(s) no calendar has "
            f"({shown}{', ...' if len(dates) > 10 else ''}); GDAL reads such a date as "
            "another one (20230230 as 2023-03-02): correct them in the file",
            source=path.name,
            feature=dates[0][0] if len(dates) == 1 else None,
        )


def _field_name(raw: bytes, gdf: gpd.GeoDataFrame) -> str:
    """A raw DBF field name as the column of ``gdf`` it is, else as GB18030 text."""
    for enc in ("utf-8", "gb18030"):
        with contextlib.suppress(UnicodeDecodeError):
            name = raw.decode(enc)
            if name in gdf.columns:
                return name
    return raw.decode("gb18030", errors="replace")


def rounded_integer_fields(path: Path, gdf: gpd.GeoDataFrame) -> list[str]:
    """The wide integer fields (:func:`dbf_wide_integers`) GDAL still read as floats.

    With ``ADJUST_TYPE`` GDAL reads them as 64-bit integers unless a value does not fit in
    one (20 digits and more): then the whole field comes as floats, rounded to 16 digits.
    """
    out = []
    for raw in dbf_wide_integers(path):
        for enc in ("utf-8", "gb18030"):
            with contextlib.suppress(UnicodeDecodeError):
                name = raw.decode(enc)
                if name in gdf.columns and gdf[name].dtype.kind == "f":
                    out.append(name)
                break
    return out


#: GEOS's reasons for a polygon GDAL put together from rings wound against the shapefile rule.
_MISWOUND = ("Hole lies outside shell", "Nested shells")


def nest_miswound_rings(gdf: gpd.GeoDataFrame) -> list[Any]:
    """Rebuild, in ``gdf``, the polygons GDAL paired wrongly; their feature ids.

    A shapefile polygon is a list of rings: outer rings clockwise, holes counter-clockwise.
    GDAL trusts the winding, so rings wound otherwise (by a script, a CAD converter) come out
    as a hole outside its shell or as nested shells; the repair then dropped the parcel, kept
    its hole as land, or kept only an island. Such rings are paired by which lies inside which
    (even-odd), as GDAL itself does when told to look (``OGR_ORGANIZE_POLYGONS=DEFAULT``).
    """
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    rings = shapely.get_num_interior_rings(geoms) + shapely.get_num_geometries(geoms)
    fixed: list[Any] = []
    several = np.flatnonzero(rings > 1)  # one ring cannot be paired wrongly
    # the reasons of all of them at once (a loop of GEOS calls costs a big layer seconds)
    reasons: Any = shapely.is_valid_reason(geoms[several]) if len(several) else []
    for i, reason in zip(several, reasons, strict=True):
        if reason is None or not reason.startswith(_MISWOUND):
            continue
        lines = [r.coords for r in shapely.get_rings(shapely.get_parts(geoms[i]))]
        rebuilt = shapely.build_area(shapely.MultiLineString(lines))
        if rebuilt.is_empty or not rebuilt.is_valid:
            continue  # rings that cross: the repair says what it does with them
        geoms[i] = rebuilt
        fixed.append(gdf.index[i])
    if fixed:
        gdf[gdf.geometry.name] = gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs)
    return fixed


def _dbf_text_chunks(dbf: Path, *, chunk_records: int = 4096) -> Iterator[bytes]:
    """The raw bytes of the DBF's field names and character fields, in chunks."""
    n_records, header_len, record_len = _dbf_header(dbf)
    with dbf.open("rb") as fh:
        names, fields = _dbf_fields(fh.read(header_len))
        yield b"\n".join(names)
        remaining = n_records
        while remaining > 0:
            n = min(chunk_records, remaining)
            block = fh.read(n * record_len)
            remaining -= n
            yield b"\n".join(
                block[r * record_len + o : r * record_len + o + ln]
                for r in range(len(block) // record_len)
                for o, ln in fields
            )


def shapefile_encoding(path: Path) -> tuple[str | None, str | None]:
    """Encoding of a shapefile's DBF and a note for the user (None: GDAL knows, from .cpg).

    Without a ``.cpg``, a Chinese code page the DBF header names is taken
    (:mod:`qzgeo.io.dbf_ldid`), else the text is tried as strict UTF-8, then GB18030;
    text that is neither is refused rather than read as mojibake. A ``.cpg`` naming a GB code
    page (GB2312, GBK, 936...) is read as GB18030, their superset: Chinese tools write
    "GB2312" for GBK text, and GB2312 alone loses characters such as 堃 and 镕.
    """
    cpg = sidecar(path, ".cpg")
    if cpg is not None:
        if _gb_code_page(cpg):
            return "GB18030", _utf8_under_gb_note(path, cpg)
        return None, _other_cpg_note(path, cpg)
    dbf = sidecar(path, ".dbf")
    if dbf is None:
        msg = f"{path}: the .dbf file is missing; copy all the shapefile's files together"
        raise MissingInputError(msg)
    if (page := declared_code_page(dbf)) is not None and _decodes(dbf, page.codec):
        notes = (
            utf8_under_ldid_note(path, _first_non_ascii(dbf), page),
            _cut_note(path, dbf, page.codec),
        )
        return page.gdal, "; ".join(n for n in notes if n) or None
    for enc in ("utf-8", "gb18030"):
        if not _decodes(dbf, enc):
            continue
        label = "UTF-8" if enc == "utf-8" else "GB18030"
        note = f"{path}: no .cpg file; the attribute text decodes as {label}, read as {label}"
        cut = _cut_note(path, dbf, enc)
        if enc == "utf-8":
            log.info("%s", note)
            return label, cut
        sample = _first_non_ascii(dbf)  # the file's own text both ways: Latin-1 reads as GBK too
        shown = "" if sample is None else f" (first such text {readings(sample, 0)})"
        return label, note + shown + ("" if cut is None else f"; {cut}")
    msg = (
        f"{path}: no .cpg file and the attribute text is neither UTF-8 nor GBK; pass the "
        "encoding (encoding=... / --encoding, e.g. big5) or add a .cpg file"
    )
    raise InputError(msg)


def cpg_label(path: Path) -> str | None:
    """``'<text> (its .cpg)'`` for a shapefile GDAL decodes by a non-GB ``.cpg``, else None.

    GDAL hands the text over as UTF-8 whatever the .cpg says: that is not what it was read as.
    """
    cpg = sidecar(path, ".cpg")
    if cpg is None or _gb_code_page(cpg):
        return None
    return f"{_cpg_text(cpg)} (its .cpg)"


def _cpg_text(cpg: Path) -> str:
    return cpg.read_bytes()[:64].decode("ascii", "replace").strip()


def _other_cpg_note(path: Path, cpg: Path) -> str | None:
    """A note when a non-GB, non-UTF-8 ``.cpg`` (1252, ISO-8859-1...) holds GBK-looking text.

    Any bytes read as Windows-1252 or Latin-1: a GBK .dbf beside such a .cpg (written by a
    tool set to a Western code page) becomes mojibake without an error.
    """
    text = _cpg_text(cpg)
    if "".join(c for c in text.upper() if c not in " -_") in ("UTF8", "65001"):
        return None
    dbf = sidecar(path, ".dbf")
    if dbf is None or _decodes(dbf, "ascii") or not _decodes(dbf, "gb18030"):
        return None
    sample = _first_non_ascii(dbf)
    shown = ""
    if sample is not None:  # the file's own text both ways, not an example
        codec = _CPG_CODECS.get(text.upper().replace(" ", "").removeprefix("ANSI"), "cp1252")
        as_cpg, as_gbk = sample.decode(codec, "replace")[:16], sample.decode("gb18030")[:16]
        shown = f": {as_gbk!r} reads as {as_cpg!r}"
    return (
        f"{path}: its .cpg says {text!r} and the text is read so, but it also reads as "
        f"GBK{shown}; if GBK is meant: --encoding GBK"
    )


def _utf8_under_gb_note(path: Path, cpg: Path) -> str | None:
    """A note when a GB ``.cpg`` holds text that is valid UTF-8 (and not ASCII).

    Chinese in UTF-8 decodes as GB18030 too, without an error: 工业用地 becomes 宸ヤ笟鐢ㄥ湴 (a
    UTF-8 .dbf beside a .cpg copied from a GBK export). GBK text is rarely valid UTF-8.
    """
    dbf = sidecar(path, ".dbf")
    sample = _first_non_ascii(dbf) if dbf is not None and _decodes(dbf, "utf-8") else None
    if sample is None:
        return None
    as_gb, as_utf8 = sample.decode("gb18030", "replace")[:16], sample.decode("utf-8")[:16]
    return (
        f"{path}: its .cpg says {_cpg_text(cpg)!r} and the text is read so ({as_gb!r}), "
        f"but it is valid UTF-8, {as_utf8!r}; if UTF-8 is meant: --encoding UTF-8"
    )


#: Python codecs of the Western .cpg texts ArcGIS and QGIS write (upper case, no spaces).
_CPG_CODECS = {
    "1252": "cp1252",
    "ISO-8859-1": "latin-1",
    "ISO88591": "latin-1",
    "8859-1": "latin-1",
}


def _first_non_ascii(dbf: Path) -> bytes | None:
    """The first field name or text of the DBF that is not ASCII (a GBK one: checked before)."""
    for chunk in _dbf_text_chunks(dbf):
        for item in chunk.split(b"\n"):
            if any(b >= 0x80 for b in item):
                return item.strip(b" \0")
    return None


def _decodes(dbf: Path, encoding: str) -> bool:
    """Whether every field name and text of the DBF decodes strictly as ``encoding`` (a field
    name cut inside a character by the 10-byte limit decodes: see :func:`_cut_names`)."""
    try:
        for k, chunk in enumerate(_dbf_text_chunks(dbf)):
            if k == 0:  # the field names
                _cut_names(chunk.split(b"\n"), encoding)
            else:
                chunk.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


#: A DBF field name holds at most 10 bytes: a longer one was cut there, often inside a
#: character (GBK 用地性质分类 after one ASCII letter).
_DBF_NAME_BYTES = 10


def _cut_names(names: list[bytes], encoding: str) -> list[str]:
    """The names that decode only as cut at the 10-byte limit inside a character (their whole
    characters); :class:`UnicodeDecodeError` for a name that does not decode even so.

    Such a file was refused as "neither UTF-8 nor GBK; e.g. big5" when it had no .cpg, though
    GDAL reads it in GBK, the cut character dropped.
    """
    cut = []
    for name in names:
        try:
            name.decode(encoding)
        except UnicodeDecodeError:
            if len(name) < _DBF_NAME_BYTES:
                raise
            cut.append(codecs.getincrementaldecoder(encoding)().decode(name, final=False))
    return cut


def _cut_note(path: Path, dbf: Path, encoding: str) -> str | None:
    """What to say of field names cut inside a character, if any."""
    with dbf.open("rb") as fh:
        names, _ = _dbf_fields(fh.read(_dbf_header(dbf)[1]))
    cut = _cut_names(names, encoding)
    if not cut:
        return None
    return (
        f"{path}: field name(s) {', '.join(repr(c) for c in cut)} were cut inside a "
        "character by the DBF's 10-byte limit; read without the cut character (rename the "
        "field, or keep the data in GeoPackage)"
    )


def cpg_mismatch(path: Path, encoding: str | None) -> str | None:
    """What to say when a shapefile's text fails in the encoding its ``.cpg`` names.

    ``None`` for another file, with an ``encoding`` given, without a ``.cpg`` or with a GB one
    (read as GB18030). A ``.cpg`` copied from another export is common: a GBK ``.dbf`` beside
    ``UTF-8``, ``65001`` or ``ANSI 1252`` (pyogrio's Arrow reader then says "not encoded in
    UTF-8; please use_arrow=False", which names neither the .cpg nor the fix).
    """
    if encoding is not None or path.suffix.lower() != ".shp":
        return None
    cpg = sidecar(path, ".cpg")
    dbf = sidecar(path, ".dbf")
    if cpg is None or dbf is None or _gb_code_page(cpg):
        return None
    declared = _cpg_text(cpg)
    fix = "pass its encoding with --encoding (or fix the .cpg)"
    for chunk in _dbf_text_chunks(dbf):  # values joined by b"\n": show the first that fails
        try:
            chunk.decode("utf-8")
        except UnicodeDecodeError as exc:
            start = chunk.rfind(b"\n", 0, exc.start) + 1
            value = chunk[start:].split(b"\n", 1)[0]
            shown = readings(value, exc.start - start)
            fix = f"a value reads {shown}: {ENCODING_FIX} (or fix the .cpg)"
            break
    return f"its .cpg says {declared!r} but the attribute text is not in that encoding; {fix}"


#: .cpg texts of the GB family (upper case, without spaces, dashes and underscores).
_GB_CODE_PAGES = frozenset({"GB2312", "GBK", "936", "CP936", "ANSI936", "GB18030", "EUCCN"})


def _gb_code_page(cpg: Path) -> bool:
    """Whether a ``.cpg`` file names a GB code page (read as GB18030, their superset)."""
    try:
        text = cpg.read_bytes()[:64].decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return False
    key = "".join(c for c in text.upper() if c not in " -_")
    return key in _GB_CODE_PAGES
