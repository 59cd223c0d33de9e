"""qzgeo.io.gpkg_rtree: cases an outside audit found untested (mutants that survived).

Oracles that share no code with the packer: SQLite's ``rtreecheck()`` and ``integrity_check``,
shapely's bounds queried by brute force, plain SQL on the layer's FIDs.
"""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely

from qzgeo._errors import OutputError
from qzgeo.io.gpkg_rtree import pack_leaves, str_order, write_rtree
from qzgeo.io.write_stream import arrow_batch, write_gpkg_stream

CRS = "EPSG:4524"
RTREE = "rtree_parcels_geom"


def parcels(n: int, seed: int, *, empties: Sequence[int] = ()) -> gpd.GeoDataFrame:
    """``n`` random boxes in a GK zone (some overlapping), rows ``empties`` empty."""
    rng = np.random.default_rng(seed)
    x = 36_500_000 + rng.uniform(-50_000, 50_000, n)
    y = 2_400_000 + rng.uniform(-50_000, 50_000, n)
    w, h = rng.uniform(1, 800, n), rng.uniform(1, 800, n)
    geoms = list(shapely.box(x, y, x + w, y + h))
    for i in empties:
        geoms[i] = shapely.Polygon() if i % 2 else None
    return gpd.GeoDataFrame({"pid": np.arange(n)}, geometry=geoms, crs=CRS)


def write(path: Path, gdf: gpd.GeoDataFrame, cuts: Sequence[int]) -> Path:
    """``gdf`` written in chunks cut at ``cuts``, the index from the chunks' leaves."""
    bounds = [0, *cuts, len(gdf)]
    chunks = [gdf.iloc[a:b] for a, b in itertools.pairwise(bounds) if b > a]
    packs = [pack_leaves(shapely.bounds(np.asarray(c.geometry.values))) for c in chunks]
    tables = [arrow_batch(c) for c in chunks]
    write_gpkg_stream(path, "parcels", iter(tables), crs=CRS, leaves=lambda: packs)
    return path


def query(path: Path, box: tuple[float, float, float, float]) -> set[int]:
    x0, y0, x1, y1 = box
    with contextlib.closing(sqlite3.connect(path)) as con:
        rows = con.execute(
            f"SELECT id FROM {RTREE} WHERE maxx >= ? AND minx <= ? AND maxy >= ? AND miny <= ?",
            (x0, x1, y0, y1),
        ).fetchall()
    return {r[0] for r in rows}


def checks(path: Path) -> tuple[str, str, int]:
    """rtreecheck, integrity_check, and the nodes no parent names (SQLite's rtreecheck
    walks down from the root only: a stray node is not its concern)."""
    with contextlib.closing(sqlite3.connect(path)) as con:
        rt = con.execute(f"SELECT rtreecheck('{RTREE}')").fetchone()[0]
        ok = con.execute("PRAGMA integrity_check").fetchone()[0]
        stray = con.execute(
            f"SELECT count(*) FROM {RTREE}_node WHERE nodeno != 1 "
            f"AND nodeno NOT IN (SELECT nodeno FROM {RTREE}_parent)"
        ).fetchone()[0]
    return rt, ok, stray


def brute(gdf: gpd.GeoDataFrame, box: tuple[float, float, float, float], pad: float) -> set[int]:
    """FIDs (from 1) of the rows whose shapely bounds meet ``box`` grown by ``pad``."""
    b = shapely.bounds(np.asarray(gdf.geometry.values))
    x0, y0, x1, y1 = box
    hit = (b[:, 2] >= x0 - pad) & (b[:, 0] <= x1 + pad) & (b[:, 3] >= y0 - pad)
    hit &= b[:, 1] <= y1 + pad
    return set((np.flatnonzero(hit & np.isfinite(b).all(axis=1)) + 1).tolist())


def windows(seed: int, k: int) -> list[tuple[float, float, float, float]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(k):
        x, y = 36_500_000 + rng.uniform(-55_000, 55_000), 2_400_000 + rng.uniform(-55_000, 55_000)
        s = float(rng.choice([10.0, 500.0, 5_000.0, 40_000.0]))
        out.append((x, y, x + s, y + s))
    return out


@pytest.mark.parametrize("cuts", [[100, 101], [100, 110], [0, 10], [190]])
def test_a_chunk_whose_rows_all_lack_a_box_adds_no_leaf(tmp_path: Path, cuts: list[int]) -> None:
    """A chunk of NULL or empty geometries only (its pack has rows but no leaf), before,
    between or after others: the tree holds every other row, and SQLite accepts it (this
    was 'UNIQUE constraint failed: ..._node.nodeno', an exit 2 asking if the disk is full)."""
    a, b = (cuts[0], cuts[1]) if len(cuts) == 2 else (cuts[0], 200)
    gdf = parcels(200, 21, empties=range(a, b))
    path = write(tmp_path / "own.gpkg", gdf, cuts)
    assert checks(path) == ("ok", "ok", 0)
    assert query(path, (0, 0, 1e9, 1e9)) == set(range(1, 201)) - set(range(a + 1, b + 1))
    for box in windows(22, 10):
        assert brute(gdf, box, 0.0) <= query(path, box) <= brute(gdf, box, 4.0)


def _reference(folder: Path) -> Path:
    """A one-row GeoPackage with GDAL's own index of a layer 'parcels' (column geom)."""
    ref = folder / "ref.gpkg"
    one = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)], crs=CRS)
    pyogrio.write_dataframe(
        one, ref, layer="parcels", geometry_type="MultiPolygon",
        layer_options={"SPATIAL_INDEX": "YES", "GEOMETRY_NAME": "geom"},
    )  # fmt: skip
    return ref


