"""The R-tree of a streamed GeoPackage layer, packed from boxes its chunks bring.

GDAL builds a GeoPackage's spatial index while it writes: each feature's box goes to a
thread that inserts it into an R*-tree in memory, one box at a time, and the tree is written
into SQLite when the file closes. For 1M parcels that cost ~1 CPU-s and ~0.75 s of the
command's wall time, most of it after the last row, with one core busy (README_e2e.md,
round 11). A streamed layer's rows arrive in chunks whose boxes are known already, so:

- each chunk's rows are packed into full leaves where the chunk is made (in a worker):
  :func:`pack_leaves`, sort-tile-recursive (STR) over the box centres;
- the layer is written by GDAL without an index, then :func:`write_rtree` adds the upper
  levels (STR again, over the leaves' boxes) and writes every node straight into the R*Tree's
  tables, with the triggers and the ``gpkg_extensions`` row that GDAL writes for the same
  layer (copied from a one-row GeoPackage GDAL makes for the purpose: the file is what GDAL
  would have written, with a tree of full nodes).

SQLite's R*Tree format (``ext/rtree/rtree.c``): a node is a blob of 4 + 24 x 51 bytes (for
pages of 1 292 bytes or more, GDAL's are 4 096): the tree's depth (root only, else 0) and
the number of cells as big-endian 16-bit integers, then the cells, each a big-endian 64-bit
id (a row's FID in a leaf, a child node's number above) and minx, maxx, miny, maxy as
big-endian 32-bit floats, rounded outwards. Node 1 is the root; ``_parent`` maps every other
node to its parent, ``_rowid`` every indexed row to its leaf. Rows without a box (a NULL or
empty geometry) are not in the tree, as GDAL's insert trigger has it. The result is checked
with SQLite's own ``rtreecheck()`` in the tests.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from qzgeo._errors import OutputError
from qzgeo.io.sqlite_names import sql_ident

__all__ = [
    "CELL",
    "LEAF_CELLS",
    "LeafPack",
    "decode_ints",
    "encode_ints",
    "pack_leaves",
    "rtree_writable",
    "write_rtree",
]

#: One cell of a node: a row's FID (or a child node's number) and its box, as SQLite keeps it.
CELL = np.dtype([("id", ">i8"), ("box", ">f4", (4,))])
#: Cells per node (SQLite's RTREE_MAXCELLS): nodes of 4 + 24 x 51 = 1 228 bytes.
LEAF_CELLS = 51
_NODE_BYTES = 4 + CELL.itemsize * LEAF_CELLS

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class LeafPack:
    """The leaves of one chunk of rows: its boxes packed :data:`LEAF_CELLS` to a leaf.

    ``cells`` are in leaf order, their ids the rows' positions in the chunk (from 0);
    ``ends`` the end of each leaf in ``cells``; ``boxes`` each leaf's box (minx, maxx, miny,
    maxy of its cells); ``leaf_of_row`` each row's leaf in the chunk, -1 for a row without a
    box, as :func:`encode_ints` writes them with ``offset``.
    """

    rows: int
    cells: np.ndarray
    ends: Ints
    boxes: Floats
    leaf_of_row: bytes
    offset: int

    @property
    def leaves(self) -> int:
        return len(self.ends)


def pack_leaves(bounds: Floats) -> LeafPack:
    """Pack rows with ``bounds`` (shapely's minx, miny, maxx, maxy; NaN: no box) into leaves.

    Examples
    --------
    >>> b = np.array([[0, 0, 1, 1], [np.nan] * 4, [5, 5, 6, 7]], dtype=float)
    >>> p = pack_leaves(b)
    >>> p.leaves, p.cells["id"].tolist()
    (1, [0, 2])
    >>> p.boxes.tolist()
    [[0.0, 6.0, 0.0, 7.0]]
    >>> decode_ints(p.leaf_of_row, p.offset).tolist()  # each row's leaf, -1: none
    [0, -1, 0]
    """
    bounds = np.asarray(bounds, dtype=np.float64).reshape(-1, 4)
    rows = len(bounds)
    has = np.flatnonzero(np.isfinite(bounds).all(axis=1))
    b = bounds[has]
    order = str_order(b[:, 0] + b[:, 2], b[:, 1] + b[:, 3], LEAF_CELLS)
    b = b[order]
    cells = np.empty(len(has), dtype=CELL)
    cells["id"] = has[order]
    lo, hi = _rounded(b[:, :2], down=True), _rounded(b[:, 2:], down=False)
    box = np.column_stack([lo[:, 0], hi[:, 0], lo[:, 1], hi[:, 1]])  # SQLite's order
    cells["box"] = box
    of_row = np.full(rows, -1, dtype=np.int64)
    of_row[cells["id"]] = np.arange(len(has)) // LEAF_CELLS
    ends = np.minimum(np.arange(1, -(-len(has) // LEAF_CELLS) + 1) * LEAF_CELLS, len(has))
    text, offset = encode_ints(of_row)
    return LeafPack(rows, cells, ends.astype(np.int64), _node_boxes(box, ends), text, offset)


def str_order(cx: Floats, cy: Floats, per_node: int) -> Ints:
    """The order that packs points (``cx``, ``cy``) ``per_node`` to a node, sort-tile-recursive:
    vertical slices of whole nodes by x, each in y order.

    The same order whatever numpy's sort does with ties: every key is made unique by the
    point's position (numpy's fast unstable sorts, 7x faster than a stable one here).

    Examples
    --------
    >>> x, y = np.meshgrid(np.arange(4.0), np.arange(2.0))  # 2 rows of 4 points
    >>> str_order(x.ravel(), y.ravel(), 2).tolist()  # 2 slices of 2 columns, each by y
    [0, 1, 4, 5, 2, 3, 6, 7]
    """
    n = len(cx)
    bits = max(1, (n - 1).bit_length())
    pos = np.arange(n, dtype=np.int64)
    by_y = np.argsort(_unique_keys(cy, pos, bits))
    if n <= per_node:
        return by_y
    nodes = -(-n // per_node)
    per_slice = int(np.ceil(np.sqrt(nodes))) * per_node
    slice_of = np.empty(n, dtype=np.int64)
    slice_of[np.argsort(_unique_keys(cx, pos, bits))] = pos // per_slice
    rank_y = np.empty(n, dtype=np.int64)
    rank_y[by_y] = pos
    return np.argsort((slice_of << bits) | rank_y)


def _unique_keys(v: Floats, pos: Ints, bits: int) -> Ints:
    """Integers in the order of ``v`` (its lowest ``bits`` mantissa bits dropped), ties
    broken by ``pos`` (< 2**bits): a double's bits read as an integer sort as the double
    does once the negative ones have all but their sign flipped."""
    k = np.ascontiguousarray(v, dtype=np.float64).view(np.int64)
    k = np.where(k < 0, k ^ np.int64(0x7FFF_FFFF_FFFF_FFFF), k)
    return ((k >> bits) << bits) | pos


def _rounded(v: Floats, *, down: bool) -> npt.NDArray[np.float32]:
    """``v`` as 32-bit floats rounded outwards, as SQLite stores a box: down for minima."""
    with np.errstate(over="ignore"):  # beyond float32 (> 3.4e38): +-inf, as SQLite keeps it
        f = v.astype(np.float32)
    if down:
        return np.where(f > v, np.nextafter(f, np.float32(-np.inf)), f)
    return np.where(f < v, np.nextafter(f, np.float32(np.inf)), f)


def _node_boxes(box: np.ndarray, ends: Ints) -> Floats:
    """The box of each node holding ``box`` rows (minx, maxx, miny, maxy) up to ``ends``."""
    if len(ends) == 0:
        return np.empty((0, 4))
    starts = np.concatenate([[0], ends[:-1]])
    b = np.asarray(box, dtype=np.float64)
    lo = np.minimum.reduceat(b[:, [0, 2]], starts, axis=0)
    hi = np.maximum.reduceat(b[:, [1, 3]], starts, axis=0)
    return np.column_stack([lo[:, 0], hi[:, 0], lo[:, 1], hi[:, 1]])


def encode_ints(values: Ints) -> tuple[bytes, int]:
    """``values`` (integers from -1) as a JSON array of numbers of one width, and the offset
    added to each: SQLite's ``json_each`` reads them back (``value - offset``) ~2x faster than
    Python binds them, and numpy writes them ~30x faster than ``str``.

    Examples
    --------
    >>> encode_ints(np.array([3, -1, 120]))
    (b'[1004,1000,1121]', 1001)
    >>> decode_ints(*encode_ints(np.array([3, -1, 120]))).tolist()
    [3, -1, 120]
    """
    v = np.asarray(values, dtype=np.int64)
    if len(v) == 0:
        return b"[]", 0
    if v.min() < -1:
        msg = f"values from -1 only, got {int(v.min())}"
        raise ValueError(msg)
    width = len(str(int(v.max()) + 1))
    offset = 10**width + 1  # every number has width + 1 digits, the first a 1
    x = v + offset
    powers = 10 ** np.arange(width, -1, -1, dtype=np.int64)
    out = np.empty((len(v), width + 2), dtype=np.uint8)
    out[:, :-1] = (x[:, None] // powers) % 10 + ord("0")
    out[:, -1] = ord(",")
    return b"[" + out.tobytes()[:-1] + b"]", offset


def decode_ints(text: bytes, offset: int) -> Ints:
    """The values of :func:`encode_ints` (for tests and examples)."""
    import json

    return np.asarray(json.loads(text), dtype=np.int64) - offset


def rtree_writable() -> bool:
    """Whether Python's SQLite here has the R*Tree module (else GDAL builds the index)."""
    try:
        with contextlib.closing(sqlite3.connect(":memory:")) as con:
            con.execute("CREATE VIRTUAL TABLE t USING rtree(id, minx, maxx, miny, maxy)")
    except sqlite3.Error:
        return False
    return True


