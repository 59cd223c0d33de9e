"""A site with a NaN vertex is skipped with a warning, never checked as another polygon.

Found by out13: a GeoPackage square whose second corner had a NaN easting (an Excel or CSV
conversion with an empty cell) was checked as the triangle of the three other corners (half
the area, verdict "clear") with no word: the reprojection and the densification of the edges
dropped the vertex. analyze drops such a parcel ("NaN or infinite coordinates"); check now
skips such a site and says which vertex.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import shapely
from click.testing import CliRunner

from qzgeo.cli.main import cli

E0, N0 = 36_564_000.0, 2_399_000.0  # GK zone 36 with the prefix, inside the minipack


def run_cli(*args: str | Path):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, [str(a) for a in args])


def _square(x: float, nan_corner: bool) -> shapely.Polygon:
    ring = [(E0 + x, N0 + 100), (E0 + x + 300, N0 + 100), (E0 + x + 300, N0 + 400),
            (E0 + x, N0 + 400)]  # fmt: skip
    if nan_corner:
        ring[1] = (float("nan"), ring[1][1])
    return shapely.Polygon(ring)


def test_a_site_with_a_nan_corner_is_skipped_and_named(minipack: Path, tmp_path: Path) -> None:
    src = tmp_path / "sites.gpkg"
    geoms = [_square(0, nan_corner=True), _square(400, nan_corner=False)]
    gpd.GeoDataFrame({"名称": ["坏角", "好"]}, geometry=geoms, crs="EPSG:4524").to_file(src)
    res = run_cli("check", src, "--pack", minipack, "--format", "json")
    assert res.exit_code in (0, 1), res.output
    sites = json.loads(res.stdout)
    assert [s["site"] for s in sites] == ["好"]
    [warning] = [w for w in sites[0]["warnings"] if "NaN" in w]
    assert "feature 1" in warning and "vertex 2" in warning and "skipped" in warning


def test_a_file_of_only_such_sites_is_refused_with_the_reason(
    minipack: Path, tmp_path: Path
) -> None:
    src = tmp_path / "sites.gpkg"
    geoms = [_square(0, nan_corner=True)]
    gpd.GeoDataFrame({"名称": ["坏角"]}, geometry=geoms, crs="EPSG:4524").to_file(src)
    res = run_cli("check", src, "--pack", minipack, "--format", "json")
    assert res.exit_code == 2, res.output
    assert "sites.gpkg" in res.output and "NaN" in res.output and "vertex 2" in res.output
