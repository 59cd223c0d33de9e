"""Warnings about the pack that bear on a result travel with it: ``check``'s JSON and
``analyze``'s report, not only ``validate``.

A red line whose 类别 was typed 生态红线 (for 生态保护红线) is in no constraint class: a site
inside it came out of ``check`` clear, its JSON without a word (only ``validate`` said it). A
``planar_crs`` 12° from the data scales every area by ~2 %; a lon/lat red line with 1.9 km
edges is drawn apart from what the analysis reads. The expectations are read from the files
with pyogrio and computed with pyproj, not with qzgeo.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from packs import all_output, run_cli
from pyproj import Geod

GPKG = ("layers", "mini.gpkg")


def _add_red_line(pack: Path, cls: str = "生态红线") -> tuple[int, Path]:
    """A copy of the minipack's 生态保护红线 3 km north, of class ``cls``: its fid, and a site
    inside it."""
    gpkg = pack.joinpath(*GPKG)
    gdf = pyogrio.read_dataframe(gpkg, layer="control_lines")
    red = gdf[gdf["类别"] == "生态保护红线"].copy()
    red["类别"] = cls
    red = red.set_geometry(red.geometry.translate(yoff=0.03))
    pyogrio.write_dataframe(red, gpkg, layer="control_lines", append=True)
    back = pyogrio.read_dataframe(gpkg, layer="control_lines", fid_as_index=True)
    (fid,) = back.index[back["类别"] == cls]
    c = back.geometry[fid].representative_point()
    site = shapely.box(c.x - 0.0005, c.y - 0.0005, c.x + 0.0005, c.y + 0.0005)
    assert back.geometry[fid].contains(site)
    assert not back.geometry.drop(fid).intersects(site).any()
    path = pack.parent / "site.gpkg"
    gpd.GeoDataFrame({"名称": ["红线内"]}, geometry=[site], crs=4490).to_file(path)
    return int(fid), path


def _check_warnings(site: Path, pack: Path) -> list[str]:
    r = run_cli("check", site, "--pack", pack, "--format", "json")
    assert r.exit_code in (0, 1), all_output(r)
    (one,) = json.loads(r.stdout)
    return list(one["warnings"])


def _analyze_warnings(parcels: Path, pack: Path, out: Path, *extra: str) -> list[str]:
    r = run_cli("analyze", "--parcels", parcels, "--pack", pack, "--out", out, *extra)
    assert r.exit_code == 0, all_output(r)
    report = json.loads((out / "internal" / "parcels_report.json").read_text("utf-8"))
    return list(report["repairs"]["warnings"])


def _unchecked(warnings: list[str]) -> str:
    (said,) = [w for w in warnings if "'生态红线'" in w]
    return said


def test_check_says_a_red_line_in_no_class_is_not_checked(minipack: Path, tmp_path: Path) -> None:
    fid, site = _add_red_line(minipack)
    said = _unchecked(_check_warnings(site, minipack))
    assert "1 feature(s) of constraint layer 'control_lines' (mini.gpkg)" in said, said
    assert f"(fid {fid})" in said and "no site or parcel is checked" in said, said
    assert "constraint_classes of catalog.toml layer 'control_lines'" in said, said


@pytest.mark.parametrize("chunks", [[], ["--chunk-rows", "1"]])
def test_analyze_says_it_too(minipack: Path, tmp_path: Path, chunks: list[str]) -> None:
    fid, site = _add_red_line(minipack)
    said = _unchecked(_analyze_warnings(site, minipack, tmp_path / "out", *chunks))
    assert f"(fid {fid})" in said and "no site or parcel is checked" in said, said


def test_a_value_with_a_stray_space_is_in_no_class_either(minipack: Path, tmp_path: Path) -> None:
    """The overlay matches the value as written: " 生态保护红线" constrains nothing."""
    _add_red_line(minipack, "生态保护红线 ")
    r = run_cli("validate", "--pack", minipack)
    assert r.exit_code == 0, all_output(r)
    out = all_output(r)
    assert "have 类别 '生态保护红线 ' (fid 4), which is in no constraint class" in out, out


def test_a_far_planar_crs_is_said_by_check_and_analyze(minipack: Path, tmp_path: Path) -> None:
    cat = minipack / "layers" / "catalog.toml"
    text = cat.read_text("utf-8").replace("[pack]\n", '[pack]\nplanar_crs = "EPSG:4549"\n', 1)
    cat.write_text(text, encoding="utf-8")
    site = tmp_path / "site.geojson"
    gpd.GeoDataFrame(geometry=[shapely.box(108.62, 21.69, 108.621, 21.691)], crs=4490).to_file(site)
    expect = "planar_crs EPSG:4549"  # CGCS2000 GK CM 120°E, 11° from the data at 108.6°E
    for warnings in (
        _check_warnings(site, minipack),
        _analyze_warnings(site, minipack, tmp_path / "out"),
    ):
        (said,) = [w for w in warnings if expect in w]
        assert "central meridian at 120°E" in said and "EPSG:4545" in said, said


def test_long_lon_lat_edges_of_a_red_line_are_said_by_check(minipack: Path, tmp_path: Path) -> None:
    """The minipack's 城镇开发边界 is stored in lon/lat with edges of up to 1.9 km."""
    gdf = pyogrio.read_dataframe(minipack.joinpath(*GPKG), layer="control_lines")
    geod = Geod(ellps="GRS80")
    longest = max(
        geod.inv(*a, *b)[2]
        for g in gdf.geometry
        for a, b in zip(g.exterior.coords[:-1], g.exterior.coords[1:], strict=True)
    )
    site = tmp_path / "site.geojson"
    gpd.GeoDataFrame(geometry=[shapely.box(108.62, 21.69, 108.621, 21.691)], crs=4490).to_file(site)
    (said,) = [w for w in _check_warnings(site, minipack) if "edge(s) longer than" in w]
    assert said.startswith("catalog.toml layer 'control_lines' (mini.gpkg): "), said
    km = float(re.search(r"the longest ([\d.]+) km", said).group(1))  # type: ignore[union-attr]
    assert km == pytest.approx(longest / 1000.0, abs=0.05)


@pytest.mark.parametrize("published", [False, True])
def test_long_edge_warnings_name_a_feature_only_by_a_published_field(
    minipack: Path, tmp_path: Path, published: bool
) -> None:
    """The warning travels into public results (a public check's page): a name the layer does
    not publish stays out of it; the layer's title and the fid say which feature."""
    gpkg = minipack.joinpath(*GPKG)
    gdf = pyogrio.read_dataframe(gpkg, layer="control_lines")
    gdf["名称"] = "SECRETNAME"
    pyogrio.write_dataframe(gdf, gpkg, layer="control_lines")
    if published:
        cat = minipack / "layers" / "catalog.toml"
        text = cat.read_text("utf-8").replace(
            'publish_fields = ["类别"]', 'publish_fields = ["类别", "名称"]'
        )
        cat.write_text(text, encoding="utf-8")
    site = tmp_path / "site.geojson"
    gpd.GeoDataFrame(geometry=[shapely.box(108.62, 21.69, 108.621, 21.691)], crs=4490).to_file(site)
    (said,) = [w for w in _check_warnings(site, minipack) if "edge(s) longer than" in w]
    assert ("SECRETNAME" in said) is published, said
    if not published:
        assert "三条控制线 #" in said, said
