"""How a parcel file is cut into chunks (:func:`chunk_starts`), before any chunk is read.

A GeoPackage with an R-tree is cut into spatial tiles of it, any other GeoPackage into
ranges of its primary key, a PostGIS table into ranges of its key, other formats by
position; see :mod:`qzgeo.analysis.chunk_pool` for how the chunks are then analyzed.
"""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyogrio

from qzgeo.io.gpkg_count import distinct_fids, stale_count
from qzgeo.io.gpkg_tiles import rtree_tiles
from qzgeo.io.postgis_read import KeyRange, postgis_key_ranges
from qzgeo.io.postgis_uri import is_postgis_uri, redact_uri
from qzgeo.io.sqlite_names import sql_ident
from qzgeo.io.vector import PYOGRIO_ERRORS

__all__ = ["ChunkSource", "ChunkStart", "chunk_starts", "fid_column", "stale_count_read"]


@dataclass(frozen=True)
class ChunkSource:
    """Where the parcels are and how to read them (the options of ``read_layer``)."""

    path: str
    layer: str | None = None
    crs: str | None = None
    datum: str | None = None
    read_kwargs: dict[str, Any] = field(default_factory=dict)
    fid: str | None = None  # a GeoPackage's primary key: chunks are ranges of it
    declared: tuple[tuple[str, str], ...] = ()  # (field, dtype): written back with its type

    @property
    def shown(self) -> str:
        """``path`` for messages: a PostGIS URI's password hidden."""
        return redact_uri(self.path)


#: One chunk: its position (features before it, for messages), the selector of
#: :func:`qzgeo.io.vector.read_layer_features`, at most how many features, and how many it
#: must hold (``None``: as many as the file has there; a PostGIS key range counts its own).
ChunkStart = tuple[int, int | str | KeyRange, int, int | None]


def chunk_starts(source: ChunkSource, n: int, rows: int) -> list[ChunkStart]:
    """Every chunk of at most ``rows`` features.

    A GeoPackage with an R-tree holding one box per feature is cut into spatial tiles
    (:func:`qzgeo.io.gpkg_tiles.rtree_tiles`: neighbouring parcels in one chunk, chunks in a
    spatially coherent order, so the output's R-tree is built 4x faster); any other
    GeoPackage into ranges of its primary key (the FIDs are read once, ~0.1 s per million);
    a PostGIS table into ranges of its primary key, in key order
    (:func:`qzgeo.io.postgis_read.postgis_key_ranges`); other formats by position.
    """
    if is_postgis_uri(source.path):
        ranges = postgis_key_ranges(source.path, rows)
        return [(k * rows, r, rows, None) for k, r in enumerate(ranges)]
    if source.fid is None:
        return [(s, s, rows, None) for s in range(0, max(n, 1), rows)]
    fid_values = _fids(source, n)
    tiles = rtree_tiles(source.path, source.layer, source.fid, rows, fid_values)
    if tiles is not None:
        positions = np.cumsum([0, *(k for _, k in tiles)])
        return [(int(p), w, k + 1, k) for p, (w, k) in zip(positions, tiles, strict=False)]
    bounds = [int(v) for v in fid_values[::rows]] or [0]
    key = sql_ident(source.fid)
    out: list[ChunkStart] = []
    for k, lo in enumerate(bounds):
        hi = f" AND {key} < {bounds[k + 1]}" if k + 1 < len(bounds) else ""
        out.append((k * rows, f"{key} >= {lo}{hi}", rows, None))
    return out


def _fids(source: ChunkSource, n: int) -> npt.NDArray[np.int64]:
    """The FIDs of a GeoPackage layer of ``n`` features, in order.

    When its least and greatest FID are ``n - 1`` apart (a layer written in one go), they are
    1..n with no gap: told by two lookups at the ends of the table's B-tree (a millisecond)
    instead of reading every FID (0.1 s per million, before the first chunk can start). A
    count gone stale behind GDAL's back (rows deleted, the count still the highest FID) only
    makes FID ranges uneven (each covers its FIDs, gone or not), and the R-tree's tiles are
    kept when the FIDs it lacks are none of the table's
    (:func:`qzgeo.io.gpkg_tiles.rtree_tiles`); :func:`stale_count_read` says it.
    """
    try:
        layer = str(pyogrio.read_info(source.path, layer=source.layer)["layer_name"])
        table, key = (sql_ident(v) for v in (layer, str(source.fid)))
        uri = f"{Path(source.path).resolve().as_uri()}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as con:
            # one min() or max() per query: SQLite reads it off the B-tree's end, not a scan
            lo = con.execute(f"SELECT min({key}) FROM {table}").fetchone()[0]
            hi = con.execute(f"SELECT max({key}) FROM {table}").fetchone()[0]
        if lo is not None and hi - lo + 1 == n:
            return np.arange(lo, hi + 1, dtype=np.int64)
    except (sqlite3.Error, *PYOGRIO_ERRORS, KeyError, TypeError):
        pass  # read them
    _, fids = pyogrio.read_arrow(
        source.path, layer=source.layer, columns=[], read_geometry=False, return_fids=True
    )[:2]
    return distinct_fids(  # a stale GeoPackage count: GDAL repeats the last FIDs
        np.asarray(fids.column(0).to_numpy() if isinstance(fids, pa.Table) else fids, np.int64)
    )


def stale_count_read(source: ChunkSource, read: int) -> str | None:
    """The warning of a GeoPackage whose stored feature count is not the ``read`` features its
    chunks held together (:func:`qzgeo.io.gpkg_count.stale_count`, worded as in memory),
    else ``None``.

    The chunks count the rows, not the plan: :func:`_fids` takes FIDs contiguous from the
    table's ends for granted when the stale count is their span, and reads none. Chunks cover
    every feature once whatever the count, so their sum is the table's; it comes free.
    """
    if source.fid is None:  # not a GeoPackage: no stored count
        return None
    return stale_count(Path(source.path), source.layer, read)


def fid_column(path: str | Path, layer: str | None) -> str | None:
    """The primary key of a GeoPackage layer (FIDs ascend in reading order), else ``None``."""
    if Path(path).suffix.lower() != ".gpkg":
        return None
    fid = pyogrio.read_info(path, layer=layer).get("fid_column")
    return str(fid) if fid else None
