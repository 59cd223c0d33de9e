"""The chunk plan of a GeoPackage whose stored feature count is stale (qzgeo.analysis.chunk_plan).

Counts too high (rows deleted past GDAL's triggers; equal to the highest FID, or above it, or
set by hand) and too low, with and without an R-tree: each chunk holds what its ``expected``
says (a mismatch is "please report this"), every row is in one chunk, no chunk is larger
than asked. With an R-tree, the plan is the one of the same file with its count set right:
a count equal to the highest FID made the plan take FIDs ``1..count`` (deleted ones too), the
R-tree's ids did not match them, and the tiles were given up for FID ranges (an output
R-tree built 4x slower). Oracle: SQLite's rows of the table, and the right-count copy.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely

from qzgeo.analysis.chunk_pool import ChunkSource, chunk_starts

N, ROWS = 400, 50
DEL = "DROP TRIGGER trigger_delete_feature_count_parcels"

CASES: dict[str, tuple[str, ...]] = {
    "high_equal_to_max_fid": (DEL, "DELETE FROM parcels WHERE fid IN (10, 200, 201)"),
    "high_above_max_fid": (DEL, f"DELETE FROM parcels WHERE fid IN (10, {N})"),
    "high_set": (f"UPDATE gpkg_ogr_contents SET feature_count = {N + 90}",),
    "low_set": (f"UPDATE gpkg_ogr_contents SET feature_count = {N - 90}",),
    "first_rows_gone": (DEL, "DELETE FROM parcels WHERE fid <= 5"),  # FIDs 6..N: all read
}


def _sql(path: Path, *statements: str) -> list[tuple[int, ...]]:
    with contextlib.closing(sqlite3.connect(path)) as con:
        rows: list[tuple[int, ...]] = []
        for s in statements:
            rows = con.execute(s).fetchall()
        con.commit()
    return rows


@pytest.fixture(scope="module")
def originals(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Path]:
    """FIDs scattered in space (the right count gives R-tree tiles); with and without R-tree."""
    xy = np.random.default_rng(7).uniform(0, 20_000, size=(N, 2))
    boxes = shapely.box(36_561_000 + xy[:, 0], 2_400_000 + xy[:, 1],
                        36_561_040 + xy[:, 0], 2_400_040 + xy[:, 1])  # fmt: skip
    gdf = gpd.GeoDataFrame({"pid": range(N)}, geometry=boxes, crs="EPSG:4524")
    out = {}
    for rtree in (True, False):
        path = tmp_path_factory.mktemp("orig") / "parcels.gpkg"
        pyogrio.write_dataframe(
            gdf, path, layer="parcels", driver="GPKG", layer_options={"SPATIAL_INDEX": rtree}
        )
        out[rtree] = path
    return out


@pytest.mark.parametrize("rtree", [True, False])
@pytest.mark.parametrize("case", list(CASES))
def test_each_row_in_one_chunk_and_the_tiles_kept(
    originals: dict[bool, Path], tmp_path: Path, case: str, rtree: bool
) -> None:
    stale = tmp_path / "stale.gpkg"
    shutil.copy(originals[rtree], stale)
    _sql(stale, *CASES[case])
    fixed = tmp_path / "fixed.gpkg"
    shutil.copy(stale, fixed)
    _sql(fixed, "UPDATE gpkg_ogr_contents SET feature_count = (SELECT count(*) FROM parcels)")
    (n,) = _sql(stale, "SELECT count(*) FROM parcels")[0]
    stored = pyogrio.read_info(stale)["features"]
    assert stored != n
    plan = chunk_starts(ChunkSource(str(stale), fid="fid"), stored, ROWS)
    seen: list[int] = []
    for _, where, _, expected in plan:
        got = [r[0] for r in _sql(stale, f"SELECT fid FROM parcels WHERE {where}")]
        assert expected is None or len(got) == expected  # else "please report this"
        assert len(got) <= ROWS
        seen += got
    assert sorted(seen) == [r[0] for r in _sql(stale, "SELECT fid FROM parcels ORDER BY fid")]
    assert len(seen) == n
    if rtree:  # the tiles of the right count, not FID ranges
        right = chunk_starts(ChunkSource(str(fixed), fid="fid"), n, ROWS)
        assert all(spec[3] is not None for spec in right)
        assert plan == right


def test_a_feature_without_geometry_keeps_fid_ranges(
    originals: dict[bool, Path], tmp_path: Path
) -> None:
    """A FID without a box that is a row (no geometry) is no stale count's gap: the tiles
    would miss it, so the plan keeps FID ranges and reads it."""
    path = tmp_path / "nulls.gpkg"
    shutil.copy(originals[True], path)
    with contextlib.closing(sqlite3.connect(path)) as con:
        # GDAL's R-tree triggers call functions plain SQLite lacks: drop the update ones
        for (name,) in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'rtree_%update%'"
        ).fetchall():
            con.execute(f'DROP TRIGGER "{name}"')
        con.execute("UPDATE parcels SET geom = NULL WHERE fid = 33")
        con.execute("DELETE FROM rtree_parcels_geom WHERE id = 33")
        con.commit()
    plan = chunk_starts(ChunkSource(str(path), fid="fid"), N, ROWS)
    assert all(spec[3] is None for spec in plan)
    seen = [r[0] for _, w, _, _ in plan for r in _sql(path, f"SELECT fid FROM parcels WHERE {w}")]
    assert sorted(seen) == list(range(1, N + 1))


def test_a_feature_without_geometry_outside_the_sample_keeps_fid_ranges(tmp_path: Path) -> None:
    """Past 16 000 features the R-tree is first checked on a sample (every other FID here):
    a row without geometry that the sample skips, beside a stale count's gaps, still keeps
    FID ranges (the tiles would miss it). Oracle: SQLite's rows of the table."""
    n = 16_001
    xy = np.random.default_rng(3).uniform(0, 50_000, size=(n, 2))
    boxes = shapely.box(36_561_000 + xy[:, 0], 2_400_000 + xy[:, 1],
                        36_561_020 + xy[:, 0], 2_400_020 + xy[:, 1])  # fmt: skip
    path = tmp_path / "parcels.gpkg"
    gdf = gpd.GeoDataFrame({"pid": range(n)}, geometry=boxes, crs="EPSG:4524")
    pyogrio.write_dataframe(gdf, path, layer="parcels", driver="GPKG")
    updates = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'rtree_%update%'"
    drops = [f'DROP TRIGGER "{name}"' for (name,) in _sql(path, updates)]
    _sql(
        path, *drops, DEL,
        "DELETE FROM parcels WHERE fid IN (17, 121)",  # the count stays n, the highest FID
        "UPDATE parcels SET geom = NULL WHERE fid = 34",  # even: not in the sample
        "DELETE FROM rtree_parcels_geom WHERE id = 34",
    )  # fmt: skip
    assert pyogrio.read_info(path)["features"] == n
    plan = chunk_starts(ChunkSource(str(path), fid="fid"), n, 2_000)
    seen = [r[0] for _, w, _, _ in plan for r in _sql(path, f"SELECT fid FROM parcels WHERE {w}")]
    assert sorted(seen) == [r[0] for r in _sql(path, "SELECT fid FROM parcels ORDER BY fid")]
    assert 34 in seen


def test_a_stale_rtree_beside_a_stale_count_keeps_fid_ranges(
    originals: dict[bool, Path], tmp_path: Path
) -> None:
    """An R-tree with an id the table lacks (a box left by a tool) is stale: its tiles would
    count a feature no chunk reads, even when the count's gaps make its ids look few enough."""
    path = tmp_path / "stale.gpkg"
    shutil.copy(originals[True], path)
    _sql(
        path, DEL, "DELETE FROM parcels WHERE fid IN (10, 200)",
        "INSERT INTO rtree_parcels_geom VALUES (9999, 36561000, 36561040, 2400000, 2400040)",
    )  # fmt: skip
    plan = chunk_starts(ChunkSource(str(path), fid="fid"), N, ROWS)
    seen: list[int] = []
    for _, where, _, expected in plan:
        got = [r[0] for r in _sql(path, f"SELECT fid FROM parcels WHERE {where}")]
        assert expected is None or len(got) == expected
        seen += got
    assert sorted(seen) == [r[0] for r in _sql(path, "SELECT fid FROM parcels ORDER BY fid")]
