"""qzgeo.io.write_stream: cases an outside audit found untested (mutants that survived).

Oracles: what pyogrio and plain SQLite read back, and the folder's listing.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely

import qzgeo.io.write_stream as ws
from qzgeo._errors import OutputError
from qzgeo.io.gpkg_rtree import pack_leaves
from qzgeo.io.write_stream import arrow_batch, write_gpkg_stream

CRS = "EPSG:4524"


def _frame(n: int, start: int) -> gpd.GeoDataFrame:
    x = 36_564_000.0 + 20.0 * np.arange(start, start + n)
    geoms = shapely.box(x, 2_399_000.0, x + 10.0, 2_399_010.0)
    return gpd.GeoDataFrame({"pid": np.arange(start, start + n)}, geometry=list(geoms), crs=CRS)


def _write(target: Path, **kw: object) -> None:
    chunks = [_frame(3, 0), _frame(2, 3)]
    packs = [pack_leaves(shapely.bounds(np.asarray(c.geometry.values))) for c in chunks]
    write_gpkg_stream(
        target, "parcels", iter([arrow_batch(c) for c in chunks]), crs=CRS,
        leaves=lambda: packs, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def test_meanwhile_runs_when_gdal_builds_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Python whose SQLite lacks the R*Tree module: GDAL indexes, and the summary (the
    task given as ``meanwhile``) is still written, once, before the file is in place."""
    monkeypatch.setattr(ws, "rtree_writable", lambda: False)
    target = tmp_path / "out.gpkg"
    seen: list[bool] = []
    _write(target, meanwhile=lambda _: seen.append(target.exists()))
    assert seen == [False]
    assert pyogrio.read_info(target)["features"] == 5


def test_a_full_disk_while_the_index_is_written_is_an_output_error_and_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's own error (SQLITE_FULL) while the index is written: exit 2's OutputError
    naming the disk, not a traceback; nothing left in the folder."""

    def full(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(ws, "write_rtree", full)
    with pytest.raises(OutputError, match="disk is full"):
        _write(tmp_path / "out.gpkg")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_an_error_meanwhile_after_the_index_is_done_is_still_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The summary fails only once the index is written (a slow disk): the writer waits for
    it, raises its error and keeps no file, rather than moving the GeoPackage in place."""
    index_done = threading.Event()
    real = ws.write_rtree

    def index(*args: object, **kwargs: object) -> None:
        real(*args, **kwargs)  # type: ignore[arg-type]
        index_done.set()

    def late_failure(_: Path) -> None:
        index_done.wait(10)
        time.sleep(0.2)  # past the end of the writer's own work
        raise OutputError("summary: disk full")

    monkeypatch.setattr(ws, "write_rtree", index)
    target = tmp_path / "out.gpkg"
    with pytest.raises(OutputError, match="summary: disk full"):
        _write(target, meanwhile=late_failure)
    assert index_done.is_set()
    assert sorted(p.name for p in tmp_path.iterdir()) == []
