"""A pack coverage ready for the parcels' CRS, kept in qzgeo's cache: projected, cut, indexed.

Parcels across a coverage layer's edge are cut by it (:mod:`qzgeo.analysis.coverage_cut`),
with three things made from the coverage: its polygon in the parcels' planar CRS (edges
densified in lon/lat, then projected: :func:`~qzgeo.geo.coverage.coverage_in`), its pieces
of at most :data:`~qzgeo.analysis.overlay_plan.DEFAULT_MAX_VERTICES` vertices, and the
:class:`~qzgeo.analysis.cell_index.CellIndex` of its polygons. For the bundled pack's coastline
(~76 000 vertices) they took ~0.4 s in every worker process of a streamed ``qzgeo analyze``,
on its first chunk, before any parcel of the run could be written; every run, for the same
answer. Here they are kept in qzgeo's cache (``coverage/``, :mod:`qzgeo.cache_store`) under a
key made of the coverage (its WKB, extent and layer), the CRS, the qzgeo code, the library
versions and PROJ's settings and grids (a projection may depend on them), so a run after the
first loads them (~10 ms).

As for the other entries: JSON and bytes, never a pickle; saved only if what was built
decodes to exactly itself (every geometry byte for byte, every array equal); an entry that
does not decode is a miss. With the cache off, nothing changes but the time.
"""

from __future__ import annotations

import functools
import hashlib
import json
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from qzgeo.analysis.cell_index import CellIndex, Grid, summed_area
from qzgeo.analysis.overlay_plan import DEFAULT_MAX_VERTICES, subdivide
from qzgeo.cache_store import cache_off, load_entry, save_entry
from qzgeo.geo.coverage import Coverage, coverage_in, remember_coverage_in
from qzgeo.pack.load import read_settings
from qzgeo.pack.prepared import code_digest, library_versions, proj_grids

__all__ = ["COVERAGE_FORMAT", "CoverageParts", "coverage_key", "coverage_parts"]

#: Bumped whenever what an entry holds changes meaning.
COVERAGE_FORMAT = 1
_KIND = "coverage"

ObjArray = npt.NDArray[np.object_]
_ARRAYS = ("comp", "ptr", "members")  # the CellIndex's arrays kept as they are


@dataclass(frozen=True)
class CoverageParts:
    """A coverage in one planar CRS: its (multi)polygon, its pieces, its cell index."""

    shape: Any
    pieces: ObjArray
    index: CellIndex | None


@functools.lru_cache(maxsize=8)
def coverage_parts(crs_wkt: str, cov: Coverage) -> CoverageParts:
    """The parts of the coverage layer ``cov`` in ``crs_wkt``: from this process's memory,
    else from qzgeo's cache, else built (and kept there). :func:`coverage_in` then gives the
    same polygon in this process."""
    key = coverage_key(crs_wkt, cov)
    got = _load(key) if key is not None else None
    if got is not None:
        remember_coverage_in(crs_wkt, cov, got.shape)
        return got
    parts = _build(crs_wkt, cov)
    if key is not None:
        _save(key, parts)
    return parts


def coverage_key(crs_wkt: str, cov: Coverage) -> str | None:
    """The cache key of ``cov``'s parts in ``crs_wkt``; ``None`` with the cache off or for
    the extent box (nothing to keep)."""
    if cov.wkb is None or cache_off():
        return None
    material = {
        "format": COVERAGE_FORMAT,
        "code": code_digest(),
        "libraries": library_versions(),
        "env": dict(read_settings()),
        "proj_grids": proj_grids(),
        "crs": crs_wkt,
        "coverage": hashlib.sha256(cov.wkb).hexdigest(),
        "extent": [float(v) for v in cov.extent],
        "layer": cov.layer,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode("utf-8")).hexdigest()


def _build(crs_wkt: str, cov: Coverage) -> CoverageParts:
    shape = coverage_in(crs_wkt, cov)
    polygons = np.asarray(shapely.get_parts(shape), dtype=object).reshape(-1)
    pieces = [q for poly in polygons for q in subdivide(poly, DEFAULT_MAX_VERTICES)]
    return CoverageParts(
        shape, np.asarray(pieces, dtype=object).reshape(-1), CellIndex.build(polygons)
    )