@dataclass(frozen=True)
class _Schema:
    """What GDAL writes for a layer's spatial index: the virtual table, triggers, extension."""

    table: str
    triggers: list[str]
    extension: tuple[object, ...]
    extensions_table: str  # CREATE TABLE gpkg_extensions, for a file that has none yet


def write_rtree(
    path: str | os.PathLike[str],
    layer: str,
    geometry: str,
    packs: Sequence[LeafPack],
    *,
    reference: Path,
) -> None:
    """Add the spatial index of ``layer`` (written by GDAL without one) to GeoPackage ``path``.

    ``packs``: the leaves of the layer's rows, in row order (:func:`pack_leaves`, one per
    chunk written); ``reference``: a GeoPackage GDAL wrote with one row in a layer of the same
    name and geometry column, with its index (as
    :func:`qzgeo.io.write_stream.write_gpkg_stream` makes one).
    """
    schema = _schema(reference, layer, geometry)
    name = f"rtree_{layer}_{geometry}"
    q = sql_ident(name)
    con = sqlite3.connect(os.fspath(path), isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode=MEMORY")  # the file is a temporary one: no fsync
        con.execute("PRAGMA synchronous=OFF")
        # No page written before the commit: spilling the cache takes the file's exclusive
        # lock for the rest of the transaction, and the rows read back meanwhile
        # (qzgeo.io.gpkg_rows) would wait for the whole index (~20 MB of nodes a million rows)
        con.execute("PRAGMA cache_spill=OFF")
        con.execute("BEGIN")
        _check_rows(con, layer, packs)
        con.execute(schema.table)
        size = con.execute(
            f"SELECT length(data) FROM {sql_ident(name + '_node')} WHERE nodeno = 1"
        ).fetchone()
        if size is None or size[0] != _NODE_BYTES:
            _insert_one_by_one(con, q, packs)  # another node size: SQLite's own insertion
        else:
            con.execute(f"DELETE FROM {sql_ident(name + '_node')}")
            _write_nodes(con, name, packs)
        for sql in schema.triggers:
            con.execute(sql)
        con.execute(
            schema.extensions_table.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1)
        )
        con.execute("INSERT INTO gpkg_extensions VALUES (?, ?, ?, ?, ?)", schema.extension)
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            con.execute("ROLLBACK")
        raise
    finally:
        con.close()


