"""qzgeo.io.guard keeps a file's layer list and feature count per version of the file.

A file replaced at the same path (same size, even) is a new version: what is said of it is
what GDAL reads from it now. Oracle: plain SQL on the GeoPackage's own tables.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from qzgeo._errors import InputError
from qzgeo.io.guard import ReadCaps, admit_source, ogr_layers, read_caps


def _gpkg(path: Path, layer: str, n: int) -> None:
    boxes = [shapely.box(36_500_000 + 20 * i, 2_400_000, 36_500_010 + 20 * i, 2_400_010)
             for i in range(n)]  # fmt: skip
    gdf = gpd.GeoDataFrame({"pid": range(n)}, geometry=boxes, crs="EPSG:4524")
    pyogrio.write_dataframe(gdf, path, layer=layer, driver="GPKG")


def _replace(path: Path, layer: str, n: int, *, mtime_ns: int) -> None:
    """``path`` written again (through a new file moved in place, as qzgeo and editors do)."""
    new = path.with_name("new.gpkg")
    _gpkg(new, layer, n)
    os.replace(new, path)
    os.utime(path, ns=(mtime_ns, mtime_ns))


def _sql_layers(path: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(path)) as con:
        return [r[0] for r in con.execute("SELECT table_name FROM gpkg_contents")]


def test_a_file_replaced_by_one_of_the_same_size_lists_its_own_layers(tmp_path: Path) -> None:
    """Same size (GeoPackages are whole pages), another mtime: the new layer list."""
    path = tmp_path / "p.gpkg"
    _gpkg(path, "alpha", 3)
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    size = path.stat().st_size
    assert [n for n, _ in ogr_layers(path)] == ["alpha"] == _sql_layers(path)
    _replace(path, "omega", 3, mtime_ns=2_000_000_000)
    assert path.stat().st_size == size  # only the mtime tells the versions apart
    assert [n for n, _ in ogr_layers(path)] == ["omega"] == _sql_layers(path)


def test_a_file_replaced_by_one_with_more_features_is_capped_on_its_new_count(
    tmp_path: Path,
) -> None:
    path = tmp_path / "p.gpkg"
    _gpkg(path, "parcels", 3)
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    size = path.stat().st_size
    with read_caps(ReadCaps(max_features=4, features_given=True)):
        assert admit_source(path) == []
        _replace(path, "parcels", 5, mtime_ns=2_000_000_000)
        assert path.stat().st_size == size
        with contextlib.closing(sqlite3.connect(path)) as con:
            assert con.execute("SELECT count(*) FROM parcels").fetchone()[0] == 5
        with pytest.raises(InputError, match="5 features, over the cap of 4"):
            admit_source(path)