# --- the entry ------------------------------------------------------------------------------


def _save(key: str, parts: CoverageParts) -> bool:
    """Save ``parts`` if they round-trip exactly; whether they were saved."""
    try:
        meta, blobs = _encode(parts)
        again = _decode(json.loads(json.dumps(meta)), blobs)
        if not _same(again, parts):
            return False
    except Exception:  # something the codec cannot hold: not cached
        return False
    return save_entry(_KIND, key, meta, blobs)


def _load(key: str) -> CoverageParts | None:
    got = load_entry(_KIND, key)
    if got is None:
        return None
    try:
        return _decode(*got)
    except Exception:  # an entry of another format or a damaged one: a miss
        return None


def _encode(parts: CoverageParts) -> tuple[dict[str, Any], dict[str, bytes]]:
    wkb = shapely.to_wkb(parts.pieces)
    blobs = {"shape": shapely.to_wkb(parts.shape), "pieces": b"".join(wkb)}
    meta: dict[str, Any] = {"pieces": [len(b) for b in wkb], "index": None}
    index = parts.index
    if index is not None:
        # The summed-area table (6 MB for the bundled pack) is kept as the boundary mask it
        # sums, one bit a cell, and summed again when read (~10 ms): an entry of ~1.6 MB
        # instead of 11, read and checked faster than the table itself.
        mask = np.diff(np.diff(index.sat, axis=0), axis=1) != 0
        g = index.grid
        meta["index"] = {
            "grid": [g.x0, g.y0, g.cell, g.rows, g.cols],
            "mask": list(mask.shape),
            "arrays": {n: [str(getattr(index, n).dtype.str), list(getattr(index, n).shape)]
                       for n in _ARRAYS},
        }  # fmt: skip
        blobs["index:mask"] = np.packbits(mask).tobytes()
        for n in _ARRAYS:
            raw = np.ascontiguousarray(getattr(index, n)).tobytes()
            blobs[f"index:{n}"] = zlib.compress(raw, 1)  # comp: runs of a few list numbers
    return meta, blobs


def _decode(meta: dict[str, Any], blobs: dict[str, bytes]) -> CoverageParts:
    sizes = [int(n) for n in meta["pieces"]]
    body, at, wkb = blobs["pieces"], 0, []
    for n in sizes:
        wkb.append(body[at : at + n])
        at += n
    if at != len(body):
        msg = "piece sizes do not add up to the blob"
        raise ValueError(msg)
    pieces = np.asarray(shapely.from_wkb(np.asarray(wkb, dtype=object)), dtype=object)
    spec, index = meta["index"], None
    if spec is not None:
        x0, y0, cell, rows, cols = spec["grid"]
        arrays = {
            n: np.frombuffer(zlib.decompress(blobs[f"index:{n}"]), dtype=np.dtype(d)).reshape(shape)
            for n, (d, shape) in spec["arrays"].items()
        }
        rows_m, cols_m = (int(v) for v in spec["mask"])
        bits = np.frombuffer(blobs["index:mask"], dtype=np.uint8)
        mask = np.unpackbits(bits, count=rows_m * cols_m).reshape(rows_m, cols_m).astype(bool)
        grid = Grid(float(x0), float(y0), float(cell), int(rows), int(cols))
        index = CellIndex(grid, summed_area(mask), **arrays)
    return CoverageParts(shapely.from_wkb(blobs["shape"]), pieces.reshape(-1), index)


def _same(a: CoverageParts, b: CoverageParts) -> bool:
    """Every geometry byte for byte, every array and the grid equal."""
    if shapely.to_wkb(a.shape) != shapely.to_wkb(b.shape) or len(a.pieces) != len(b.pieces):
        return False
    if list(shapely.to_wkb(a.pieces)) != list(shapely.to_wkb(b.pieces)):
        return False
    if (a.index is None) != (b.index is None):
        return False
    if a.index is None or b.index is None:
        return True
    return a.index.grid == b.index.grid and all(
        getattr(a.index, n).dtype == getattr(b.index, n).dtype
        and np.array_equal(getattr(a.index, n), getattr(b.index, n))
        for n in ("sat", *_ARRAYS)
    )
