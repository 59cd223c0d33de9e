"""A FlatGeobuf whose header counts fewer features than it holds: refused, not cut short.

GDAL reads as many features as a FlatGeobuf's header counts. In a file with a spatial index
a count too high or too low breaks the index, and GDAL refuses the file ("Buffer verification
failed"). Without an index, the features simply follow the header, each as its size and its
bytes; a count too low (features appended by another program, a writer that counted wrong)
made GDAL stop early, and ``qzgeo analyze`` measured 5 parcels of a file of 10 and said "0
dropped". QGIS and ogr2ogr read the same 5, so qzgeo refuses such a file and names both
numbers: the fix is to write it again from its source. A count of 0 means "unknown", and
GDAL then reads every feature.

The header is a FlatBuffers table (``header.fbs`` of the FlatGeobuf specification): field 8
is ``features_count`` (ulong), field 9 ``index_node_size`` (ushort, 16 when absent; 0: no
index).
"""

from __future__ import annotations

import functools
import mmap
import struct
from pathlib import Path

from qzgeo._errors import InputError

__all__ = ["arrow_safe", "check_fgb_count", "fgb_header", "fgb_records"]

_MAGIC = b"fgb"
_FEATURES_COUNT, _INDEX_NODE_SIZE = 8, 9


def fgb_header(head: bytes) -> tuple[int, int, int]:
    """``features_count``, ``index_node_size`` and where the header ends, from a
    FlatGeobuf's first bytes (magic, header size, header); ``ValueError`` if not one.

    Examples
    --------
    >>> import tempfile, pyogrio, geopandas as gpd, shapely
    >>> p = Path(tempfile.mkdtemp()) / "a.fgb"
    >>> g = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)] * 3, crs="EPSG:4490")
    >>> pyogrio.write_dataframe(g, p, SPATIAL_INDEX="NO")
    >>> fgb_header(p.read_bytes())[:2]  # three features, no index
    (3, 0)
    """
    if head[:3] != _MAGIC or (len(head) >= 7 and head[4:7] != _MAGIC):
        msg = "not a FlatGeobuf (no magic bytes)"
        raise ValueError(msg)
    if len(head) < 12:
        msg = f"{len(head)} bytes, fewer than its first 12"
        raise ValueError(msg)
    (size,) = struct.unpack_from("<I", head, 8)
    hdr = head[12 : 12 + size]
    if len(hdr) < size or size < 8:
        msg = f"{len(hdr)} of its {size} bytes"
        raise ValueError(msg)
    (table,) = struct.unpack_from("<I", hdr, 0)
    (back,) = struct.unpack_from("<i", hdr, table)
    vtable = table - back
    (vt_size,) = struct.unpack_from("<H", hdr, vtable)

    def field(k: int, fmt: str, default: int) -> int:
        at = 4 + 2 * k
        off = struct.unpack_from("<H", hdr, vtable + at)[0] if at + 2 <= vt_size else 0
        return int(struct.unpack_from(fmt, hdr, table + off)[0]) if off else default

    return field(_FEATURES_COUNT, "<Q", 0), field(_INDEX_NODE_SIZE, "<H", 16), 12 + size


def fgb_records(path: Path, start: int) -> int | None:
    """How many features follow ``start`` in a FlatGeobuf without an index (each a 32-bit
    size and that many bytes); ``None`` if the last one runs past the end of the file."""
    with path.open("rb") as fh:
        size = path.stat().st_size
        if size <= start:
            return 0
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            n, at, unpack = 0, start, struct.Struct("<I").unpack_from
            while at + 4 <= size:
                at += 4 + unpack(buf, at)[0]
                n += 1
    return n if at == size else None


def check_fgb_count(path: Path) -> None:
    """Refuse a FlatGeobuf without an index whose header counts fewer features than it holds
    (:class:`~qzgeo._errors.InputError`, exit 2); anything else is GDAL's to read or refuse."""
    stat = path.stat()
    _check(str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _check(path: str, size: int, mtime_ns: int) -> None:
    """:func:`check_fgb_count` once per file version (chunks read the same file again)."""
    p = Path(path)
    head = _head(p)
    if head[:3] != _MAGIC:
        return  # not a FlatGeobuf at all: the allow-list's magic check says so
    try:
        count, node_size, start = fgb_header(head)
    except (ValueError, struct.error) as exc:  # GDAL opened it with no layer: pyogrio crashed
        msg = f"{p}: its FlatGeobuf header is cut short or corrupt ({exc}); export it again"
        raise InputError(msg) from exc
    if count == 0 or node_size != 0:
        return
    held = fgb_records(p, start)
    if held is not None and held > count:
        msg = (
            f"{p}: its header counts {count} features but it holds {held}; GDAL (and so QGIS "
            f"and ogr2ogr) reads only the first {count}, which would drop {held - count} "
            "without a word. Write the file again from its source (e.g. with a spatial "
            "index: ogr2ogr -f FlatGeobuf -lco SPATIAL_INDEX=YES), or as a GeoPackage"
        )
        raise InputError(msg)


def arrow_safe(path: Path) -> bool:
    """Whether GDAL's Arrow reader may read ``path``.

    Not a FlatGeobuf without a spatial index: it alone may hold null or empty geometries, and
    GDAL 3.12's Arrow reader then returns a corrupt geometry column (the process crashed).
    """
    if path.suffix.lower() != ".fgb":
        return True
    try:
        count, node_size, _ = fgb_header(_head(path))
    except (OSError, ValueError, struct.error):
        return False
    return count > 0 and node_size != 0  # a count of 0 (unknown): GDAL builds no index


def _head(path: Path) -> bytes:
    """A FlatGeobuf's magic, header size and header."""
    with path.open("rb") as fh:
        head = fh.read(12)
        if len(head) == 12 and head[:3] == _MAGIC:
            head += fh.read(struct.unpack_from("<I", head, 8)[0])
    return head
