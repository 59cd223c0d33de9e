"""Paths as users' machines hand them over: GML without a schema, names that are not UTF-8.

- Reading a GML file that has no ``.xsd`` made GDAL write a ``.gfs`` beside it: ``check``,
  ``analyze``, ``convert`` and ``validate`` changed the user's folder (qzgeo never writes
  beside its inputs). The oracle is the folder's listing (names, sizes, mtimes) before and
  after.
- A folder unpacked from a Windows zip keeps GBK bytes in its name. Python holds them as lone
  surrogates, GDAL's bindings cannot encode those, and every command ended in a
  ``UnicodeEncodeError`` traceback. Each must exit 2 naming the bytes and the fix.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import geopandas as gpd
import pytest
from _cli import MINIPACK, assert_exit2, check_json, qzgeo
from shapely.geometry import box

#: A GBK name (钦州包), as ``unzip`` without ``-O GBK`` leaves it on Linux.
GBK_NAME = os.fsdecode("钦州包".encode("gbk"))
X0, Y0 = 36_564_000.0, 2_399_000.0


def _listing(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir()}


def _gml(folder: Path, name: str, *, layer: str = "parcels") -> Path:
    """A GML file of two parcels in CGCS2000 GK zone 36, without its ``.xsd``."""
    gdf = gpd.GeoDataFrame(
        {"地块编号": ["A1", "A2"]},
        geometry=[box(X0, Y0, X0 + 300, Y0 + 200), box(X0 + 400, Y0, X0 + 600, Y0 + 250)],
        crs="EPSG:4524",
    )
    path = folder / name
    gdf.to_file(path, driver="GML", layer=layer, engine="pyogrio")
    path.with_suffix(".xsd").unlink(missing_ok=True)
    assert not path.with_suffix(".gfs").exists()
    return path


def _gbk_folder(parent: Path) -> Path:
    folder = parent / GBK_NAME
    try:
        folder.mkdir()
    except (OSError, UnicodeEncodeError):  # macOS / Windows file systems refuse such names
        pytest.skip("this file system does not take non-UTF-8 names")
    return folder


def test_check_and_convert_leave_no_gfs_beside_a_gml(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    gml = _gml(src, "宗地.gml")
    before = _listing(src)
    _, sites = check_json(gml, "--pack", MINIPACK)
    assert len(sites) == 2
    res = qzgeo("convert", gml, tmp_path / "out.gpkg")
    assert res.exit_code == 0, res.output
    assert _listing(src) == before


def test_analyze_leaves_no_gfs_beside_a_gml(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    gml = _gml(src, "地块.gml")
    before = _listing(src)
    res = qzgeo("analyze", "--parcels", gml, "--pack", MINIPACK, "--out", tmp_path / "o")
    assert res.exit_code == 0, res.output
    assert _listing(src) == before
    got = gpd.read_file(tmp_path / "o" / "internal" / "parcels.gpkg")
    assert sorted(got["地块编号"]) == ["A1", "A2"]


def test_validate_leaves_no_gfs_beside_a_gml_pack_layer(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    shutil.copytree(MINIPACK, pack)
    zones = gpd.read_file(pack / "layers" / "mini.gpkg", layer="zones")
    zones.to_file(pack / "layers" / "zones.gml", driver="GML", layer="zones", engine="pyogrio")
    (pack / "layers" / "zones.xsd").unlink(missing_ok=True)
    catalog = pack / "layers" / "catalog.toml"
    text = catalog.read_text(encoding="utf-8")
    old = 'path = "mini.gpkg"\nlayer = "zones"'
    assert old in text
    catalog.write_text(text.replace(old, 'path = "zones.gml"\nlayer = "zones"', 1), "utf-8")
    before = _listing(pack / "layers")
    res = qzgeo("validate", "--pack", pack)
    assert "Traceback" not in res.output
    assert _listing(pack / "layers") == before


def test_a_pack_folder_with_a_gbk_name_is_refused_with_the_fix(tmp_path: Path) -> None:
    pack = _gbk_folder(tmp_path)
    shutil.copytree(MINIPACK, pack, dirs_exist_ok=True)
    site = _gml(tmp_path, "site.gml")
    want = repr("钦州包".encode("gbk"))[2:-1]  # the bytes as the message shows them
    assert_exit2(qzgeo("validate", "--pack", pack), want, "not UTF-8", "unzip -O GBK")
    assert_exit2(qzgeo("check", site, "--pack", pack), want, "convmv")


def test_input_and_output_paths_with_a_gbk_name_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _gbk_folder(tmp_path)
    plain = _gml(tmp_path, "plain.gml")
    gml = folder / "site.gml"  # GDAL cannot write there either: copied in
    shutil.copy2(plain, gml)
    want = repr("钦州包".encode("gbk"))[2:-1]
    assert_exit2(qzgeo("check", gml, "--pack", MINIPACK), want, "not UTF-8")
    out = folder / "o"
    res = qzgeo("analyze", "--parcels", plain, "--pack", MINIPACK, "--out", out)
    assert_exit2(res, want, "--out folder")
    assert not out.exists()
    assert_exit2(qzgeo("convert", plain, folder / "x.gpkg"), want, "OUT")
    monkeypatch.chdir(folder)  # a relative --out under a GBK working folder
    assert_exit2(qzgeo("analyze", "--parcels", plain, "--pack", MINIPACK), want)
    assert not (folder / "qzgeo-out").exists()


def test_convert_to_a_relative_out_under_a_gbk_working_folder_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # OUT "x.gpkg" is plain, but GDAL is given it resolved: it ended in a UnicodeEncodeError.
    folder = _gbk_folder(tmp_path)
    plain = _gml(tmp_path, "plain.gml")
    monkeypatch.chdir(folder)
    want = repr("钦州包".encode("gbk"))[2:-1]
    assert_exit2(qzgeo("convert", plain, "x.gpkg"), want, "OUT", "not UTF-8")
    assert list(folder.iterdir()) == []


def test_new_pack_into_a_gbk_folder_is_refused_before_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Such a pack is refused by every command that reads it: new-pack wrote it anyway, then
    # ended in a UnicodeEncodeError traceback printing its name.
    folder = _gbk_folder(tmp_path)
    want = repr("钦州包".encode("gbk"))[2:-1]
    assert_exit2(qzgeo("new-pack", folder / "np", "--name", "np"), want, "FOLDER", "not UTF-8")
    monkeypatch.chdir(folder)  # a relative FOLDER under a GBK working folder
    assert_exit2(qzgeo("new-pack", "np2"), want, "not UTF-8")
    assert list(folder.iterdir()) == []


def test_a_dem_in_a_gbk_folder_is_refused_with_the_fix(tmp_path: Path) -> None:
    # Rasters went to rasterio unchecked: a UnicodeEncodeError traceback.
    folder = _gbk_folder(tmp_path)
    dem = folder / "dem.tif"
    dem.write_bytes(b"II*\x00")  # refused before anything opens it
    want = repr("钦州包".encode("gbk"))[2:-1]
    out = tmp_path / "o"
    res = qzgeo("suitability", "--dem", dem, "--out", out, "--no-progress")
    assert_exit2(res, want, "not UTF-8", "convmv")
    res = qzgeo("suitability", "--raster", f"dem={dem}", "--out", out, "--no-progress")
    assert_exit2(res, want, "not UTF-8")
