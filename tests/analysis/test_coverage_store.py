"""A coverage's planar parts kept in qzgeo's cache (qzgeo.analysis.coverage_store).

Oracle: the parts built with the cache off, and the cut of parcels across the coverage's edge
with the cache off: a hit must give the same pieces (byte for byte), the same index and the
same parts outside as a build; a damaged or foreign entry is a miss, never an error.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import CRS, Transformer

from qzgeo.analysis import coverage_store
from qzgeo.analysis.coverage_cut import coverage_outside
from qzgeo.cache_store import save_entry
from qzgeo.geo.coverage import Coverage

EXTENT = (108.0, 21.4, 109.2, 22.4)
GK = CRS.from_epsg(4546)  # not the zone the coverage lies in: projected far off its meridian


def _coverage() -> Coverage:
    """Districts with a bay, an enclave and an island, edges densified (a real layer's many
    vertices: pieces of at most 512 of them)."""
    land = shapely.difference(
        shapely.box(108.1, 21.5, 109.0, 22.3), shapely.box(108.5, 21.5, 108.7, 21.8)
    )
    land = shapely.difference(land, shapely.box(108.3, 22.0, 108.35, 22.05))
    island = shapely.box(108.9, 21.45, 109.1, 21.55)
    geoms = [shapely.segmentize(g, 0.0004) for g in (land, island)]
    return Coverage.of_polygons(geoms, EXTENT, layer="districts")


def _parcels(n: int, crs: CRS) -> np.ndarray:
    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(107.95, 109.25, n), rng.uniform(21.35, 22.45, n)
    size = rng.uniform(0.0005, 0.02, n)
    t = Transformer.from_crs(4490, crs, always_xy=True)
    boxes = shapely.box(lon, lat, lon + size, lat + size)
    moved = shapely.transform(boxes, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))
    return np.asarray(moved, dtype=object)


def _wkb(geoms: np.ndarray) -> list[bytes]:
    return list(shapely.to_wkb(np.asarray(geoms, dtype=object)))


def _built(monkeypatch: pytest.MonkeyPatch, cov: Coverage) -> coverage_store.CoverageParts:
    monkeypatch.setenv("QZGEO_NO_CACHE", "1")
    coverage_store.coverage_parts.cache_clear()
    try:
        return coverage_store.coverage_parts(GK.to_wkt(), cov)
    finally:
        monkeypatch.delenv("QZGEO_NO_CACHE")
        coverage_store.coverage_parts.cache_clear()


def test_parts_read_back_are_the_parts_built(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cov = _coverage()
    built = _built(monkeypatch, cov)
    assert built.index is not None and len(built.pieces) > 4  # cut in many pieces
    assert not (cache / "coverage").exists()  # the cache was off
    coverage_store.coverage_parts(GK.to_wkt(), cov)  # a miss: built and saved
    assert len(list((cache / "coverage").glob("*.qzc"))) == 1
    coverage_store.coverage_parts.cache_clear()
    hit = coverage_store.coverage_parts(GK.to_wkt(), cov)  # read back
    assert hit is not built and hit.index is not None
    assert _wkb(hit.pieces) == _wkb(built.pieces)
    assert shapely.to_wkb(hit.shape) == shapely.to_wkb(built.shape)
    assert hit.index.grid == built.index.grid
    for name in ("sat", "comp", "ptr", "members"):
        a, b = getattr(hit.index, name), getattr(built.index, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name


def test_parcels_outside_are_the_same_from_a_hit(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cov, parcels = _coverage(), _parcels(3_000, GK)  # above the cell index's threshold
    monkeypatch.setenv("QZGEO_NO_CACHE", "1")
    coverage_store.coverage_parts.cache_clear()
    off = coverage_outside(parcels, GK, cov)
    monkeypatch.delenv("QZGEO_NO_CACHE")
    for _ in range(2):  # a miss (saved), then a hit
        coverage_store.coverage_parts.cache_clear()
        from qzgeo.analysis import coverage_cut

        coverage_cut._coverage_pieces.cache_clear()
        got = coverage_outside(parcels, GK, cov)
        assert np.array_equal(got[0], off[0]) and np.array_equal(got[2], off[2])
        assert _wkb(got[1]) == _wkb(off[1])
    assert 0 < len(off[0]) < len(parcels) and (~off[2]).any()  # some cut, some whole


@pytest.mark.parametrize("damage", ["sizes", "missing_blob", "bad_zlib"])
def test_a_damaged_entry_is_a_miss_and_the_parts_are_built(
    cache: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    cov = _coverage()
    built = _built(monkeypatch, cov)
    key = coverage_store.coverage_key(GK.to_wkt(), cov)
    assert key is not None
    meta = {"pieces": [10, 20], "index": None}
    blobs = {"shape": shapely.to_wkb(built.shape), "pieces": b"x" * 31}  # sizes: 30 != 31
    if damage == "missing_blob":
        meta, blobs = {"pieces": [], "index": None}, {"pieces": b""}
    if damage == "bad_zlib":
        meta = {
            "pieces": [],
            "index": {"grid": [0, 0, 1, 2, 2], "mask": [1, 1], "arrays": {"comp": ["|u1", [1]]}},
        }
        blobs = {"shape": blobs["shape"], "pieces": b"", "index:mask": b"\0", "index:comp": b"?"}
    assert save_entry("coverage", key, meta, blobs)  # a whole file: only its content is wrong
    coverage_store.coverage_parts.cache_clear()
    got = coverage_store.coverage_parts(GK.to_wkt(), cov)
    assert _wkb(got.pieces) == _wkb(built.pieces)


def test_keys_differ_by_crs_and_coverage_and_none_without_a_layer(cache: Path) -> None:
    cov = _coverage()
    a = coverage_store.coverage_key(GK.to_wkt(), cov)
    b = coverage_store.coverage_key(CRS.from_epsg(4545).to_wkt(), cov)
    other = Coverage.of_polygons([shapely.box(108.2, 21.6, 108.8, 22.1)], EXTENT, layer="districts")
    c = coverage_store.coverage_key(GK.to_wkt(), other)
    assert None not in (a, b, c) and len({a, b, c}) == 3
    assert coverage_store.coverage_key(GK.to_wkt(), Coverage(EXTENT)) is None  # the box
