"""Rows read back by feature id with SQLite alone equal what GDAL reads, and the read waits for
a writer's lock instead of failing (the index written meanwhile: ``overlap_chunks``)."""

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

from qzgeo.io.gpkg_rows import geometry_of_blobs, read_rows_by_fid


def _layer(path: Path) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(3)
    geoms = [shapely.box(x, y, x + 10, y + 7) for x, y in rng.uniform(0, 1000, (40, 2))]
    geoms[5] = shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3)])
    geoms[9] = shapely.Polygon(
        [(0, 0), (50, 0), (50, 50), (0, 50)], [[(10, 10), (20, 10), (20, 20), (10, 20)]]
    )
    gdf = gpd.GeoDataFrame(
        {"source_fid": [f"地块-{i}" for i in range(40)]}, geometry=geoms, crs="EPSG:4545"
    )
    gdf.loc[12, "geometry"] = None
    pyogrio.write_dataframe(gdf, path, layer="parcels", geometry_type="MultiPolygon")
    return gdf


@pytest.mark.parametrize("name", ["p.gpkg", "名 #1 ?%.gpkg"])
def test_rows_equal_gdal_s_read(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    _layer(path)
    fids = np.array([1, 2, 6, 10, 13, 40], dtype=np.int64)
    geoms, values = read_rows_by_fid(path, "parcels", "geom", "source_fid", fids)
    want = pyogrio.read_dataframe(path, fid_as_index=True).loc[fids]
    assert values == want["source_fid"].tolist()
    for got, exp in zip(geoms, want.geometry, strict=True):
        assert (got is None and exp is None) or shapely.equals_exact(got, exp, 0)


def test_blob_header_sizes_and_empty() -> None:
    wkb = shapely.to_wkb(shapely.box(0, 0, 2, 1))
    srs = (4545).to_bytes(4, "little")
    blobs = [
        b"GP\x00" + bytes([0b0000_0001]) + srs + wkb,  # no envelope
        b"GP\x00" + bytes([0b0000_0011]) + srs + bytes(32) + wkb,  # xy envelope
        b"GP\x00" + bytes([0b0000_1001]) + srs + bytes(64) + wkb,  # xyzm envelope
        b"GP\x00" + bytes([0b0001_0001]) + srs + shapely.to_wkb(shapely.Polygon()),  # empty
    ]
    got = geometry_of_blobs(blobs)
    assert [g.area for g in got[:3]] == [2.0, 2.0, 2.0] and got[3].is_empty
    with pytest.raises(ValueError, match="GP"):
        geometry_of_blobs([wkb])


def test_the_read_waits_for_a_writer_s_commit(tmp_path: Path) -> None:
    """A writer holding the file's write lock into its commit: the read waits and then reads
    the committed rows (GDAL's read fails with 'database is locked' here)."""
    path = tmp_path / "p.gpkg"
    _layer(path)
    con = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    con.execute("BEGIN EXCLUSIVE")  # as a commit in progress holds it
    con.execute("CREATE TABLE t (a)")
    released = threading.Event()

    def release() -> None:
        time.sleep(0.5)
        con.execute("COMMIT")
        released.set()

    worker = threading.Thread(target=release)
    worker.start()
    try:
        geoms, values = read_rows_by_fid(path, "parcels", "geom", "source_fid", np.array([3]))
    finally:
        worker.join()
        con.close()
    assert released.is_set() and values == ["地块-2"] and geoms[0].area == 70.0
