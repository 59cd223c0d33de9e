"""Files users pick by mistake: a part of a Shapefile or MapInfo set (the .dbf opened in Excel,
the .mid beside the .mif), a 南方CASS coordinate .dat, a spreadsheet of points. Each was refused
as "the format '.dbf' is not accepted ... convert it with ogr2ogr", which sends a user off to
convert a file that is half of one they already have."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from tests.cli._cli import assert_exit2, qzgeo

X0, Y0 = 564_148.0, 2_402_925.0  # EPSG:4545


def _layer(path: Path, driver: str) -> None:
    gdf = gpd.GeoDataFrame(
        {"name": ["a"]}, geometry=[shapely.box(X0, Y0, X0 + 100, Y0 + 100)], crs=4545
    )
    pyogrio.write_dataframe(gdf, path, driver=driver, encoding="UTF-8")


@pytest.mark.parametrize(
    ("made", "given", "owner"),
    [
        ("地块.shp", "地块.dbf", "地块.shp"),
        ("地块.shp", "地块.prj", "地块.shp"),
        ("地块.tab", "地块.map", "地块.tab"),
        ("地块.tab", "地块.dat", "地块.tab"),
        ("地块.mif", "地块.mid", "地块.mif"),
    ],
)
def test_a_part_of_a_set_names_the_file_to_give(
    tmp_path: Path, made: str, given: str, owner: str
) -> None:
    driver = "ESRI Shapefile" if made.endswith(".shp") else "MapInfo File"
    _layer(tmp_path / made, driver)
    for args in (
        ["check", tmp_path / given],
        ["analyze", "--parcels", tmp_path / given, "--out", tmp_path / "o"],
        ["convert", tmp_path / given, tmp_path / "o.gpkg"],
    ):
        assert_exit2(qzgeo(*args), f"{given} is a part of {owner}", f"give {tmp_path / owner}")
    assert not (tmp_path / "o.gpkg").exists()


def test_upper_case_parts_of_a_windows_copy(tmp_path: Path) -> None:
    _layer(tmp_path / "dk.tab", "MapInfo File")
    for p in list(tmp_path.iterdir()):
        p.rename(tmp_path / ("DK" + p.suffix.upper()))
    assert_exit2(qzgeo("check", tmp_path / "DK.DAT"), "DK.DAT is a part of DK.TAB")


def test_points_files_say_where_points_go(tmp_path: Path) -> None:
    cass = tmp_path / "界址.dat"  # no .tab beside it: not a MapInfo part
    cass.write_text("1,,564148.36,2402924.97,0\n2,,564248.36,2402924.97,0\n", encoding="ascii")
    assert_exit2(qzgeo("check", cass), "界址.dat", "南方CASS", "界址点坐标 .txt")
    sheet = tmp_path / "坐标.xlsx"
    sheet.write_bytes(b"PK\x03\x04")
    res = qzgeo("check", sheet)
    assert_exit2(res, "坐标.xlsx", "界址点坐标 .txt", "CSV UTF-8")
    assert "ogr2ogr" not in res.output
    lone = tmp_path / "孤.dbf"  # a DBF with no .shp beside it: nothing to point to
    lone.write_bytes(b"\x03")
    assert_exit2(qzgeo("check", lone), "'.dbf' is not accepted")
