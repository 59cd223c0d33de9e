"""Overlapping parcels of different chunks of a streamed ``qzgeo analyze``.

Each chunk finds the pairs within it (:func:`qzgeo.analysis.parcel_overlaps.find_overlaps`);
a pair split across chunks is found here, after the rows are written, with bounded memory:

- while the chunks stream, only each row's box is kept (four float32, rounded outwards, as the
  output's R-tree holds them) and its chunk: 18 bytes a parcel;
- the rows that can meet another chunk's are picked in numpy (:func:`near_other_chunks`:
  their box meets another chunk's extent and shares a cell of a grid with another chunk's
  box), and cut into slabs of about ``slab_rows`` by the x of their box's centre; in each
  slab the pairs of boxes of different chunks that meet are found (an STRtree of the boxes
  of that slab and its reach only);
- the candidates' geometries are read back from the written ``parcels.gpkg`` (by its primary
  key: the geometries measured, in the parcels' CRS) a slab at a time, and the same exact
  search as in memory runs on them; a pair is kept by the slab of its first row only.

A spatially sorted file (a GeoPackage read in tiles of its R-tree) has few candidates: the rows
along the tiles' edges. A file in random order has many, read back slab by slab.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from qzgeo.analysis.parcel_columns import SOURCE_FID
from qzgeo.analysis.parcel_overlaps import (
    OVERLAP_MIN_M2,
    ParcelOverlaps,
    overlapping_pairs,
    shared_m2,
    sliver_area,
)
from qzgeo.io.gpkg_rows import read_rows_by_fid

__all__ = ["ChunkBoxes", "MappedBoxes", "cross_chunk_overlaps", "near_other_chunks"]

Ints = npt.NDArray[np.int64]


class ChunkBoxes:
    """The box and chunk of every row written, in output order (rows without a box: NaN);
    ``crs``: the rows'; ``slab_rows``: the rows of a slab (those of a chunk); ``planar``:
    the overlay's CRS, where lon/lat rows' shared land is measured."""

    def __init__(self, crs: Any = None, slab_rows: int = 250_000, planar: Any = None) -> None:
        self.boxes: list[npt.NDArray[np.float32]] = []
        self.rows = 0
        self.crs, self.slab_rows, self.planar = crs, slab_rows, planar

    def add(self, cells: npt.NDArray[Any], rows: int) -> None:
        """A chunk's rows: ``cells`` of its :class:`~qzgeo.io.gpkg_rtree.LeafPack` (``id``: the
        row's position, ``box``: minx, maxx, miny, maxy as SQLite's R-tree holds them)."""
        b = np.full((rows, 4), np.nan, dtype=np.float32)
        b[cells["id"]] = np.asarray(cells["box"], dtype=np.float32)[:, [0, 2, 1, 3]]
        self.boxes.append(b)
        self.rows += rows

    @property
    def chunks(self) -> int:
        return len(self.boxes)

    def arrays(self) -> tuple[npt.NDArray[np.float32], npt.NDArray[Any]]:
        """All boxes (minx, miny, maxx, maxy) and the chunk of each row."""
        boxes = np.concatenate(self.boxes) if self.boxes else np.zeros((0, 4), np.float32)
        return boxes, _chunk_of_rows([len(b) for b in self.boxes])

    def to_file(self, path: Path) -> MappedBoxes:
        """The boxes written to ``path`` (raw float32, chunk after chunk, no copy of them
        all), for a worker process to map instead of receiving them pickled: at 10M rows
        that copy and its unpickling made the worker ~400 MB larger than the others."""
        with path.open("wb") as f:
            for b in self.boxes:
                b.tofile(f)
        sizes = [len(b) for b in self.boxes]
        return MappedBoxes(path, sizes, self.crs, self.slab_rows, self.planar)


class MappedBoxes:
    """:class:`ChunkBoxes` saved by :meth:`ChunkBoxes.to_file`: the same :meth:`arrays`, the
    boxes mapped from the file (read-only) rather than held."""

    def __init__(
        self, path: Path, sizes: list[int], crs: Any, slab_rows: int, planar: Any = None
    ) -> None:
        self.path, self.sizes, self.crs, self.slab_rows = path, sizes, crs, slab_rows
        self.planar = planar

    @property
    def chunks(self) -> int:
        return len(self.sizes)

    def arrays(self) -> tuple[npt.NDArray[np.float32], npt.NDArray[Any]]:
        rows = sum(self.sizes)
        if not rows:
            return np.zeros((0, 4), np.float32), _chunk_of_rows(self.sizes)
        boxes = np.memmap(self.path, dtype=np.float32, mode="r", shape=(rows, 4))
        return boxes, _chunk_of_rows(self.sizes)


def _chunk_of_rows(sizes: list[int]) -> npt.NDArray[Any]:
    """The chunk of each row, for chunks of ``sizes`` rows."""
    kind = np.uint16 if len(sizes) < 2**16 else np.int32
    return np.repeat(np.arange(len(sizes), dtype=kind), sizes)


Slab = tuple[Ints, Ints, Ints]


def _slabs(
    boxes: npt.NDArray[np.float32], chunk: npt.NDArray[Any], slab_rows: int
) -> Iterator[Slab]:
    """Per slab: its rows and the pairs (row of the slab, later row) of boxes that meet and
    lie in different chunks. Rows are ranked by the x of their box's centre."""
    has = near_other_chunks(boxes, chunk)  # ascending
    order = has[np.argsort(boxes[has, 0] + boxes[has, 2], kind="stable")]
    # the rank of each row of `has`, looked up by position in it: not an array over every
    # row (80 MB at 10M rows, in the worker that runs this)
    ranks = np.empty(len(has), dtype=np.int64)
    ranks[np.searchsorted(has, order)] = np.arange(len(order))
    for s in range(0, len(order), slab_rows):
        own = order[s : s + slab_rows]
        lo, hi = float(boxes[own, 0].min()), float(boxes[own, 2].max())
        reach = has[(boxes[has, 2] >= lo) & (boxes[has, 0] <= hi)]
        tree = shapely.STRtree(shapely.box(*boxes[reach].T.astype(np.float64)))
        q, r = tree.query(shapely.box(*boxes[own].T.astype(np.float64)))
        a, b = own[q], reach[r]
        keep = (ranks[np.searchsorted(has, a)] < ranks[np.searchsorted(has, b)]) & (
            chunk[a] != chunk[b]
        )
        yield own, a[keep].astype(np.int64), b[keep].astype(np.int64)


