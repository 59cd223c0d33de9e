"""A GeoPackage read row by row (parcels with curves) is read whole whatever its stored count.

pyogrio's row-by-row reader (qzgeo's path for curves, which Arrow cannot hold) reads as many
rows as GDAL counts, and GDAL took the count of ``gpkg_ogr_contents``: a count too low (rows
inserted past GDAL's count triggers) dropped the last parcels without a word. Oracle: SQLite's
``count(*)`` and FIDs of the table.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import numpy as np
import pyogrio
import pytest
from support import circle_wkb

from qzgeo.io.vector import read_layer, read_layer_features
from qzgeo.notices import notices_of

X0, Y0 = 36_564_000.0, 2_399_000.0  # GK zone 36 (EPSG:4524)
N = 30


def _circles(path: Path) -> Path:
    """N CURVEPOLYGONs (circles of one closed CIRCULARSTRING), WKB written by hand."""
    wkbs = [circle_wkb(X0 + 500 * i, Y0, 300) for i in range(N)]
    pyogrio.raw.write(
        path,
        geometry=np.array(wkbs, dtype=object),
        field_data=[np.array([f"QZ-{i}" for i in range(N)], dtype=object)],
        fields=["地块编号"],
        geometry_type="Unknown",
        crs="EPSG:4524",
        driver="GPKG",
        layer="parcels",
    )
    return path


def _fids(path: Path) -> list[int]:
    with contextlib.closing(sqlite3.connect(path)) as con:
        return [r[0] for r in con.execute("SELECT fid FROM parcels ORDER BY fid")]


@pytest.mark.parametrize("stored", [0, N - 10, N + 10])  # 0: a count, not "unknown"
def test_curves_with_a_stale_count_are_read_whole_and_said(tmp_path: Path, stored: int) -> None:
    path = _circles(tmp_path / "弧形宗地.gpkg")
    with contextlib.closing(sqlite3.connect(path)) as con:
        con.execute(f"UPDATE gpkg_ogr_contents SET feature_count = {stored}")
        con.commit()
    assert pyogrio.read_info(path)["features"] == stored
    gdf = read_layer(path)
    assert gdf.index.tolist() == _fids(path)  # was the first 20 of 30 with the count 20
    said = [m for m in notices_of(gdf).messages() if "gpkg_ogr_contents" in m]
    assert len(said) == 1 and f"says {stored} features, the table holds {N} " in said[0], said
    assert any("curves" in m for m in notices_of(gdf).messages())


def test_a_filtered_read_of_curves_is_not_widened(tmp_path: Path) -> None:
    """A chunk (``where``) keeps its own filter; it gets no warning of its own."""
    path = _circles(tmp_path / "弧形宗地.gpkg")
    gdf = read_layer_features(path, ("fid >= 11 AND fid < 21", 100))
    assert gdf.index.tolist() == list(range(11, 21))
    assert not [m for m in notices_of(gdf).messages() if "gpkg_ogr_contents" in m]
