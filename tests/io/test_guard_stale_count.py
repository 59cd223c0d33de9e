"""The feature cap checked before reading (:func:`qzgeo.io.guard.admit_source`) counts a
GeoPackage's rows when its stored count is over the cap (the count may be stale), and other
formats by GDAL's count as before. Oracle: the rows written, SQLite's count."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from qzgeo._errors import InputError
from qzgeo.io.guard import ReadCaps, admit_source, read_caps

X0, Y0 = 36_561_000.0, 2_400_000.0


def _write(path: Path, n: int) -> Path:
    boxes = [shapely.box(X0 + 100 * i, Y0, X0 + 100 * i + 50, Y0 + 50) for i in range(n)]
    gpd.GeoDataFrame({"a": range(n)}, geometry=boxes, crs="EPSG:4524").to_file(path)
    return path


@pytest.mark.parametrize("suffix", [".shp", ".gpkg", ".fgb"])
def test_a_layer_over_the_cap_is_refused_with_its_count(tmp_path: Path, suffix: str) -> None:
    path = _write(tmp_path / f"parcels{suffix}", 5)
    cap3 = read_caps(ReadCaps(max_features=3, features_given=True))
    with cap3, pytest.raises(InputError, match="has 5 features, over the cap of 3 per layer"):
        admit_source(path)
    with read_caps(ReadCaps(max_features=5, features_given=True)):
        assert admit_source(path) == []


@pytest.mark.parametrize(("stored", "cap", "refused"), [(9, 5, None), (9, 4, 5), (9, 0, None)])
def test_a_stale_count_over_the_cap_is_checked_against_the_rows(
    tmp_path: Path, stored: int, cap: int, refused: int | None
) -> None:
    path = _write(tmp_path / "parcels.gpkg", 5)
    with contextlib.closing(sqlite3.connect(path)) as con:
        con.execute(f"UPDATE gpkg_ogr_contents SET feature_count = {stored}")
        if cap == 0:  # an empty table, its stored count stale: 0 rows are under any cap
            con.execute("DELETE FROM parcels")
        con.commit()
    caps = ReadCaps(max_features=max(cap, 1), features_given=True)
    with read_caps(caps):
        if refused is None:
            assert admit_source(path) == []
        else:
            with pytest.raises(InputError, match=f"has {refused} features, over the cap of {cap} "):
                admit_source(path)