def near_other_chunks(boxes: npt.NDArray[np.float32], chunk: npt.NDArray[Any]) -> Ints:
    """The rows whose box meets the extent of a chunk other than its own: only they can
    overlap a parcel of another chunk (with chunks of neighbours, those along their edges).

    Rows of a chunk are consecutive; each is tested against every chunk's extent, in blocks
    of rows (a few dozen chunks: n x chunks comparisons, numpy only).
    """
    ok = np.isfinite(boxes).all(axis=1)
    starts = np.flatnonzero(np.r_[True, chunk[1:] != chunk[:-1]])
    lo = np.fmin.reduceat(boxes[:, :2], starts, axis=0)  # NaN (no box) left out
    hi = np.fmax.reduceat(boxes[:, 2:], starts, axis=0)
    near = np.zeros(len(boxes), dtype=bool)
    block = max(1, 2**24 // max(1, len(starts)))
    for s in range(0, len(boxes), block):
        b = boxes[s : s + block, :, None]
        meets = np.asarray((b[:, 0] <= hi[:, 0]) & (b[:, 2] >= lo[:, 0]), dtype=bool)
        meets &= (b[:, 1] <= hi[:, 1]) & (b[:, 3] >= lo[:, 1])
        near[s : s + block] = meets.sum(axis=1) >= 2  # its own chunk's, and another's
    return _sharing_cells(boxes, chunk, np.flatnonzero(near & ok))


#: Grid cells a box is cut into at most; a bigger one is tested against every row.
MAX_CELLS = 4096


def _sharing_cells(boxes: npt.NDArray[np.float32], chunk: npt.NDArray[Any], rows: Ints) -> Ints:
    """Of ``rows``, those whose box shares a cell of a grid with a box of another chunk.

    A chunk is not a rectangle (rows of a file cut where the count says), so the test by
    extents leaves too many; boxes that meet share a cell of any grid. The cells are twice a
    typical box; each row is listed in the cells its box covers, and cells holding rows of two
    chunks or more mark them all.
    """
    if len(rows) < 2:
        return rows
    b = boxes[rows].astype(np.float64)
    cell = max(2.0 * float(np.median(np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]))), 1e-6)
    c0 = np.floor((b[:, :2] - b[:, :2].min(axis=0)) / cell).astype(np.int64)
    c1 = np.floor((b[:, 2:] - b[:, :2].min(axis=0)) / cell).astype(np.int64)
    nx, ny = c1[:, 0] - c0[:, 0] + 1, c1[:, 1] - c0[:, 1] + 1
    big = nx * ny > MAX_CELLS
    k = np.flatnonzero(~big)
    n = (nx * ny)[k]
    row = np.repeat(k, n)
    off = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    key = (c0[row, 0] + off % nx[row]) * (int(c1[:, 1].max()) + 1) + c0[row, 1] + off // nx[row]
    order = np.argsort(key, kind="stable")
    key, row = key[order], row[order]
    of = chunk[rows][row].astype(np.int64)
    head = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    mixed = np.minimum.reduceat(of, head) != np.maximum.reduceat(of, head)
    near = np.zeros(len(rows), dtype=bool)
    near[row[np.repeat(mixed, np.diff(np.r_[head, len(key)]))]] = True
    for r in np.flatnonzero(big):  # rare: a parcel many times the size of most
        meets = (b[:, 0] <= b[r, 2]) & (b[:, 2] >= b[r, 0]) & (b[:, 1] <= b[r, 3])
        meets &= (b[:, 3] >= b[r, 1]) & (chunk[rows] != chunk[rows[r]])
        if meets.any():
            near[meets] = near[r] = True
    return rows[near]


