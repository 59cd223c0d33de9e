"""Integer fields with a null, in a layer read row by row (curves), come out as they went in.

pyogrio's row-by-row reader (qzgeo's path for curves, which Arrow cannot carry: arcs of
ArcGIS or CAD parcels) gives an integer field with a null as floats. A 19-digit 宗地代码 lost
its last digits: 4507020010010000001 and ...003 came out of ``qzgeo analyze`` as
4507020010010000000 and ...004, digits no parcel has. Oracle: the values SQLite holds in the
input and output files, read with ``sqlite3`` (no GDAL, no qzgeo).
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
from click.testing import CliRunner
from support import circle_wkb

from qzgeo.cli.main import cli
from qzgeo.io.vector import read_layer, read_layer_features

X0, Y0 = 36_564_000.0, 2_399_000.0  # GK zone 36 (EPSG:4524), on the bundled pack's land
CODES = [4507020010010000001 + 2 * i for i in range(6)]  # odd: none is a float64 exactly


def _circles(path: Path) -> Path:
    """Six CURVEPOLYGONs with a 19-digit Integer64 code each, the third one NULL."""
    wkbs = [circle_wkb(X0 + 500 * i, Y0, 300) for i in range(len(CODES))]
    pyogrio.raw.write(
        path,
        geometry=np.array(wkbs, dtype=object),
        field_data=[np.array(CODES, dtype=np.int64), np.arange(len(CODES), dtype=np.int32)],
        fields=["宗地代码", "序号"],
        geometry_type="Unknown",
        crs="EPSG:4524",
        driver="GPKG",
        layer="parcels",
        layer_options={"SPATIAL_INDEX": "NO"},  # its triggers need GDAL's SQL functions
    )
    with contextlib.closing(sqlite3.connect(path)) as con:
        con.execute('UPDATE parcels SET "宗地代码" = NULL WHERE fid = 3')
        con.commit()
    return path


def _column(path: Path, table: str, column: str) -> list[object]:
    with contextlib.closing(sqlite3.connect(path)) as con:
        rows = con.execute(f'SELECT "{column}", typeof("{column}") FROM "{table}" ORDER BY fid')
        return [v if kind != "real" else ("REAL", v) for v, kind in rows]


def test_a_row_by_row_read_keeps_integers_with_a_null(tmp_path: Path) -> None:
    path = _circles(tmp_path / "弧形宗地.gpkg")
    want = _column(path, "parcels", "宗地代码")
    assert want[2] is None and want[0] == CODES[0]
    gdf = read_layer(path)
    got = gdf["宗地代码"]
    assert isinstance(got.dtype, pd.Int64Dtype), got.dtype  # was float64
    assert [None if pd.isna(v) else int(v) for v in got] == want
    assert gdf["序号"].dtype == np.int32  # a field without a null stays a numpy integer


def test_a_chunk_read_row_by_row_keeps_them_too(tmp_path: Path) -> None:
    path = _circles(tmp_path / "弧形宗地.gpkg")
    want = _column(path, "parcels", "宗地代码")
    gdf = read_layer_features(path, ("fid >= 2 AND fid < 6", 100))
    assert gdf.index.tolist() == [2, 3, 4, 5]
    assert [None if pd.isna(v) else int(v) for v in gdf["宗地代码"]] == want[1:5]


def test_analyze_writes_the_codes_it_read(tmp_path: Path) -> None:
    path = _circles(tmp_path / "弧形宗地.gpkg")
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["analyze", "--parcels", str(path), "--out", str(out)])
    assert res.exit_code == 0, res.output
    written = next(out.glob("*/parcels.gpkg"))
    assert _column(written, "parcels", "宗地代码") == _column(path, "parcels", "宗地代码")
