"""Outsider round a18: a pack author of 喀什 (76°E, 39.5°N; 3-degree zone 25 / 6-degree zone
13, both CM 75E, 86 km east of it) follows the docs and makes the usual mistakes. Only the
public command is used; expected figures come from pyproj and shapely, not from qzgeo."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import shapely
from _cli import assert_exit2, qzgeo
from pyproj import Transformer

CENTER = (76.0, 39.47)  # 喀什: CM 75E (EPSG:4534; 6-degree zone 13, EPSG:4491 with the prefix)


def _site_gk(path: Path, *, prefix: float, crs: int) -> None:
    """A 300 m square at 喀什 in CM 75E metres plus ``prefix``, declared as ``crs``."""
    x, y = Transformer.from_crs(4490, 4534, always_xy=True).transform(*CENTER)
    box = shapely.box(prefix + x, y, prefix + x + 300, y + 300)
    gpd.GeoDataFrame({"名称": ["地块"]}, geometry=[box], crs=crs).to_file(path)


def test_a_gpkg_declaring_the_wrong_zone_says_how_to_fix_a_gpkg(tmp_path: Path) -> None:
    """6-degree zone-13 eastings (13 586 051) in a GeoPackage declaring 3-degree zone 25
    (EPSG:4513): the message named no CRS (zone 13 is no 3-degree zone), and its fix for the
    file spoke of GeoJSON and 界址点 only, not of the GeoPackage at hand."""
    src = tmp_path / "宗地.gpkg"
    _site_gk(src, prefix=13_000_000, crs=4513)
    res = qzgeo("check", src)
    assert_exit2(res, str(src), "use EPSG:4491, not EPSG:4513", "ogr2ogr -a_srs EPSG:4491")


def _pack_with_gbk_shapefile(tmp_path: Path, cpg: str | None) -> Path:
    """The new-pack skeleton at 喀什, its control lines saved as a GBK Shapefile."""
    pack = tmp_path / "kashi"
    res = qzgeo("new-pack", pack, "--center", "76.0,39.47", "--title", "喀什市规划分区（示意）")
    assert res.exit_code == 0, res.output
    layers = pack / "layers"
    lines = gpd.read_file(layers / "control_lines.geojson")
    lines.to_file(layers / "control_lines.shp", encoding="GBK")
    (layers / "control_lines.geojson").unlink()
    (layers / "control_lines.cpg").unlink()
    if cpg is not None:
        (layers / "control_lines.cpg").write_text(cpg, encoding="ascii")
    catalog = layers / "catalog.toml"
    text = catalog.read_text(encoding="utf-8")
    catalog.write_text(text.replace("control_lines.geojson", "control_lines.shp"), "utf-8")
    return pack


def test_a_pack_shapefile_without_cpg_is_told_to_add_one_not_an_option(tmp_path: Path) -> None:
    """A GBK Shapefile layer without a .cpg is read as GBK with a note that said "pass
    --encoding if names look wrong": validate and publish have no --encoding, and a catalog
    layer has no encoding key; the fix for a pack is a .cpg beside the .shp."""
    pack = _pack_with_gbk_shapefile(tmp_path, None)
    res = qzgeo("validate", "--pack", pack)
    assert res.exit_code == 0, res.output
    note = next(line for line in res.stderr.splitlines() if "no .cpg file" in line)
    assert ".cpg file beside the .shp" in note, note


def test_a_pack_shapefile_under_a_wrong_cpg_is_told_to_fix_the_cpg(tmp_path: Path) -> None:
    """GBK text under a .cpg saying UTF-8: exit 2, and the fix named --encoding only."""
    pack = _pack_with_gbk_shapefile(tmp_path, "UTF-8")
    res = qzgeo("validate", "--pack", pack)
    assert_exit2(res, "control_lines.shp", "a catalog layer takes no --encoding", ".cpg file")
