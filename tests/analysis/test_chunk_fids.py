"""Chunks of a GeoPackage without reading every FID first (qzgeo.analysis.chunk_pool).

A layer written in one go has FIDs 1..n: the chunk plan takes them from the ends of the
table instead of reading them all. The oracle is the plan made from the FIDs as GDAL reads
them: the same chunks, for layers with and without gaps (deleted rows, FIDs from elsewhere).
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely

from qzgeo.analysis import chunk_plan
from qzgeo.analysis.chunk_pool import ChunkSource, chunk_starts, fid_column


def layer(path: Path, n: int, *, shuffle: bool = False) -> Path:
    rng = np.random.default_rng(n)
    x = 36_500_000 + 20.0 * np.arange(n)
    if shuffle:  # rows far apart one after the other: the R-tree tiles are used
        x = rng.permutation(x)
    y = 2_400_000 + rng.uniform(0, 5_000, n)
    gdf = gpd.GeoDataFrame(
        {"pid": np.arange(n)}, geometry=shapely.box(x, y, x + 10, y + 10), crs="EPSG:4524"
    )
    pyogrio.write_dataframe(gdf, path, layer="parcels", driver="GPKG")
    return path


def read_fids(path: Path) -> np.ndarray:
    """The table's FIDs by plain SQL (GDAL's Arrow read repeats the last row when the
    layer's feature count is stale)."""
    with contextlib.closing(sqlite3.connect(path)) as con:
        rows = con.execute("SELECT fid FROM parcels ORDER BY fid").fetchall()
    return np.asarray([r[0] for r in rows], dtype=np.int64)


def plan(path: Path, rows: int, monkeypatch: pytest.MonkeyPatch, *, read_all: bool) -> list:
    source = ChunkSource(str(path), None, fid=fid_column(path, None))
    n = pyogrio.read_info(path)["features"]
    if read_all:
        monkeypatch.setattr(chunk_plan, "_fids", lambda s, k: read_fids(Path(s.path)))
    try:
        return chunk_starts(source, n, rows)
    finally:
        monkeypatch.undo()


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("gaps", [(), (1,), (5, 6, 7), (250,)])
def test_the_plan_is_the_one_from_every_fid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shuffle: bool, gaps: tuple[int, ...]
) -> None:
    path = layer(tmp_path / "p.gpkg", 250, shuffle=shuffle)
    if gaps:  # rows deleted by another tool: FIDs with holes (and GDAL's count updated)
        with contextlib.closing(sqlite3.connect(path)) as con:
            con.execute(f"DELETE FROM parcels WHERE fid IN ({','.join(map(str, gaps))})")
            con.execute("UPDATE gpkg_ogr_contents SET feature_count = ?", (250 - len(gaps),))
            con.commit()
    fast = plan(path, 40, monkeypatch, read_all=False)
    slow = plan(path, 40, monkeypatch, read_all=True)
    assert fast == slow
    fids = read_fids(path)
    assert np.array_equal(
        chunk_plan._fids(ChunkSource(str(path), None, fid="fid"), len(fids)), fids
    )


@pytest.mark.parametrize("shuffle", [False, True])
def test_a_stale_feature_count_still_reads_every_feature_once(
    tmp_path: Path, shuffle: bool
) -> None:
    """A row deleted behind GDAL's back (its count trigger dropped): the count says 250, the
    FIDs 1..250 have a hole. The ends cannot tell; the plan must still read every row once
    (FID ranges cover any FIDs; R-tree tiles are checked against the index's own ids)."""
    path = layer(tmp_path / "p.gpkg", 250, shuffle=shuffle)
    with contextlib.closing(sqlite3.connect(path)) as con:
        con.execute("DROP TRIGGER trigger_delete_feature_count_parcels")
        con.execute("DELETE FROM parcels WHERE fid = 100")
        con.commit()
    assert pyogrio.read_info(path)["features"] == 250  # stale
    source = ChunkSource(str(path), None, fid="fid")
    seen: list[int] = []
    for _, selector, _, expected in chunk_starts(source, 250, 40):
        t = pyogrio.read_arrow(path, where=selector, columns=[], read_geometry=False,
                               return_fids=True)[1]  # fmt: skip
        got = t.column(0).to_numpy().tolist()
        assert expected is None or len(got) == expected
        seen += got
    assert sorted(seen) == read_fids(path).tolist()
