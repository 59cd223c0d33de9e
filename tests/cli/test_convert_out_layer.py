"""``convert --out-layer`` where OUT's format cannot take the name: a Shapefile's layer is
its file name and GeoParquet and 界址点 files hold none, so the name was dropped without a
word; an empty name for a GeoJSON or FlatGeobuf OUT became the file's stem (GDAL's choice).
Names GDAL writes as they are (a leading digit, spaces, quotes, over 63 characters) are
written, not refused."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from tests.cli._cli import assert_exit2, qzgeo


@pytest.fixture
def zones(tmp_path: Path) -> Path:
    src = tmp_path / "zones.geojson"
    box = shapely.box(108.60, 21.90, 108.61, 21.91)
    gpd.GeoDataFrame({"名称": ["甲"]}, geometry=[box], crs=4490).to_file(src)
    return src


@pytest.mark.parametrize("ext", [".shp", ".parquet", ".txt"])
def test_a_name_the_format_cannot_hold_is_refused(zones: Path, ext: str) -> None:
    out = zones.parent / f"out{ext}"
    res = qzgeo("convert", zones, out, "--out-layer", "宗地")
    assert_exit2(res, "--out-layer", "'宗地'", "leave --out-layer out")
    assert not out.exists()


def test_a_shapefile_is_told_to_name_the_file(zones: Path) -> None:
    res = qzgeo("convert", zones, zones.parent / "out.shp", "--out-layer", "宗地")
    assert_exit2(res, str(zones.parent / "宗地.shp"))


@pytest.mark.parametrize("ext", [".geojson", ".fgb", ".gpkg"])
def test_an_empty_name_is_refused(zones: Path, ext: str) -> None:
    out = zones.parent / f"out{ext}"
    res = qzgeo("convert", zones, out, "--out-layer", "")
    assert_exit2(res, "--out-layer", "empty")
    assert not out.exists()


@pytest.mark.parametrize("ext", [".geojson", ".fgb", ".gpkg"])
@pytest.mark.parametrize("name", ["1abc", "2024 宗地", 'a"b', "a'b", "x" * 70])
def test_names_gdal_writes_are_written_as_given(zones: Path, ext: str, name: str) -> None:
    out = zones.parent / f"out{ext}"
    res = qzgeo("convert", zones, out, "--out-layer", name)
    assert res.exit_code == 0, res.output
    assert [n for n, _ in pyogrio.list_layers(out)] == [name]
