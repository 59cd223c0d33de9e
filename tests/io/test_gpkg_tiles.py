"""Spatial chunks from a GeoPackage's R-tree: every feature in exactly one tile.

The oracle is GDAL itself: each tile's ``WHERE`` clause is run by pyogrio and the FIDs it
returns are compared with the file's FIDs (no feature missed, none read twice).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from qzgeo.io.gpkg_tiles import rtree_tiles


def _write(path: Path, centres: np.ndarray, size: float = 10.0) -> np.ndarray:
    geoms = shapely.box(centres[:, 0], centres[:, 1], centres[:, 0] + size, centres[:, 1] + size)
    gdf = gpd.GeoDataFrame({"pid": np.arange(len(geoms))}, geometry=geoms, crs="EPSG:4524")
    pyogrio.write_dataframe(gdf, path, layer="parcels", driver="GPKG")
    return np.asarray(
        pyogrio.read_arrow(path, columns=[], read_geometry=False, return_fids=True)[1]
        .column(0)
        .to_numpy(),
        dtype=np.int64,
    )


def _tile_fids(path: Path, tiles: list[tuple[str, int]]) -> list[np.ndarray]:
    out = []
    for where, count in tiles:
        _, table = pyogrio.read_arrow(
            path, where=where, columns=[], read_geometry=False, return_fids=True
        )[:2]
        fids = table.column(0).to_numpy()
        assert len(fids) == count  # the count the caller checks
        out.append(fids)
    return out


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(50, 3000),
    rows=st.integers(7, 400),
    ties=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_tiles_partition_the_features(
    tmp_path_factory: pytest.TempPathFactory, n: int, rows: int, ties: bool, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    centres = 36_500_000 + rng.uniform(0, 50_000, (n, 2)) * [1, 0.1]
    centres[:, 1] += 2_400_000
    if ties:  # many parcels on the same few centres: medians fall on ties
        centres = centres[rng.integers(0, max(2, n // 20), n)]
    path = tmp_path_factory.mktemp("tiles") / "p.gpkg"
    fids = _write(path, centres)
    tiles = rtree_tiles(path, None, "fid", rows, fids)
    if tiles is None:  # two chunks or fewer: file order is as good; or all centres equal
        assert -(-n // rows) <= 2 or len(np.unique(centres, axis=0)) <= 1
        return
    got = np.concatenate(_tile_fids(path, tiles))
    assert len(got) == len(fids)
    assert np.array_equal(np.sort(got), np.sort(fids))  # each feature exactly once
    # tiles hold at most `rows` features unless all their centres are equal
    for (_, count), tf in zip(tiles, _tile_fids(path, tiles), strict=True):
        if count > rows:
            sub = centres[np.searchsorted(fids, tf)]
            assert len(np.unique(sub, axis=0)) == 1


def test_file_in_spatial_order_keeps_fid_ranges(tmp_path: Path) -> None:
    gx, gy = np.meshgrid(np.arange(60) * 20.0, np.arange(50) * 20.0)
    centres = np.column_stack([gx.ravel() + 36_500_000, gy.ravel() + 2_400_000])
    fids = _write(tmp_path / "rowmajor.gpkg", centres)
    assert rtree_tiles(tmp_path / "rowmajor.gpkg", None, "fid", 500, fids) is None
    shuffled = centres[np.random.default_rng(1).permutation(len(centres))]
    fids = _write(tmp_path / "random.gpkg", shuffled)
    tiles = rtree_tiles(tmp_path / "random.gpkg", None, "fid", 500, fids)
    assert tiles is not None and len(tiles) >= 6
    # each tile is compact: far smaller than the whole extent
    for tf in _tile_fids(tmp_path / "random.gpkg", tiles):
        pts = shuffled[tf - 1]
        span = (pts.max(axis=0) - pts.min(axis=0)).prod()
        assert span < 0.4 * (1180 * 980)


def test_features_without_geometry_disable_tiles(tmp_path: Path) -> None:
    """They have no R-tree box: tiles would miss them, so FID ranges are used."""
    rng = np.random.default_rng(2)
    centres = 36_500_000 + rng.uniform(0, 5_000, (400, 2))
    geoms = list(shapely.box(centres[:, 0], centres[:, 1], centres[:, 0] + 5, centres[:, 1] + 5))
    geoms[17] = None
    gdf = gpd.GeoDataFrame({"pid": range(400)}, geometry=geoms, crs="EPSG:4524")
    path = tmp_path / "nulls.gpkg"
    pyogrio.write_dataframe(gdf, path, layer="parcels", driver="GPKG")
    fids = np.arange(1, 401, dtype=np.int64)
    assert rtree_tiles(path, None, "fid", 50, fids) is None


def test_no_rtree_means_no_tiles(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    centres = 36_500_000 + rng.uniform(0, 5_000, (300, 2))
    geoms = shapely.box(centres[:, 0], centres[:, 1], centres[:, 0] + 5, centres[:, 1] + 5)
    gdf = gpd.GeoDataFrame({"pid": range(300)}, geometry=geoms, crs="EPSG:4524")
    path = tmp_path / "noindex.gpkg"
    pyogrio.write_dataframe(gdf, path, layer="parcels", driver="GPKG", SPATIAL_INDEX="NO")
    assert rtree_tiles(path, None, "fid", 50, np.arange(1, 301, dtype=np.int64)) is None


def test_a_stale_rtree_disables_tiles(tmp_path: Path) -> None:
    """An R-tree whose ids are not the features' FIDs (a tool that edited the table without
    the triggers): as many boxes as features, but not theirs; FID ranges are used."""
    import sqlite3

    rng = np.random.default_rng(4)
    centres = 36_500_000 + rng.uniform(0, 5_000, (40_000, 2))
    path = tmp_path / "stale.gpkg"
    fids = _write(path, centres)
    assert rtree_tiles(path, None, "fid", 5_000, fids) is not None
    con = sqlite3.connect(path)
    with con:  # move one box to an id no feature has (no ST_* triggers fire on the rtree);
        # FID 8 is not among the 20 000 sampled (every 2nd from FID 1)
        con.execute('UPDATE "rtree_parcels_geom" SET id = 1000000 WHERE id = 8')
    con.close()
    assert rtree_tiles(path, None, "fid", 5_000, fids) is None