def _check_rows(con: sqlite3.Connection, layer: str, packs: Sequence[LeafPack]) -> None:
    """The layer's FIDs must be 1..n for the n rows of ``packs`` (GDAL numbers a new layer's
    rows so); anything else is a bug here, never to be papered over with a wrong index.

    GDAL's feature count (``gpkg_ogr_contents``) and the least and greatest FID (the ends of
    the table's B-tree) tell without reading the rows: n distinct FIDs from 1 to n.
    """
    q = sql_ident(layer)
    # one min() or max() per query: SQLite reads it off the B-tree's end, not a scan
    lo = con.execute(f"SELECT min(fid) FROM {q}").fetchone()[0]
    hi = con.execute(f"SELECT max(fid) FROM {q}").fetchone()[0]
    try:
        row = con.execute(
            "SELECT feature_count FROM gpkg_ogr_contents WHERE lower(table_name) = lower(?)",
            (layer,),
        ).fetchone()
    except sqlite3.OperationalError:  # no such table: count them
        row = None
    n = row[0] if row is not None and row[0] is not None else None
    if n is None:
        n = con.execute(f"SELECT count(*) FROM {q}").fetchone()[0]
    rows = sum(p.rows for p in packs)
    if n != rows or (n and (lo, hi) != (1, n)):
        msg = (
            f"{layer}: {n} rows with FIDs {lo}..{hi} where its spatial index has {rows}; "
            "please report this"
        )
        raise OutputError(msg)


