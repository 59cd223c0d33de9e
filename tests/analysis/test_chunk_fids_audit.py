"""qzgeo.analysis.chunk_plan._fids: cases an outside audit found untested.

The oracle is plain SQL on the table (``SELECT fid ... ORDER BY fid``), which GDAL's Arrow
reader does not come between.
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
from qzgeo.analysis.chunk_pool import ChunkSource, chunk_starts

N = 300


def _layer(path: Path) -> Path:
    x = 36_500_000 + 20.0 * np.arange(N)
    gdf = gpd.GeoDataFrame(
        {"pid": np.arange(N)}, geometry=shapely.box(x, 2_400_000, x + 10, 2_400_010),
        crs="EPSG:4524",
    )  # fmt: skip
    pyogrio.write_dataframe(gdf, path, layer="parcels", driver="GPKG")
    return path


def _sql_fids(path: Path) -> list[int]:
    with contextlib.closing(sqlite3.connect(path)) as con:
        return [r[0] for r in con.execute("SELECT fid FROM parcels ORDER BY fid")]


def test_a_stale_count_with_the_first_fid_gone_gives_each_fid_once(tmp_path: Path) -> None:
    """FID 1 deleted past GDAL's count trigger: the count still equals the highest FID, the
    ends are n - 2 apart, so every FID is read (the path that keeps one of each): each must
    come once, as SQLite has them, and the chunks cover each row once."""
    path = _layer(tmp_path / "p.gpkg")
    with contextlib.closing(sqlite3.connect(path)) as con:
        con.execute("DROP TRIGGER trigger_delete_feature_count_parcels")
        con.execute("DELETE FROM parcels WHERE fid = 1")
        con.commit()
    assert pyogrio.read_info(path)["features"] == N  # stale
    got = chunk_plan._fids(ChunkSource(str(path), None, fid="fid"), N)
    assert got.tolist() == _sql_fids(path)
    seen: list[int] = []
    for _, where, _, _ in chunk_starts(ChunkSource(str(path), None, fid="fid"), N, 60):
        with contextlib.closing(sqlite3.connect(path)) as con:
            seen += [r[0] for r in con.execute(f"SELECT fid FROM parcels WHERE {where}")]
    assert sorted(seen) == _sql_fids(path) and len(seen) == len(set(seen))


def test_contiguous_fids_are_not_read_one_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A layer written in one go: its FIDs come from the table's ends, the layer is not read."""
    path = _layer(tmp_path / "p.gpkg")

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("every FID read")

    monkeypatch.setattr(chunk_plan.pyogrio, "read_arrow", refuse)
    got = chunk_plan._fids(ChunkSource(str(path), None, fid="fid"), N)
    assert got.tolist() == _sql_fids(path)
