"""`check` names a site by its 宗地代码 when the file has no 名称, and says which column it used.

GIS staff name parcels by 宗地代码 (ZDDM in 地籍数据库 exports); such a file came out labelled
``file.gpkg:1``, ``file.gpkg:2``.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from _cli import MINIPACK, assert_exit2, check_json, qzgeo

X0, Y0 = 36_564_000.0, 2_399_000.0  # inside the minipack (EPSG:4524)


def _site(tmp_path: Path, columns: dict[str, list[object]]) -> Path:
    n = len(next(iter(columns.values()))) if columns else 2
    geoms = [shapely.box(X0 + 100 * i, Y0, X0 + 100 * i + 50, Y0 + 50) for i in range(n)]
    path = tmp_path / "sites.gpkg"
    gpd.GeoDataFrame(columns or None, geometry=geoms, crs="EPSG:4524").to_file(path)
    return path


@pytest.mark.parametrize("column", ["宗地代码", "ZDDM", "宗地编码", "宗地号"])
def test_a_parcel_code_column_names_the_sites(tmp_path: Path, column: str) -> None:
    codes = ["450702001001GB00001", "450702001001GB00002"]
    path = _site(tmp_path, {column: codes, "权利人": ["甲", "乙"]})
    _, sites = check_json(path, "--pack", MINIPACK)
    assert [s["site"] for s in sites] == codes
    assert [s["site_field"] for s in sites] == [column, column]
    res = qzgeo("check", path, "--pack", MINIPACK)  # the text report names them so too
    assert all(c in res.stdout for c in codes), res.stdout


def test_a_name_comes_before_the_code_and_fills_in_per_row(tmp_path: Path) -> None:
    path = _site(tmp_path, {"名称": ["东地块", ""], "宗地代码": ["C1", "C2"]})
    _, sites = check_json(path, "--pack", MINIPACK)
    assert [(s["site"], s["site_field"]) for s in sites] == [("东地块", "名称"), ("C2", "宗地代码")]


def test_the_given_label_field_wins_and_no_column_says_null(tmp_path: Path) -> None:
    path = _site(tmp_path, {"宗地代码": ["C1", "C2"], "编号": ["N1", "N2"]})
    _, sites = check_json(path, "--pack", MINIPACK, "--label-field", "编号")
    assert [(s["site"], s["site_field"]) for s in sites] == [("N1", "编号"), ("N2", "编号")]
    (tmp_path / "bare").mkdir()
    bare = _site(tmp_path / "bare", {})
    _, sites = check_json(bare, "--pack", MINIPACK)
    assert [(s["site"], s["site_field"]) for s in sites] == [
        ("sites.gpkg:1", None),
        ("sites.gpkg:2", None),
    ]


def test_a_missing_label_field_is_exit_2(tmp_path: Path) -> None:
    path = _site(tmp_path, {"宗地代码": ["C1", "C2"]})
    res = qzgeo("check", path, "--pack", MINIPACK, "--label-field", "宗地编号")
    assert_exit2(res, "宗地编号", "['宗地代码']")  # their columns, not qzgeo's own
    assert "_site_fid" not in res.output and "geometry" not in res.output
