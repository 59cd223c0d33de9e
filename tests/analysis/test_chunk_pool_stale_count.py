"""The chunks of a GeoPackage whose stored feature count is stale cover each parcel once.

GDAL's Arrow reader returns a stale-counted GeoPackage's last FIDs twice
(:mod:`qzgeo.io.gpkg_count`); :func:`chunk_starts` read those FIDs to cut the file, found
them not to match the R-tree's ids, and fell back to ranges of FIDs (an R-tree built 4x
slower). The oracle: SQLite's FIDs of the table, and the chunks of the same file with its
count set right.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from qzgeo.analysis.chunk_pool import ChunkSource, chunk_starts

N, ROWS = 400, 50


def _sql(path: Path, *statements: str) -> list[tuple[int, ...]]:
    con = sqlite3.connect(path)
    rows: list[tuple[int, ...]] = []
    for s in statements:
        rows = con.execute(s).fetchall()
    con.commit()
    con.close()
    return rows


def test_a_stale_count_still_reads_every_feature_once(tmp_path: Path) -> None:
    """FIDs scattered in space (R-tree tiles for the right count), two rows deleted behind
    GDAL's back: the stale count makes the FIDs look contiguous from their ends, the tiles
    do not match them, and the plan falls back to FID ranges; every row is read once."""
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 20_000, size=(N, 2))  # FID order scattered in space: R-tree tiles
    boxes = [
        shapely.box(36_561_000 + x, 2_400_000 + y, 36_561_040 + x, 2_400_040 + y) for x, y in xy
    ]
    stale = tmp_path / "stale.gpkg"
    gpd.GeoDataFrame({"pid": range(N)}, geometry=boxes, crs="EPSG:4524").to_file(
        stale, layer="parcels"
    )
    _sql(
        stale,
        "DROP TRIGGER trigger_delete_feature_count_parcels",
        "DELETE FROM parcels WHERE fid IN (10, 200)",
    )
    fixed = tmp_path / "fixed.gpkg"
    shutil.copy(stale, fixed)
    _sql(fixed, "UPDATE gpkg_ogr_contents SET feature_count = (SELECT count(*) FROM parcels)")
    (n,) = _sql(stale, "SELECT count(*) FROM parcels")[0]
    want = chunk_starts(ChunkSource(str(fixed), fid="fid"), n, ROWS)
    assert all(expected is not None for *_, expected in want)  # the right count: tiles
    seen: list[int] = []
    for _, where, _, expected in chunk_starts(ChunkSource(str(stale), fid="fid"), N, ROWS):
        rows = _sql(stale, f"SELECT fid FROM parcels WHERE {where}")
        assert expected is None or len(rows) == expected
        seen += [r[0] for r in rows]
    assert sorted(seen) == [r[0] for r in _sql(stale, "SELECT fid FROM parcels ORDER BY fid")]
    assert len(seen) == n == N - 2
