"""qzgeo.io.gpkg_rtree: a streamed layer's R-tree packed from its chunks' boxes (outsider's view).

Oracles that share no code with the packer: SQLite's own ``rtreecheck()`` and
``integrity_check``; the boxes of the geometries as shapely computes them, queried by brute
force; GDAL reading the file with a bounding-box filter (it uses the index) against GDAL's own
index of the same rows; the schema GDAL writes for an index (``sqlite_master``,
``gpkg_extensions``); and GDAL updating the file afterwards through the triggers.
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
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qzgeo._errors import OutputError
from qzgeo.io import gpkg_rtree
from qzgeo.io.gpkg_rtree import LeafPack, decode_ints, encode_ints, pack_leaves
from qzgeo.io.write_stream import arrow_batch, write_gpkg_stream

CRS = "EPSG:4524"
RTREE = "rtree_parcels_geom"


def parcels(n: int, seed: int, *, empties: Sequence[int] = ()) -> gpd.GeoDataFrame:
    """``n`` random quadrilaterals in a GK zone (some overlapping), rows ``empties`` empty."""
    rng = np.random.default_rng(seed)
    x = 36_500_000 + rng.uniform(-50_000, 50_000, n)
    y = 2_400_000 + rng.uniform(-50_000, 50_000, n)
    w, h = rng.uniform(1, 800, n), rng.uniform(1, 800, n)
    geoms = list(shapely.box(x, y, x + w, y + h))
    for i in empties:
        geoms[i] = shapely.Polygon()
    return gpd.GeoDataFrame({"pid": np.arange(n)}, geometry=geoms, crs=CRS)


def write(path: Path, gdf: gpd.GeoDataFrame, cuts: Sequence[int], *, own: bool = True) -> Path:
    """``gdf`` written in chunks cut at ``cuts``; the index from the chunks' leaves (``own``)
    or by GDAL."""
    bounds = [0, *cuts, len(gdf)]
    chunks = [gdf.iloc[a:b] for a, b in itertools.pairwise(bounds) if b > a]
    packs = [pack_leaves(shapely.bounds(np.asarray(c.geometry.values))) for c in chunks]
    tables = [arrow_batch(c) for c in chunks]
    write_gpkg_stream(
        path, "parcels", iter(tables), crs=CRS, leaves=(lambda: packs) if own else None
    )
    return path


def query(path: Path, box: tuple[float, float, float, float]) -> set[int]:
    x0, y0, x1, y1 = box
    with contextlib.closing(sqlite3.connect(path)) as con:
        rows = con.execute(
            f"SELECT id FROM {RTREE} WHERE maxx >= ? AND minx <= ? AND maxy >= ? AND miny <= ?",
            (x0, x1, y0, y1),
        ).fetchall()
    return {r[0] for r in rows}


def checks(path: Path) -> tuple[str, str]:
    with contextlib.closing(sqlite3.connect(path)) as con:
        rt = con.execute(f"SELECT rtreecheck('{RTREE}')").fetchone()[0]
        ok = con.execute("PRAGMA integrity_check").fetchone()[0]
    return rt, ok


def brute(gdf: gpd.GeoDataFrame, box: tuple[float, float, float, float], pad: float) -> set[int]:
    """FIDs (from 1) of the rows whose shapely bounds meet ``box`` grown by ``pad``."""
    b = shapely.bounds(np.asarray(gdf.geometry.values))
    x0, y0, x1, y1 = box
    hit = (b[:, 2] >= x0 - pad) & (b[:, 0] <= x1 + pad) & (b[:, 3] >= y0 - pad)
    hit &= b[:, 1] <= y1 + pad
    return set((np.flatnonzero(hit & np.isfinite(b).all(axis=1)) + 1).tolist())


def windows(seed: int, k: int = 40) -> list[tuple[float, float, float, float]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(k):
        x, y = 36_500_000 + rng.uniform(-55_000, 55_000), 2_400_000 + rng.uniform(-55_000, 55_000)
        s = rng.choice([10.0, 500.0, 5_000.0, 40_000.0])
        out.append((x, y, x + s, y + s))
    return out


def test_a_packed_tree_passes_sqlites_own_checks_and_finds_every_box(tmp_path: Path) -> None:
    """5 000 rows in uneven chunks, 7 of them empty: every window finds the rows whose boxes
    meet it (float32 boxes, rounded outwards: at most 4 m more at these eastings)."""
    gdf = parcels(5_000, 1, empties=[0, 17, 18, 2_500, 4_998, 4_999, 3_001])
    path = write(tmp_path / "own.gpkg", gdf, [700, 701, 2_000, 4_000])
    assert checks(path) == ("ok", "ok")
    with contextlib.closing(sqlite3.connect(path)) as con:
        assert con.execute(f"SELECT count(*) FROM {RTREE}_rowid").fetchone()[0] == 4_993
    for box in windows(2):
        got = query(path, box)
        assert brute(gdf, box, 0.0) <= got <= brute(gdf, box, 4.0)


def test_gdal_reads_the_same_rows_through_it_as_through_its_own_index(tmp_path: Path) -> None:
    gdf = parcels(3_000, 3, empties=[5])
    own = write(tmp_path / "own.gpkg", gdf, [1_000, 2_000])
    gdal = write(tmp_path / "gdal.gpkg", gdf, [1_000, 2_000], own=False)
    for box in windows(4, 20):
        a = pyogrio.read_dataframe(own, bbox=box, fid_as_index=True).index
        b = pyogrio.read_dataframe(gdal, bbox=box, fid_as_index=True).index
        assert sorted(a) == sorted(b)
    assert query(own, (36_440_000, 2_340_000, 36_560_000, 2_460_000)) == set(range(1, 3_001)) - {6}


def test_the_index_is_declared_as_gdal_declares_its_own(tmp_path: Path) -> None:
    """The virtual table, the triggers and the gpkg_extensions row: the same SQL text."""
    gdf = parcels(200, 5)
    own, gdal = (
        write(tmp_path / "own.gpkg", gdf, [90]),
        write(tmp_path / "g.gpkg", gdf, [90], own=False),
    )

    def schema(path: Path) -> tuple[list[tuple[str, str]], list[tuple[object, ...]]]:
        with contextlib.closing(sqlite3.connect(path)) as con:
            master = con.execute(
                "SELECT type, sql FROM sqlite_master WHERE name LIKE 'rtree%' ORDER BY name"
            ).fetchall()
            ext = con.execute("SELECT * FROM gpkg_extensions ORDER BY extension_name").fetchall()
        return master, ext

    assert schema(own) == schema(gdal)
    assert pyogrio.read_info(own)["capabilities"]["fast_spatial_filter"] is True


def test_gdal_keeps_the_tree_right_when_it_edits_the_file_later(tmp_path: Path) -> None:
    """Rows appended by GDAL go into the tree through the copied triggers."""
    gdf = parcels(400, 6)
    path = write(tmp_path / "own.gpkg", gdf, [150])
    far = gpd.GeoDataFrame(
        {"pid": [999]},
        geometry=[shapely.box(37_000_000, 3_000_000, 37_000_010, 3_000_010)],
        crs=CRS,
    )
    pyogrio.write_dataframe(far, path, layer="parcels", append=True, promote_to_multi=True)
    assert checks(path) == ("ok", "ok")
    assert query(path, (36_999_990, 2_999_990, 37_000_020, 3_000_020)) == {401}


def test_every_row_without_a_box_is_left_out_and_an_all_empty_layer_has_an_empty_tree(
    tmp_path: Path,
) -> None:
    gdf = parcels(60, 7, empties=range(60))
    path = write(tmp_path / "own.gpkg", gdf, [30])
    assert checks(path) == ("ok", "ok")
    assert query(path, (0, 0, 1e9, 1e9)) == set()


def test_a_chunk_of_rows_without_boxes_before_the_only_leaf(tmp_path: Path) -> None:
    """Hypothesis found it: a first chunk of one empty geometry (no leaf), then one row (the
    only leaf, the root): the empty chunk must write no node."""
    gdf = parcels(2, 0, empties=[0])
    path = write(tmp_path / "own.gpkg", gdf, [1])
    assert checks(path) == ("ok", "ok")
    assert query(path, (0, 0, 1e9, 1e9)) == {2}


def test_one_leaf_is_the_root(tmp_path: Path) -> None:
    gdf = parcels(51, 8)
    path = write(tmp_path / "own.gpkg", gdf, [])
    assert checks(path) == ("ok", "ok")
    with contextlib.closing(sqlite3.connect(path)) as con:
        assert con.execute(f"SELECT count(*) FROM {RTREE}_node").fetchone()[0] == 1
        assert con.execute(f"SELECT count(*) FROM {RTREE}_parent").fetchone()[0] == 0
    assert query(path, (0, 0, 1e9, 1e9)) == set(range(1, 52))


def test_nodes_of_another_size_go_through_sqlites_own_insertion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file whose R-tree nodes are not 1 228 bytes (small pages) still gets a right tree."""
    monkeypatch.setattr(gpkg_rtree, "_NODE_BYTES", 1_000)
    gdf = parcels(700, 9, empties=[3])
    path = write(tmp_path / "own.gpkg", gdf, [300])
    assert checks(path) == ("ok", "ok")
    for box in windows(10, 10):
        assert brute(gdf, box, 0.0) <= query(path, box) <= brute(gdf, box, 4.0)


