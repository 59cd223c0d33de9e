"""Rows of a GeoPackage layer by feature id, read with SQLite alone (no GDAL).

A streamed ``qzgeo analyze`` reads back some of the rows it has just written
(:mod:`qzgeo.analysis.overlap_chunks`) while it writes the layer's spatial index into the same
file. Through GDAL that read had to wait for the index: GDAL's SQLite connection meeting the
index writer's lock fails ("database is locked"). A plain SQLite connection with a busy
timeout waits its turn instead, so the two run side by side: the reader sees the rows GDAL
committed, the writer commits its index when the reader's statement is done.

A GeoPackage geometry is a small header (``GP``, version, flags, SRS id, an optional envelope
whose size the flags give) before standard WKB (GeoPackage 1.3, clause 2.1.3).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from qzgeo.io.sqlite_names import sql_ident

__all__ = ["geometry_of_blobs", "read_rows_by_fid"]

#: Bytes of the envelope for each envelope code of the flags (bits 1-3).
_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}
#: Feature ids per ``IN`` list (SQLite's default limit on host parameters is 32 766).
IDS_PER_QUERY = 20_000
#: Seconds a read waits for a writer's lock on the file before it fails.
BUSY_SECONDS = 60.0


def geometry_of_blobs(blobs: list[bytes | None]) -> npt.NDArray[np.object_]:
    """Shapely geometries of GeoPackage geometry blobs (``None`` for NULL; empty where the
    header says so).

    Examples
    --------
    >>> wkb = shapely.to_wkb(shapely.box(0, 0, 1, 1))
    >>> blob = b"GP\\x00\\x01" + (4490).to_bytes(4, "little") + wkb  # no envelope
    >>> geometry_of_blobs([blob, None])[0].area, geometry_of_blobs([None])[0] is None
    (1.0, True)
    """
    wkb: list[bytes | None] = []
    for b in blobs:
        if b is None:
            wkb.append(None)
            continue
        if len(b) < 8 or b[:2] != b"GP":
            msg = "not a GeoPackage geometry blob (no 'GP' header); please report this"
            raise ValueError(msg)
        flags = b[3]
        if flags & 0b10000:  # the empty-geometry flag: the WKB (if any) is an empty one
            wkb.append(shapely.to_wkb(shapely.Polygon()))
            continue
        env = _ENVELOPE_BYTES.get((flags >> 1) & 0b111)
        if env is None:
            msg = f"a GeoPackage geometry blob with envelope code {(flags >> 1) & 7}"
            raise ValueError(msg)
        wkb.append(b[8 + env :])
    return np.asarray(shapely.from_wkb(wkb), dtype=object)


def read_rows_by_fid(
    path: str | os.PathLike[str],
    table: str,
    geometry: str,
    column: str,
    fids: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.object_], list[Any]]:
    """The geometries and ``column`` of the rows of ``table`` whose feature id (``fid``) is in
    ``fids`` (sorted, distinct), in that order; read-only, waiting for a writer's lock."""
    geoms = np.empty(len(fids), dtype=object)
    values: list[Any] = [None] * len(fids)
    uri = Path(path).resolve().as_uri() + "?mode=ro"  # as_uri escapes '?', '#', '%'
    con = sqlite3.connect(uri, uri=True, timeout=BUSY_SECONDS, check_same_thread=False)
    try:
        q = (sql_ident(table), sql_ident(geometry), sql_ident(column))
        for s in range(0, len(fids), IDS_PER_QUERY):
            part = fids[s : s + IDS_PER_QUERY]
            marks = ",".join("?" * len(part))
            got = con.execute(
                f"SELECT fid, {q[1]}, {q[2]} FROM {q[0]} WHERE fid IN ({marks})",
                [int(v) for v in part],
            ).fetchall()
            at = s + np.searchsorted(part, np.array([r[0] for r in got], dtype=np.int64))
            geoms[at] = geometry_of_blobs([r[1] for r in got])
            for k, r in zip(at.tolist(), got, strict=True):
                values[k] = r[2]
    finally:
        con.close()
    return geoms, values
