"""Hostile parcels in a later chunk of the worker-process path of `qzgeo analyze`, and a
byte-identical rerun. A 60 025-parcel GeoPackage goes in 3 chunks of 25 000 to 2 workers; the
hostile rows are in chunk 3 (rows 50 000..)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import Transformer

sys.path.insert(0, str(Path(__file__).parent))

from pool_support import (
    CRS,
    leftovers,
    quad_parcels,
    qzgeo,
    result_rows,
    snapshot,
    write_parcels,
)

pytestmark = pytest.mark.slow

ENGINE = "2 processes, 3 chunks of 25000 parcels"
BOWTIE = 55_000  # row (FID 55 001)
NULLS = [50_000, 52_000, 55_555, 60_000]


@pytest.fixture(scope="module")
def repaired(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A bow-tie and an integer column null in some rows, all in chunk 3; analyzed once."""
    tmp = tmp_path_factory.mktemp("hostile")
    gdf = quad_parcels()
    x, y = shapely.get_coordinates(gdf.geometry.iloc[BOWTIE])[0]
    bowtie = shapely.Polygon([(x, y), (x + 50, y + 50), (x + 50, y), (x, y + 50)])
    gdf.loc[BOWTIE, "geometry"] = bowtie
    gdf.loc[NULLS, "code"] = pd.NA
    src = write_parcels(gdf, tmp / "parcels.gpkg")
    assert pyogrio.read_info(src)["dtypes"][1] == "int64"  # an Integer64 field with nulls
    out = tmp / "out"
    res = qzgeo("analyze", "--parcels", src, "--out", out)
    assert res.returncode == 0, res.stderr
    assert ENGINE in res.stdout and "1 feature(s) repaired, 0 dropped" in res.stdout
    assert "Traceback" not in res.stderr
    return src, out


def test_a_bowtie_in_a_later_chunk_is_repaired_and_reported(repaired: tuple[Path, Path]) -> None:
    _src, out = repaired
    report = json.loads((out / "internal" / "parcels_report.json").read_text(encoding="utf-8"))
    assert report["parcels"] == 60025
    (rec,) = report["repairs"]["repairs"]
    assert rec["feature_id"] == str(BOWTIE + 1) and rec["action"] == "repaired", rec
    rows = result_rows(out)
    assert len(rows) == 60025 and rows.index.tolist() == list(range(60025))  # none dropped
    fixed = rows.geometry.loc[BOWTIE]
    assert fixed.is_valid and abs(fixed.area - 1250.0) < 1e-6  # both lobes kept
    assert rows.loc[BOWTIE, "area_m2"] == pytest.approx(1250.0, rel=1e-3)
    assert leftovers(out) == []


def test_an_integer_column_null_in_later_rows_keeps_its_values(repaired: tuple[Path, Path]) -> None:
    _src, out = repaired
    rows = result_rows(out)
    want = np.arange(60025, dtype=float) * 7
    want[NULLS] = np.nan
    np.testing.assert_array_equal(rows["code"].to_numpy(dtype=float), want)
    info = pyogrio.read_info(next(out.rglob("parcels.gpkg")))
    assert dict(zip(info["fields"], info["dtypes"], strict=True))["code"] == "int64"


def _outside(tmp: Path, lon: float, lat: float) -> Path:
    """Two parcels of chunk 3 moved to (lon, lat), in the same CRS."""
    gdf = quad_parcels()
    x, y = Transformer.from_crs(4490, CRS, always_xy=True).transform([lon, lon + 0.01], [lat] * 2)
    gdf.loc[[55_000, 55_001], "geometry"] = shapely.box(
        np.array(x), np.array(y), np.array(x) + 50, np.array(y) + 50
    )
    return write_parcels(gdf, tmp / "far.gpkg")


def test_parcels_far_outside_in_a_later_chunk_exit_2_and_keep_the_old_outputs(
    repaired: tuple[Path, Path], tmp_path: Path
) -> None:
    """1 000 km north of the pack (108.6E 30.7N, same GK zone): refused by the extent check;
    the earlier run's outputs in the folder survive byte for byte."""
    _, out = repaired
    before = snapshot(out)
    src = _outside(tmp_path, 108.6, 30.7)
    res = qzgeo("analyze", "--parcels", src, "--out", out)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "Traceback" not in res.stderr and "Error:" in res.stderr
    assert str(src) in res.stderr and "[107.9, 21.3, 109.9, 23.0]" in res.stderr, res.stderr
    assert "feature 55001" in res.stderr  # the FID of the first one, in chunk 3
    assert snapshot(out) == before and leftovers(out) == []


def test_parcels_in_hangzhou_in_a_later_chunk_exit_2_without_outputs(tmp_path: Path) -> None:
    """杭州 (120.2E 30.3N) in EPSG:4524 (zone 36, CM 108E): refused by the CRS plausibility
    check, with a message that names the file and does not claim the data lie outside China."""
    src = _outside(tmp_path, 120.2, 30.3)
    out = tmp_path / "out"
    res = qzgeo("analyze", "--parcels", src, "--out", out)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "Traceback" not in res.stderr and "Error:" in res.stderr
    assert str(src) in res.stderr and "EPSG:4524" in res.stderr, res.stderr
    assert "outside China" not in res.stderr, res.stderr  # 120.2E 30.3N is in China
    assert not out.exists()  # a failed first run leaves no folder behind


def test_a_rerun_with_processes_is_byte_identical(tmp_path: Path) -> None:
    src = write_parcels(quad_parcels(), tmp_path / "parcels.gpkg")
    for name in ("a", "b"):
        res = qzgeo("analyze", "--parcels", src, "--out", tmp_path / name)
        assert res.returncode == 0 and ENGINE in res.stdout, res.stderr
    a, b = snapshot(tmp_path / "a"), snapshot(tmp_path / "b")
    assert a.keys() == b.keys()
    for name in ("parcels.gpkg", "parcels_summary.csv", "parcels_report.json"):
        assert a[f"internal/{name}"] == b[f"internal/{name}"], name
    report = json.loads(a["internal/parcels_report.json"])
    assert set(report) == {
        "conflicts", "coverage", "inputs", "overlapping_parcels", "overlay", "parcels",
        "repairs", "sensitivity", "unchecked_ha",
    }  # fmt: skip
    assert report["overlapping_parcels"]["pairs"] == 0  # a tessellation: checked, none
    # the bundled pack vouches for its districts: what unchecked_ha lies outside of
    assert report["coverage"] == {"layer": "districts", "extent": [107.9, 21.3, 109.9, 23.0]}
    assert a == b  # nothing else of the folder (xlsx, marker) varies either
