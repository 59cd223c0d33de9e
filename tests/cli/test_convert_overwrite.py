"""`qzgeo convert IN OUT` never writes over a file it was not told to (round 17's audit).

OUT was replaced whatever it was: `convert x.gpkg notes.txt` turned a user's text file into a
界址点 file, a symlinked OUT became a regular file (the file it pointed to kept its old
data), a user's out.geojson of another tool was replaced without a word, a lone zones.dbf of
another shapefile was swapped for qzgeo's. ogr2ogr refuses an existing destination unless
given -overwrite; so does qzgeo now (exit 2 naming OUT and --overwrite), and --overwrite
still refuses a symlink (it would replace the link, not the file) and a folder.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from _cli import assert_exit2, qzgeo

E0, N0 = 36_566_227.0, 2_400_719.0
USER_TEXT = "周一 与规划局开会\n带上 宗地图\n".encode("gbk")


def _parcels(path: Path) -> Path:
    square = shapely.box(E0, N0, E0 + 200, N0 + 200)
    gpd.GeoDataFrame({"名称": ["甲"]}, geometry=[square], crs=4524).to_file(path)
    return path


def _digest(*paths: Path) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]


@pytest.mark.parametrize("name", ["notes.txt", "out.geojson", "out.gpkg", "out.fgb", "o.parquet"])
def test_a_user_file_at_out_is_left_byte_for_byte(tmp_path: Path, name: str) -> None:
    src = _parcels(tmp_path / "in.gpkg")
    out = tmp_path / name
    out.write_bytes(USER_TEXT)
    res = qzgeo("convert", src, out)
    assert_exit2(res, str(out), "already exists", "--overwrite")
    assert out.read_bytes() == USER_TEXT
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["in.gpkg", name])


@pytest.mark.parametrize("name", ["notes.txt", "out.geojson", "out.fgb", "o.parquet"])
def test_overwrite_replaces_it(tmp_path: Path, name: str) -> None:
    src = _parcels(tmp_path / "in.gpkg")
    out = tmp_path / name
    out.write_bytes(USER_TEXT)
    res = qzgeo("convert", src, out, "--overwrite")
    assert res.exit_code == 0, res.output
    assert out.read_bytes() != USER_TEXT
    assert not out.is_symlink()
    if name.endswith(".txt"):  # a 界址点 file: GBK, one parcel header and its 5 vertices
        assert out.read_bytes().decode("gbk").count(",@") == 1
        return
    reader = gpd.read_parquet if name.endswith(".parquet") else gpd.read_file
    assert reader(out)["名称"].tolist() == ["甲"]


def test_a_rerun_needs_overwrite_and_gives_the_same_bytes(tmp_path: Path) -> None:
    src = _parcels(tmp_path / "in.gpkg")
    out = tmp_path / "out.gpkg"
    assert qzgeo("convert", src, out).exit_code == 0
    first = _digest(out)
    assert_exit2(qzgeo("convert", src, out), "out.gpkg", "--overwrite")
    assert _digest(out) == first
    res = qzgeo("convert", src, out, "--overwrite")
    assert res.exit_code == 0, res.output
    assert _digest(out) == first


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_a_symlink_out_is_refused_naming_its_target(tmp_path: Path, overwrite: list[str]) -> None:
    src = _parcels(tmp_path / "in.gpkg")
    real = tmp_path / "real" / "out.geojson"
    real.parent.mkdir()
    real.write_bytes(USER_TEXT)
    link = tmp_path / "link.geojson"
    link.symlink_to(real)
    res = qzgeo("convert", src, link, *overwrite)
    assert_exit2(res, str(link), str(real.resolve()), "symbolic link")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_bytes() == USER_TEXT


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_a_dangling_symlink_out_is_refused(tmp_path: Path, overwrite: list[str]) -> None:
    src = _parcels(tmp_path / "in.gpkg")
    link = tmp_path / "link.gpkg"
    link.symlink_to(tmp_path / "gone" / "x.gpkg")
    res = qzgeo("convert", src, link, *overwrite)
    assert_exit2(res, str(link), "symbolic link")
    assert link.is_symlink() and not (tmp_path / "gone").exists()


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_a_folder_out_is_refused(tmp_path: Path, overwrite: list[str]) -> None:
    src = _parcels(tmp_path / "in.gpkg")
    out = tmp_path / "out.gpkg"
    out.mkdir()
    (out / "keep.txt").write_bytes(USER_TEXT)
    res = qzgeo("convert", src, out, *overwrite)
    assert_exit2(res, str(out), "folder")
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


@pytest.mark.parametrize("ext", [".shp", ".shx", ".dbf", ".prj", ".cpg"])
def test_a_shapefile_out_exists_when_any_of_its_files_does(tmp_path: Path, ext: str) -> None:
    src = _parcels(tmp_path / "in.gpkg")
    sidecar = tmp_path / f"zones{ext}"
    sidecar.write_bytes(USER_TEXT)
    res = qzgeo("convert", src, tmp_path / "zones.shp")
    assert_exit2(res, sidecar.name, "--overwrite")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.gpkg", sidecar.name]
    assert sidecar.read_bytes() == USER_TEXT


def test_overwrite_replaces_a_whole_shapefile(tmp_path: Path) -> None:
    src = _parcels(tmp_path / "in.gpkg")
    out = tmp_path / "zones.shp"
    old = gpd.GeoDataFrame({"b": [1, 2]}, geometry=[shapely.Point(0, 0)] * 2, crs=4490)
    old.to_file(out)
    res = qzgeo("convert", src, out, "--overwrite")
    assert res.exit_code == 0, res.output
    got = gpd.read_file(out)
    assert got["名称"].tolist() == ["甲"] and "b" not in got.columns


def test_overwrite_refuses_a_symlinked_sidecar(tmp_path: Path) -> None:
    src = _parcels(tmp_path / "in.gpkg")
    real = tmp_path / "shared.dbf"
    real.write_bytes(USER_TEXT)
    (tmp_path / "zones.dbf").symlink_to(real)
    res = qzgeo("convert", src, tmp_path / "zones.shp", "--overwrite")
    assert_exit2(res, "zones.dbf", str(real.resolve()), "symbolic link")
    assert real.read_bytes() == USER_TEXT and (tmp_path / "zones.dbf").is_symlink()


def test_overwrite_does_not_allow_out_onto_the_input(tmp_path: Path) -> None:
    src = _parcels(tmp_path / "in.gpkg")
    before = _digest(src)
    res = qzgeo("convert", src, src, "--overwrite")
    assert_exit2(res, "OUT is the input file")
    assert _digest(src) == before


def test_overwrite_does_not_drop_other_layers_of_a_geopackage(tmp_path: Path) -> None:
    plan = tmp_path / "规划.gpkg"
    g = gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.box(108.6, 21.7, 108.7, 21.8)], crs=4490)
    g.to_file(plan, layer="道路")
    before = _digest(plan)
    res = qzgeo("convert", _parcels(tmp_path / "宗地.gpkg"), plan, "--overwrite")
    assert_exit2(res, "规划.gpkg already holds layer(s) 道路", "would be lost")
    assert _digest(plan) == before


def test_a_new_out_needs_no_flag(tmp_path: Path) -> None:
    src = _parcels(tmp_path / "in.gpkg")
    res = qzgeo("convert", src, tmp_path / "new" / "out.geojson")
    assert res.exit_code == 0, res.output
    assert len(gpd.read_file(tmp_path / "new" / "out.geojson")) == 1
