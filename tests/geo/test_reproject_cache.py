"""The transformers' pipelines kept in qzgeo's cache (geo/reproject.py).

The oracle is pyproj's own ``Transformer.from_crs`` with ``always_xy=True``: a transformer
built from the cached pipeline must move every point exactly as the searched one does, and a
pair for which PROJ chooses between operations must never be cached.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pyproj
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import CRS, Transformer

from qzgeo.geo import reproject
from qzgeo.geo.reproject import TRANSFORMS, cached_transformer

#: Pairs between two datums, each with one operation in PROJ's database (a ballpark no-op
#: between WGS 84 and CGCS2000, with or without a projection on either side).
ONE_OPERATION = [
    ("OGC:CRS84", "EPSG:4490"),
    ("EPSG:4326", "EPSG:4545"),  # lat-first WGS 84 to CGCS2000 3-degree GK, CM 108E
    ("EPSG:4545", "EPSG:4326"),
    ("EPSG:32649", "EPSG:4490"),  # UTM 49N
]


def _fresh() -> None:
    """A new process: the in-memory transformers forgotten, the cache folder kept."""
    reproject._transformer.cache_clear()


@functools.lru_cache
def _searched(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(CRS(src).to_wkt(), CRS(dst).to_wkt(), always_xy=True)


def _points(src: str) -> tuple[np.ndarray, np.ndarray]:
    """A lon/lat grid over China (and beyond it), in ``src``'s units, plus hostile values."""
    lon, lat = np.meshgrid(np.linspace(70.0, 140.0, 29), np.linspace(15.0, 55.0, 17))
    lon, lat = lon.ravel(), lat.ravel()
    crs = CRS(src)
    if crs.is_projected:
        lon, lat = _searched("EPSG:4326", src).transform(lon, lat)
    x = np.concatenate([lon, [np.nan, np.inf, 0.0]])
    y = np.concatenate([lat, [0.0, 0.0, np.nan]])
    return x, y


def _same(a: Transformer, b: Transformer, x: np.ndarray, y: np.ndarray) -> None:
    ax, ay = a.transform(x, y)
    bx, by = b.transform(x, y)
    np.testing.assert_array_equal(ax, bx)  # bit for bit, NaN and inf where they are
    np.testing.assert_array_equal(ay, by)


@pytest.mark.parametrize(("src", "dst"), ONE_OPERATION)
def test_a_later_process_builds_the_pair_from_the_cache_and_moves_points_alike(
    src: str, dst: str, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fresh()
    first = cached_transformer(src, dst)
    assert len(list((cache / TRANSFORMS).glob("*.qzc"))) == 1
    _fresh()

    def no_search(*args: object, **kwargs: object) -> Transformer:
        msg = "the cached pipeline should have been used"
        raise AssertionError(msg)

    monkeypatch.setattr(Transformer, "from_crs", staticmethod(no_search))
    later = cached_transformer(src, dst)
    monkeypatch.undo()
    assert later is not first
    x, y = _points(src)
    _same(later, _searched(src, dst), x, y)
    _fresh()


@settings(max_examples=60, deadline=None)
@given(
    lon=st.floats(73.0, 135.0, allow_nan=False),
    lat=st.floats(18.0, 54.0, allow_nan=False),
    pair=st.sampled_from(ONE_OPERATION),
)
def test_any_point_in_china_moves_alike(lon: float, lat: float, pair: tuple[str, str]) -> None:
    src, dst = pair
    searched = _searched(src, dst)
    kept = Transformer.from_pipeline(searched.definition)
    x, y = _searched("EPSG:4326", src).transform(lon, lat) if CRS(src).is_projected else (lon, lat)
    assert kept.transform(x, y) == searched.transform(x, y)


def test_a_pair_with_a_choice_of_operations_is_never_cached(cache: Path) -> None:
    # WGS 84 -> Beijing 1954: several operations, chosen point by point by their areas
    group = pyproj.transformer.TransformerGroup("EPSG:4326", "EPSG:4214", always_xy=True)
    assert len(group.transformers) > 1
    _fresh()
    t = cached_transformer("EPSG:4326", "EPSG:4214")
    assert not list((cache / TRANSFORMS).glob("*.qzc"))
    x, y = _points("EPSG:4326")
    _same(t, _searched("EPSG:4326", "EPSG:4214"), x, y)
    _fresh()


def test_within_one_datum_nothing_is_written(cache: Path) -> None:
    _fresh()
    cached_transformer("EPSG:4545", "EPSG:4490")
    assert not (cache / TRANSFORMS).exists()
    _fresh()


def test_cache_off_writes_nothing(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QZGEO_NO_CACHE", "1")
    _fresh()
    cached_transformer("OGC:CRS84", "EPSG:4490")
    assert not cache.exists()
    _fresh()


def test_another_proj_database_is_another_key(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, dst = (CRS(c).to_wkt() for c in ONE_OPERATION[0])
    key = reproject._pipeline_key(src, dst)
    other = tmp_path / "proj"
    other.mkdir()
    (other / "proj.db").write_bytes(b"another database")
    monkeypatch.setattr(reproject, "get_data_dir", lambda: str(other))
    assert key is not None and reproject._pipeline_key(src, dst) not in (None, key)


def test_an_entry_this_proj_cannot_build_means_a_search(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, dst = ONE_OPERATION[0]
    key = reproject._pipeline_key(CRS(src).to_wkt(), CRS(dst).to_wkt())
    assert key is not None
    reproject.save_entry(TRANSFORMS, key, {"pipeline": "proj=no_such_operation"}, {})
    _fresh()
    t = cached_transformer(src, dst)
    x, y = _points(src)
    _same(t, _searched(src, dst), x, y)
    _fresh()
