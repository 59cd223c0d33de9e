"""GeoPackage layer names GDAL refuses: an OUT named ``-宗地.gpkg`` (a leading dash, as in a
hostile or careless file name) took its stem as the layer name, GDAL refused it with "The
layer name may not contain special characters or spaces" (there is no space in it), and
neither the name nor the fix (--out-layer) was said, after the whole input was read."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from tests.cli._cli import assert_exit2, qzgeo

X0, Y0 = 564_000.0, 2_429_500.0  # CGCS2000 GK CM 108E (EPSG:4545), no prefix


@pytest.fixture
def parcels(tmp_path: Path) -> Path:
    src = tmp_path / "宗地.geojson"
    box = shapely.box(X0, Y0, X0 + 100, Y0 + 100)
    gpd.GeoDataFrame({"名称": ["甲"]}, geometry=[box], crs=4545).to_file(src)
    return src


@pytest.mark.parametrize("stem", ["-宗地", "#宗地", "(1)宗地"])
def test_stem_gdal_refuses_is_named_with_the_fix(parcels: Path, stem: str) -> None:
    out = parcels.parent / f"{stem}.gpkg"
    res = qzgeo("convert", "--", parcels, out)
    assert_exit2(res, repr(stem), "--out-layer")
    assert not out.exists()


def test_out_layer_gdal_refuses_is_named(parcels: Path) -> None:
    out = parcels.parent / "宗地.gpkg"
    res = qzgeo("convert", parcels, out, "--out-layer", "-x")
    assert_exit2(res, "'-x'", "--out-layer")


def test_out_layer_fixes_it(parcels: Path) -> None:
    out = parcels.parent / "-宗地.gpkg"
    res = qzgeo("convert", "--out-layer", "宗地", "--", parcels, out)
    assert res.exit_code == 0, res.output
    assert [name for name, _ in pyogrio.list_layers(out)] == ["宗地"]


@pytest.mark.parametrize("stem", ["宗地-2024", "_宗地", "2024 宗地", "x.y"])
def test_names_gdal_takes_still_written(parcels: Path, stem: str) -> None:
    out = parcels.parent / f"{stem}.gpkg"
    res = qzgeo("convert", parcels, out)
    assert res.exit_code == 0, res.output
    assert [name for name, _ in pyogrio.list_layers(out)] == [stem]


@pytest.mark.parametrize(
    ("stem", "said", "fixed"),
    [
        ("gpkg_宗地", "'gpkg'", "宗地"),
        ("sqlite_宗地", "'sqlite_'", "宗地"),
        ("SQLite_x", "'SQLite_'", "x"),
    ],
)
def test_reserved_prefixes_are_named_before_reading(
    parcels: Path, stem: str, said: str, fixed: str
) -> None:
    """A GeoPackage reserves names starting 'gpkg' (GDAL: lower case) and SQLite 'sqlite_' (any
    case): OUT gpkg_宗地.gpkg failed after the whole read with GDAL's or SQLite's words ("object
    name reserved for internal use", the whole CREATE TABLE), no --out-layer."""
    out = parcels.parent / f"{stem}.gpkg"
    res = qzgeo("convert", parcels, out)
    assert_exit2(res, repr(stem), said, f"--out-layer {fixed}")
    assert "CREATE TABLE" not in res.output
    assert not out.exists()
    res = qzgeo("convert", parcels, out, "--out-layer", fixed)
    assert res.exit_code == 0, res.output


def test_gpkg_in_upper_case_is_still_written(parcels: Path) -> None:
    out = parcels.parent / "GPKG_宗地.gpkg"  # GDAL refuses only lower-case 'gpkg'
    assert qzgeo("convert", parcels, out).exit_code == 0
    assert [name for name, _ in pyogrio.list_layers(out)] == ["GPKG_宗地"]
