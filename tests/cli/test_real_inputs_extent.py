"""Issue 9 (3): a site far outside the pack gets no confident verdict.

A real 杭州 parcel (120.15E 30.28N, CGCS2000 GK zone 40) checked against the bundled 钦州 pack
must be exit 2 naming the pack extent and the likely cause; a site partly outside is a warning
in the result. The same holds for parcel files (analyze) and pack layers (validate, publish).
"""

from __future__ import annotations

import re
from pathlib import Path

from _cli import MINIPACK, assert_exit2, check_json, qzgeo, warnings_of
from pyproj import Transformer
from real_shaped import (
    X0,
    Y0,
    JzdParcel,
    edit_catalog,
    geojson_polygons,
    gk_rect,
    hangzhou_rings,
    jzd_text,
    to_lonlat,
    write_text,
)

CAUSE = re.compile(r"wrong pack|wrong CRS|wrong zone|--pack|--crs", re.IGNORECASE)


def _lon_lat(dx: float, dy: float) -> tuple[float, float]:
    t = Transformer.from_crs("EPSG:4524", "EPSG:4490", always_xy=True)
    lon, lat = t.transform(X0 + dx, Y0 + dy)
    return float(lon), float(lat)


def _minipack_with_extent(pack: Path) -> list[float]:
    """Extent: the minipack data plus 100 m, so a site at +1900..+2400 m east is partly out."""
    w, s = _lon_lat(-600, -600)
    e, n = _lon_lat(2100, 1600)
    ext = [round(w, 6), round(s, 6), round(e, 6), round(n, 6)]
    edit_catalog(pack, pack_lines=f"extent = [{', '.join(map(str, ext))}]")
    return ext


def test_hangzhou_jzd_against_bundled_pack_is_exit_2(tmp_path: Path) -> None:
    p = JzdParcel(rings=hangzhou_rings("EPSG:4528"), code="HZ-2023-017", name="杭州西湖地块")
    path = write_text(tmp_path / "杭州.txt", jzd_text([p], zone="40"), "gbk")
    res = qzgeo("check", path, "--format", "json")
    assert_exit2(res, "杭州.txt")
    assert "107.9" in res.output and "109.9" in res.output  # the pack extent, named
    assert CAUSE.search(res.output), res.output


def test_hangzhou_geojson_cm120_against_bundled_pack_is_exit_2(tmp_path: Path) -> None:
    ring = to_lonlat(hangzhou_rings("EPSG:4549")[0], "EPSG:4549")
    path = geojson_polygons(tmp_path / "hz.geojson", [[ring]], names=["杭州地块"])
    res = qzgeo("check", path)
    assert_exit2(res, "hz.geojson")
    assert CAUSE.search(res.output), res.output


def test_site_far_outside_pack_extent_is_exit_2(tmp_path: Path, minipack: Path) -> None:
    _minipack_with_extent(minipack)
    path = geojson_polygons(
        tmp_path / "far.geojson", [[to_lonlat(gk_rect(20_000, 0, 20_500, 500))]]
    )
    res = qzgeo("check", path, "--pack", minipack)
    assert_exit2(res, "far.geojson", "extent")


def test_site_partly_outside_is_a_warning(tmp_path: Path, minipack: Path) -> None:
    _minipack_with_extent(minipack)
    path = geojson_polygons(tmp_path / "edge.geojson", [[to_lonlat(gk_rect(1900, 200, 2400, 700))]])
    _, sites = check_json(path, "--pack", minipack)
    assert re.search(r"extent|范围", warnings_of(sites)), sites[0]["warnings"]


def test_site_inside_has_no_extent_warning(tmp_path: Path, minipack: Path) -> None:
    _minipack_with_extent(minipack)
    path = geojson_polygons(tmp_path / "in.geojson", [[to_lonlat(gk_rect(400, 100, 900, 600))]])
    _, sites = check_json(path, "--pack", minipack)
    assert "extent" not in warnings_of(sites)


def test_analyze_parcels_far_away_is_exit_2(tmp_path: Path, minipack: Path) -> None:
    _minipack_with_extent(minipack)
    p = JzdParcel(rings=hangzhou_rings("EPSG:4528"))
    path = write_text(tmp_path / "hz.txt", jzd_text([p], zone="40"), "gbk")
    res = qzgeo("analyze", "--parcels", path, "--pack", minipack, "--out", tmp_path / "o")
    assert_exit2(res, "hz.txt", "extent")


def test_pack_layer_outside_extent_is_exit_2(minipack: Path) -> None:
    """An extent that misses the pack's own data: validate and publish both refuse it."""
    edit_catalog(minipack, pack_lines="extent = [119.0, 29.0, 121.0, 31.0]")
    for cmd in (["validate"], ["publish", "--no-maps", "--out", str(minipack / "out")]):
        res = qzgeo(*cmd, "--pack", minipack)
        assert_exit2(res, "extent")


def test_bundled_minipack_site_inside_still_works(tmp_path: Path) -> None:
    """Control: the extent check must not reject a good site (minipack has no extent)."""
    path = geojson_polygons(tmp_path / "ok.geojson", [[to_lonlat(gk_rect(400, 100, 900, 600))]])
    res, sites = check_json(path, "--pack", MINIPACK)
    assert res.exit_code == 0 and sites[0]["verdict"] == "clear"