def test_rows_that_do_not_match_the_leaves_are_refused_not_indexed_wrongly(
    tmp_path: Path,
) -> None:
    gdf = parcels(100, 11)
    packs = [pack_leaves(shapely.bounds(np.asarray(gdf.geometry.values[:99])))]
    with pytest.raises(OutputError, match="spatial index has 99"):
        write_gpkg_stream(
            tmp_path / "x.gpkg", "parcels", iter([arrow_batch(gdf)]), crs=CRS,
            leaves=lambda: packs,
        )  # fmt: skip
    assert not (tmp_path / "x.gpkg").exists()
    assert [p.name for p in tmp_path.iterdir()] == []


def test_without_sqlites_rtree_module_gdal_builds_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import qzgeo.io.write_stream as ws

    monkeypatch.setattr(ws, "rtree_writable", lambda: False)
    called: list[int] = []
    path = tmp_path / "g.gpkg"
    gdf = parcels(300, 12)
    write_gpkg_stream(
        path, "parcels", iter([arrow_batch(gdf)]), crs=CRS,
        leaves=lambda: called.append(1) or [],  # type: ignore[func-returns-value]
    )  # fmt: skip
    assert called == [] and checks(path) == ("ok", "ok")
    assert len(query(path, (0, 0, 1e9, 1e9))) == 300


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    n=st.integers(1, 400),
    cuts=st.lists(st.integers(0, 400), max_size=6),
    seed=st.integers(0, 2**16),
    empty=st.lists(st.integers(0, 399), max_size=10),
)
def test_any_chunking_gives_a_tree_sqlite_accepts(
    tmp_path_factory: pytest.TempPathFactory, n: int, cuts: list[int], seed: int, empty: list[int]
) -> None:
    gdf = parcels(n, seed, empties=sorted({e for e in empty if e < n}))
    path = write(tmp_path_factory.mktemp("h") / "own.gpkg", gdf, sorted({c for c in cuts if c < n}))
    assert checks(path) == ("ok", "ok")
    box = windows(seed, 1)[0]
    assert brute(gdf, box, 0.0) <= query(path, box) <= brute(gdf, box, 4.0)