@pytest.mark.parametrize("shift", ["from_1000", "gap"])
def test_n_rows_whose_fids_are_not_1_to_n_are_refused(tmp_path: Path, shift: str) -> None:
    """As many rows as the leaves have, but FIDs 1000.. or 1..n+1 with a hole: a leaf's row
    numbers would name the wrong rows (or none), so no index is written."""
    gdf = parcels(120, 23)
    path = tmp_path / "x.gpkg"
    pyogrio.write_dataframe(
        gdf, path, layer="parcels", geometry_type="MultiPolygon", promote_to_multi=True,
        layer_options={"SPATIAL_INDEX": "NO", "GEOMETRY_NAME": "geom"},
    )  # fmt: skip
    with contextlib.closing(sqlite3.connect(path)) as con:
        if shift == "from_1000":
            con.execute("UPDATE parcels SET fid = fid + 999")
        else:  # the last row moves up one: FIDs 1..119 and 121
            con.execute("UPDATE parcels SET fid = 121 WHERE fid = 120")
        con.commit()
        n, lo, hi = con.execute("SELECT count(*), min(fid), max(fid) FROM parcels").fetchone()
    assert n == 120 and (lo, hi) != (1, 120)
    packs = [pack_leaves(shapely.bounds(np.asarray(gdf.geometry.values)))]
    with pytest.raises(OutputError, match="please report"):
        write_rtree(path, "parcels", "geom", packs, reference=_reference(tmp_path))
    with contextlib.closing(sqlite3.connect(path)) as con:  # nothing left half-written
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
    assert not any(t.startswith("rtree_") for t in tables)
    assert RTREE not in tables


@pytest.mark.parametrize("shift", [5.0, -1e7, -5e5])
def test_str_slices_hold_the_least_x_first_also_below_zero(shift: float) -> None:
    """Sort-tile-recursive: the first vertical slice (ceil(sqrt(nodes)) nodes) holds the
    points of least x, west of zero too (a double's bits sort as it does only once the
    negative ones are flipped); each slice is in y order. Oracle: numpy's argsort."""
    rng = np.random.default_rng(3)
    n, per = 600, 51
    cx = rng.permutation(n) * 1_000.0 + shift
    cy = rng.uniform(-1e6, 1e6, n)
    order = str_order(cx, cy, per)
    per_slice = int(np.ceil(np.sqrt(-(-n // per)))) * per
    assert sorted(order.tolist()) == list(range(n))
    for k in range(0, n, per_slice):
        part = order[k : k + per_slice]
        assert set(part.tolist()) == set(np.argsort(cx)[k : k + per_slice].tolist())
        assert (np.diff(cy[part]) > 0).all()


@pytest.mark.parametrize("layer", ['a"b', "宗地 \"一\" 'x'"])
def test_a_layer_name_with_double_quotes_gets_its_index(tmp_path: Path, layer: str) -> None:
    """The R*Tree's tables are named after the layer: a double quote in it must be escaped
    in SQL (it was 'unrecognized token', reported as a full disk)."""
    gdf = parcels(300, 31, empties=[7])
    packs = [pack_leaves(shapely.bounds(np.asarray(gdf.geometry.values)))]
    path = tmp_path / "q.gpkg"
    write_gpkg_stream(path, layer, iter([arrow_batch(gdf)]), crs=CRS, leaves=lambda: packs)
    table = "rtree_" + layer + "_geom"
    quoted = '"' + table.replace('"', '""') + '"'
    with contextlib.closing(sqlite3.connect(path)) as con:
        assert con.execute("SELECT rtreecheck(?)", (table,)).fetchone()[0] == "ok"
        ids = {r[0] for r in con.execute(f"SELECT id FROM {quoted}")}
    assert ids == set(range(1, 301)) - {8}
    box = windows(32, 1)[0]
    got = set(pyogrio.read_dataframe(path, layer=layer, bbox=box, fid_as_index=True).index)
    b = shapely.bounds(np.asarray(gdf.geometry.values))
    want = shapely.intersects(np.asarray(gdf.geometry.values), shapely.box(*box))
    assert got == set((np.flatnonzero(want & np.isfinite(b).all(axis=1)) + 1).tolist())


def test_a_tree_three_levels_above_its_leaves(tmp_path: Path) -> None:
    """140 000 rows in 5 chunks: 2 749 leaves, 54 nodes above them, 2 above those, then the
    root (depth 3, as for a million parcels; the other tests stop at 2). SQLite's rtreecheck,
    the root's depth field, and brute force."""
    gdf = parcels(140_000, 5, empties=[3, 70_000])
    path = write(tmp_path / "big.gpkg", gdf, [30_000, 60_000, 90_000, 120_000])
    assert checks(path) == ("ok", "ok", 0)
    with contextlib.closing(sqlite3.connect(path)) as con:
        head = con.execute(f"SELECT substr(data, 1, 2) FROM {RTREE}_node WHERE nodeno = 1")
        assert int.from_bytes(head.fetchone()[0], "big") == 3
    for box in windows(9, 20):
        assert brute(gdf, box, 0.0) <= query(path, box) <= brute(gdf, box, 4.0)