def _read_rows(
    gpkg: Path, layer: str, geometry: str, rows: Ints
) -> tuple[npt.NDArray[np.object_], list[Any]]:
    """The geometries and source feature ids of output ``rows`` (0-based: fid - 1), in order.

    Read with SQLite alone (:func:`qzgeo.io.gpkg_rows.read_rows_by_fid`): it waits for the
    lock of the index being written meanwhile, where GDAL's connection would fail."""
    geoms, fids = read_rows_by_fid(gpkg, layer, geometry, SOURCE_FID, rows + 1)
    # written as MultiPolygon: one part back to the Polygon that was measured
    single = (shapely.get_type_id(geoms) == 6) & (shapely.get_num_geometries(geoms) == 1)
    geoms[single] = shapely.get_geometry(geoms[single], 0)
    return geoms, fids


def cross_chunk_overlaps(
    gpkg: Path,
    found: ChunkBoxes | MappedBoxes,
    source: str = "",
    *,
    layer: str = "parcels",
    geometry: str = "geom",
) -> ParcelOverlaps:
    """The overlapping pairs of parcels in different chunks (see the module's method), of
    the rows written to ``layer`` of ``gpkg``; ``source`` names the parcels' file (or
    :meth:`ParcelOverlaps.extend` one that does)."""
    out = ParcelOverlaps(source)
    if found.chunks < 2:
        return out
    boxes, chunk = found.arrays()
    for own, a, b in _slabs(boxes, chunk, found.slab_rows):
        if not len(a):
            continue
        rows = np.unique(np.concatenate([a, b]))
        geoms, fids = _read_rows(gpkg, layer, geometry, rows)
        among = (np.searchsorted(rows, a), np.searchsorted(rows, b))
        i, j = overlapping_pairs(geoms, among, least=sliver_area(found.crs))
        ri, rj = rows[i], rows[j]
        mine = np.isin(_first_of(boxes, ri, rj), own) & (chunk[ri] != chunk[rj])
        i, j = i[mine], j[mine]
        m2 = shared_m2(geoms[i], geoms[j], found.crs, planar=found.planar)
        keep = m2 >= OVERLAP_MIN_M2
        ids = np.asarray(fids, dtype=object)
        out.add(ids[i[keep]], ids[j[keep]], m2[keep])
    return out


def _first_of(boxes: npt.NDArray[np.float32], ri: Ints, rj: Ints) -> Ints:
    """Of each pair of rows, the one ranked first by :func:`_slabs` (its box's centre x, then
    its row): the pair belongs to that row's slab."""
    ci, cj = boxes[ri, 0] + boxes[ri, 2], boxes[rj, 0] + boxes[rj, 2]
    return np.where((ci < cj) | ((ci == cj) & (ri < rj)), ri, rj)
