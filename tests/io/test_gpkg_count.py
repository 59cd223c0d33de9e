"""A GeoPackage whose stored feature count is stale is read with each of its rows once.

A tool that deletes rows past GDAL's count triggers leaves ``gpkg_ogr_contents.feature_count``
above the rows; when it equals the highest FID, GDAL's Arrow reader returned the last rows
twice, and ``analyze`` counted a parcel twice (``parcels.gpkg`` held a ``source_fid`` twice),
``check`` reported a site twice, a pack layer held a feature twice. The oracle is SQLite
itself: ``SELECT count(*)`` and the FIDs of the table.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner, Result

from qzgeo._errors import InputError
from qzgeo.cli.main import cli
from qzgeo.io.gpkg_count import one_row_per_fid
from qzgeo.io.vector import read_layer
from qzgeo.notices import Notices, notices_of
from qzgeo.pack.catalog import load_pack
from qzgeo.pack.load import read_pack_layer

X0, Y0 = 36_564_000.0, 2_399_000.0  # GK zone 36 (EPSG:4524), inside the bundled pack
N = 12
GONE = 5  # the FID deleted past the triggers: the count stays N, the highest FID too


def _sql(path: Path, *statements: str) -> None:
    con = sqlite3.connect(path)
    for s in statements:
        con.execute(s)
    con.commit()
    con.close()


def _table(path: Path, table: str) -> tuple[int, set[int]]:
    """The oracle: the table's row count and FIDs, by SQLite."""
    con = sqlite3.connect(path)
    n = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    fids = {r[0] for r in con.execute(f'SELECT fid FROM "{table}"')}
    con.close()
    return n, fids


def _stale(path: Path, table: str, fid: int) -> None:
    """Delete feature ``fid`` of ``table`` with GDAL's delete count trigger dropped."""
    _sql(
        path,
        f'DROP TRIGGER "trigger_delete_feature_count_{table}"',
        f'DELETE FROM "{table}" WHERE fid = {fid}',
    )


@pytest.fixture
def stale(tmp_path: Path) -> Path:
    """parcels.gpkg: N boxes, one deleted past the triggers (its count still says N)."""
    boxes = [shapely.box(X0 + 500 * i, Y0, X0 + 500 * i + 300, Y0 + 300) for i in range(N)]
    gdf = gpd.GeoDataFrame(
        {"地块编号": [f"P{i}" for i in range(N)]}, geometry=boxes, crs="EPSG:4524"
    )
    path = tmp_path / "data" / "parcels.gpkg"
    path.parent.mkdir()
    gdf.to_file(path, driver="GPKG", layer="parcels")
    _stale(path, "parcels", GONE)
    assert pyogrio.read_info(path)["features"] == N  # stale: the table holds N - 1
    return path


def _qzgeo(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def _out_rows(out: Path) -> tuple[int, list[int]]:
    (gpkg,) = out.glob("*/parcels.gpkg")
    con = sqlite3.connect(gpkg)
    fids = [r[0] for r in con.execute("SELECT source_fid FROM parcels")]
    con.close()
    return len(fids), sorted(fids)


def _stale_warning(messages: list[str], path: Path, rows: int = N - 1) -> str:
    found = [m for m in messages if "gpkg_ogr_contents" in m]
    assert len(found) == 1, messages
    assert path.name in found[0] and f"says {N} features" in found[0], found[0]
    assert f"the table holds {rows} " in found[0] and "ogrinfo" in found[0], found[0]
    return found[0]


def test_read_layer_returns_the_rows_of_the_table_once_and_says_so(stale: Path) -> None:
    n, fids = _table(stale, "parcels")
    gdf = read_layer(stale)
    assert len(gdf) == n == N - 1
    assert set(gdf.index.tolist()) == fids and gdf.index.is_unique
    _stale_warning(notices_of(gdf).messages(), stale)


def test_the_advised_fix_sets_the_count_right(stale: Path) -> None:
    said = _stale_warning(notices_of(read_layer(stale)).messages(), stale)
    sql = re.search(r'-sql "([^"]+)"', said)
    assert sql is not None, said
    _sql(stale, sql.group(1))  # what ogrinfo passes to SQLite
    assert pyogrio.read_info(stale)["features"] == _table(stale, "parcels")[0]
    again = read_layer(stale)
    assert len(again) == N - 1 and not notices_of(again)


def test_repeats_that_differ_are_refused_with_the_file_and_the_fix() -> None:
    df = pd.DataFrame({"a": [1, 2, 3]}, index=pd.Index([1, 2, 2], name="fid"))
    with pytest.raises(InputError, match=r"x\.gpkg.*feature 2 twice.*ogrinfo"):
        one_row_per_fid(df, Path("x.gpkg"), "t", Notices())


def test_analyze_in_memory_writes_each_parcel_once(stale: Path, tmp_path: Path) -> None:
    n, fids = _table(stale, "parcels")
    res = _qzgeo("analyze", "--parcels", stale, "--out", tmp_path / "out")
    assert res.exit_code == 0, res.output
    assert _out_rows(tmp_path / "out") == (n, sorted(fids))
    report = json.loads((tmp_path / "out" / "internal" / "parcels_report.json").read_text())
    _stale_warning([str(w) for w in report["repairs"]["warnings"]], stale)


def test_analyze_streamed_writes_each_parcel_once(stale: Path, tmp_path: Path) -> None:
    """Chunks read by ranges of FIDs: GDAL repeats nothing (this passed before the fix)."""
    n, fids = _table(stale, "parcels")
    out = tmp_path / "out"
    res = _qzgeo("analyze", "--parcels", stale, "--out", out, "--workers", "2", "--chunk-rows", "4")
    assert res.exit_code == 0, res.output
    assert _out_rows(out) == (n, sorted(fids))


def test_check_reports_each_site_once(stale: Path) -> None:
    n, fids = _table(stale, "parcels")
    res = _qzgeo("check", stale, "--format", "json")
    assert res.exit_code in (0, 1), res.output
    sites = json.loads(res.stdout)
    assert len(sites) == n
    assert {s["index"] for s in sites} == fids
    _stale_warning(sites[0]["warnings"], stale)


def test_a_pack_layer_holds_each_feature_once(minipack: Path) -> None:
    gpkg = minipack / "layers" / "mini.gpkg"
    _stale(gpkg, "control_lines", 2)  # 3 rows, FIDs 1-3: the count stays 3
    n, fids = _table(gpkg, "control_lines")
    pack = load_pack(minipack)
    gdf = read_pack_layer(pack, pack.layers["control_lines"])
    assert len(gdf) == n == 2 and set(gdf.index.tolist()) == fids
    assert any("gpkg_ogr_contents" in m for m in notices_of(gdf).messages())


def test_repeats_with_missing_values_are_the_same_rows(stale: Path) -> None:
    """Nulls (an integer, a float, a text, a geometry) repeated are no difference."""
    df = gpd.GeoDataFrame(
        {
            "i": pd.array([1, None, None], dtype="Int64"),
            "f": [1.0, float("nan"), float("nan")],
            "s": ["a", None, None],
        },
        geometry=[shapely.box(0, 0, 1, 1), None, None],
        index=pd.Index([1, 2, 2], name="fid"),
    )
    notes = Notices()
    out = one_row_per_fid(df, stale, "parcels", notes)
    assert out.index.tolist() == [1, 2]
    _stale_warning(notes.messages(), stale, rows=2)