def _write_nodes(con: sqlite3.Connection, name: str, packs: Sequence[LeafPack]) -> None:
    """Every node, parent and row of the tree, one SQL statement per level and per pack."""
    leaves = sum(p.leaves for p in packs)
    if leaves == 0:
        con.execute(f"INSERT INTO {sql_ident(name + '_node')} VALUES (1, zeroblob({_NODE_BYTES}))")
        return
    # Node numbers: the root is 1; the leaves follow in pack order from 2 (1 if the root
    # is the only leaf), then each level above, bottom up.
    first_leaf = 1 if leaves == 1 else 2
    row0, leaf0 = 0, first_leaf
    for p in packs:
        cells = p.cells.copy()
        cells["id"] = cells["id"].astype(np.int64) + row0 + 1  # FIDs from 1, in row order
        # each pack's leaves as it comes: one pack's blobs in memory, not the whole tree's
        _insert_nodes(con, name, leaf0, _nodes(cells, p.ends, depth=None))
        con.execute(
            f"INSERT INTO {sql_ident(name + '_rowid')} SELECT ? + key, ? + value FROM json_each(?) "
            "WHERE value >= ?",
            (row0 + 1, leaf0 - p.offset, p.leaf_of_row, p.offset),
        )
        row0, leaf0 = row0 + p.rows, leaf0 + p.leaves
    boxes = np.concatenate([p.boxes for p in packs])
    numbers = np.arange(first_leaf, first_leaf + leaves)
    depth, next_no = 0, first_leaf + leaves
    while len(numbers) > 1:
        depth += 1
        order = str_order(boxes[:, 0] + boxes[:, 1], boxes[:, 2] + boxes[:, 3], LEAF_CELLS)
        count = -(-len(order) // LEAF_CELLS)
        root = count == 1
        first = 1 if root else next_no
        cells = np.empty(len(order), dtype=CELL)
        cells["id"] = numbers[order]
        cells["box"] = boxes[order]
        ends = np.minimum(np.arange(1, count + 1) * LEAF_CELLS, len(order))
        _insert_nodes(con, name, first, _nodes(cells, ends, depth=depth if root else None))
        parent_of = np.empty(len(order), dtype=np.int64)  # by child number - numbers[0]
        parent_of[numbers[order] - numbers[0]] = first + np.arange(len(order)) // LEAF_CELLS
        text, offset = encode_ints(parent_of)
        con.execute(
            f"INSERT INTO {sql_ident(name + '_parent')} "
            "SELECT ? + key, value - ? FROM json_each(?)",
            (int(numbers[0]), offset, text),
        )
        boxes = _node_boxes(cells["box"], ends)
        numbers = first + np.arange(count)
        next_no = first + count


def _nodes(cells: np.ndarray, ends: Ints, *, depth: int | None) -> bytes:
    """Node blobs for ``cells`` cut at ``ends``; ``depth``: the tree's depth, for a root."""
    count = len(ends)
    out = np.zeros((count, _NODE_BYTES), dtype=np.uint8)
    starts = np.concatenate([[0], ends[:-1]]).astype(np.int64)
    sizes = ends - starts
    out[:, 2] = sizes >> 8
    out[:, 3] = sizes & 0xFF
    if depth is not None:
        out[0, 0], out[0, 1] = depth >> 8, depth & 0xFF
    raw = cells.view(np.uint8).reshape(-1, CELL.itemsize)
    node = np.repeat(np.arange(count), sizes)
    slot = np.arange(len(cells)) - starts[node]
    body = out[:, 4:].reshape(count, LEAF_CELLS, CELL.itemsize)
    body[node, slot] = raw
    return out.tobytes()


def _insert_nodes(con: sqlite3.Connection, name: str, first: int, blob: bytes) -> None:
    """Insert the nodes of ``blob`` (whole nodes, one after the other) numbered from ``first``."""
    n = len(blob) // _NODE_BYTES
    if n == 0:  # a chunk whose rows all lack a box: WITH RECURSIVE yields i = 0 even for
        # n = 0, a stray empty node numbered as the next chunk's first leaf (UNIQUE failed)
        return
    con.execute(
        f"WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i + 1 < ?) "
        f"INSERT INTO {sql_ident(name + '_node')} SELECT ? + i, substr(?, i * {_NODE_BYTES} + 1, "
        f"{_NODE_BYTES}) FROM k",
        (n, first, blob),
    )


def _insert_one_by_one(con: sqlite3.Connection, q: str, packs: Sequence[LeafPack]) -> None:
    """SQLite's own R*Tree insertion, row by row: for nodes of a size other than ours."""
    row0 = 0
    for p in packs:
        box = p.cells["box"].astype(np.float64)
        ids = p.cells["id"].astype(np.int64) + row0 + 1
        con.executemany(
            f"INSERT INTO {q} VALUES (?, ?, ?, ?, ?)",
            zip(ids.tolist(), *box.T.tolist(), strict=True),
        )
        row0 += p.rows


def _schema(reference: Path, layer: str, geometry: str) -> _Schema:
    name = f"rtree_{layer}_{geometry}"
    with contextlib.closing(sqlite3.connect(f"file:{reference}?mode=ro", uri=True)) as con:
        table = con.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        ).fetchone()
        triggers = con.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? "
            "AND name LIKE ? ESCAPE '\\' ORDER BY rowid",
            (layer, name.replace("\\", "\\\\").replace("_", "\\_") + "\\_%"),
        ).fetchall()
        ext_table = con.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'gpkg_extensions'"
        ).fetchone()
        ext = con.execute(
            "SELECT * FROM gpkg_extensions WHERE table_name = ? AND column_name = ? "
            "AND extension_name = 'gpkg_rtree_index'",
            (layer, geometry),
        ).fetchone()
    if table is None or not triggers or ext is None or ext_table is None:
        msg = f"GDAL wrote no spatial index for {layer!r} in {reference}"
        raise RuntimeError(msg)
    return _Schema(table[0], [t[0] for t in triggers], tuple(ext), ext_table[0])
