"""drawn_edges leaves an invalid polygon invalid, for the caller's repair to mend and say.

Found by out13: GEOS's segmentize re-validates a polygon by buffer(0), which keeps one lobe
of a bowtie. A bowtie site drawn in GK (a Shapefile, a 界址点 file) was checked as one
triangle (half its area) with no repair note, where the same site in lon/lat, and analyze,
kept both lobes and said so.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from click.testing import CliRunner
from pyproj import Geod, Transformer

from qzgeo.cli.main import cli
from qzgeo.geo.edges import densify_rings

E0, N0 = 36_564_000.0, 2_399_000.0  # GK zone 36 with the prefix, inside the minipack
MINIPACK = Path(__file__).resolve().parents[1] / "data" / "minipack"
BOWTIE = [(E0, N0 + 100), (E0 + 300, N0 + 400), (E0 + 300, N0 + 100), (E0, N0 + 400)]


def test_an_invalid_polygon_comes_out_densified_and_invalid() -> None:
    bow = shapely.Polygon(BOWTIE)
    [out] = densify_rings(np.array([bow], dtype=object), 10.0, keep_invalid=True)
    assert not out.is_valid
    assert shapely.get_num_coordinates(out) > 5
    assert shapely.make_valid(out).area == pytest.approx(2 * 150 * 300 / 2)


def _lobes_m2() -> float:
    """Both triangles of the bowtie, on the GRS80 ellipsoid (edges straight in GK)."""
    to_ll = Transformer.from_crs("EPSG:4524", "EPSG:4490", always_xy=True)
    geod = Geod(ellps="GRS80")
    mid = (E0 + 150, N0 + 250)
    total = 0.0
    for tri in ([BOWTIE[0], mid, BOWTIE[3]], [BOWTIE[1], mid, BOWTIE[2]]):
        ring = shapely.segmentize(shapely.LinearRing(tri), 1.0)
        lon, lat = to_ll.transform(*np.asarray(ring.coords).T)
        total += abs(geod.polygon_area_perimeter(lon, lat)[0])
    return total


def test_a_bowtie_site_drawn_in_gk_keeps_both_lobes_and_says_so(tmp_path: Path) -> None:
    src = tmp_path / "site.gpkg"
    gdf = gpd.GeoDataFrame({"名称": ["蝴蝶"]}, geometry=[shapely.Polygon(BOWTIE)], crs="EPSG:4524")
    gdf.to_file(src)
    res = CliRunner().invoke(cli, ["check", str(src), "--pack", str(MINIPACK), "--format", "json"])
    assert res.exit_code in (0, 1), res.output
    [site] = json.loads(res.stdout)
    assert site["area_m2"] == pytest.approx(_lobes_m2(), abs=0.02)
    assert any("invalid" in r and "make_valid" in r for r in site["repairs"]), site["repairs"]