def test_boxes_are_rounded_outwards_to_float32() -> None:
    """SQLite keeps 32-bit floats: a box may grow, never shrink (else a query misses it)."""
    rng = np.random.default_rng(13)
    lo = rng.uniform(-1e7, 4e7, (1_000, 2))
    b = np.column_stack([lo, lo + rng.uniform(0, 100, (1_000, 2))])
    p = pack_leaves(b)
    box = p.cells["box"].astype(np.float64)
    ids = p.cells["id"].astype(np.int64)
    assert (box[:, 0] <= b[ids, 0]).all() and (box[:, 1] >= b[ids, 2]).all()
    assert (box[:, 2] <= b[ids, 1]).all() and (box[:, 3] >= b[ids, 3]).all()
    assert sorted(ids.tolist()) == list(range(1_000))
    leaf = decode_ints(p.leaf_of_row, p.offset)
    assert (np.bincount(leaf) <= gpkg_rtree.LEAF_CELLS).all()


@given(st.lists(st.integers(-1, 10**9), max_size=50))
def test_encoded_integers_read_back(values: list[int]) -> None:
    v = np.array(values, dtype=np.int64)
    assert decode_ints(*encode_ints(v)).tolist() == values


def test_a_leaf_pack_is_what_the_docs_say() -> None:
    p = pack_leaves(np.array([[0.0, 0, 1, 1]] * 103))
    assert isinstance(p, LeafPack) and p.rows == 103 and p.leaves == 3
    assert p.ends.tolist() == [51, 102, 103]
