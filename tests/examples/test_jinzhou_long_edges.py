"""What the map shows just outside a long schematic edge of the 锦州 pack is outside it.

The maps draw an edge straight in lon/lat, the analysis straight in the planar CRS (EPSG:4549).
Along the 12.5 km north side of the 黑山 farmland (41.83°N) the two lines were 2.74 m apart
until the build densified the pack: a site drawn 1 m north of it got ~1,400 m² of 永久基本农田
and a conflict, and 200 m parcels along it up to 540 m² each. Oracle: shapely in lon/lat on
geometries segmentized to 1e-5° (≈ 1 m: lon/lat-straight and geodesic then agree to < 0.1 mm),
areas by ``pyproj.Geod`` (support.geod_ring_area). The case is built from the pack's own data.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from click.testing import CliRunner, Result
from pyproj import Geod
from shapely.geometry.base import BaseGeometry
from support import geod_ring_area

from qzgeo.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
PACK = ROOT / "examples" / "jinzhou"
GPKG = PACK / "layers" / "jinzhou.gpkg"
GEOD = Geod(ellps="GRS80")
FARM = "黑山县永久基本农田（示意）"
ORACLE_DEG = 1e-5


def _run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def lines() -> gpd.GeoDataFrame:
    return gpd.read_file(GPKG, layer="control_lines")


@pytest.fixture(scope="module")
def north_side(lines: gpd.GeoDataFrame) -> tuple[float, float, float]:
    """West end, east end and latitude of the 黑山 farmland's northern side (its top vertices)."""
    (farm,) = lines.loc[lines["名称"] == FARM, "geometry"]
    xy = shapely.get_coordinates(farm)
    top = xy[xy[:, 1] == xy[:, 1].max()]
    west, east, lat = float(top[:, 0].min()), float(top[:, 0].max()), float(top[0, 1])
    assert GEOD.inv(west, lat, east, lat)[2] > 12_000.0  # a long edge as the literal drew it
    return west, east, lat


def _oracle(lines: gpd.GeoDataFrame, cls: str) -> BaseGeometry:
    geoms = lines.loc[lines["类别"] == cls, "geometry"].to_numpy()
    return shapely.segmentize(shapely.union_all(geoms), ORACLE_DEG)


def test_site_drawn_1_m_north_of_the_farmland_is_outside_it(
    tmp_path: Path, lines: gpd.GeoDataFrame, north_side: tuple[float, float, float]
) -> None:
    west, east, lat = north_side
    mid = (west + east) / 2.0  # where the chord was farthest from the parallel
    south = GEOD.fwd(mid, lat, 0.0, 1.0)[1]  # 1 m north of the edge
    site = shapely.segmentize(shapely.box(mid - 0.01, south, mid + 0.01, south + 0.002), 1e-4)
    path = tmp_path / "north.geojson"
    gpd.GeoDataFrame({"名称": ["农田北侧地块"]}, geometry=[site], crs="EPSG:4490").to_file(path)

    drawn = shapely.segmentize(site, ORACLE_DEG)
    farm, udb = _oracle(lines, "永久基本农田"), _oracle(lines, "城镇开发边界")
    assert geod_ring_area(drawn.intersection(farm)) == 0.0
    assert geod_ring_area(drawn.intersection(udb)) == 0.0  # wholly outside every boundary
    site_m2 = geod_ring_area(drawn)

    r = _run("check", "--pack", PACK, "--format", "json", path)
    assert r.exit_code in (0, 1), r.stderr
    (d,) = json.loads(r.stdout)
    assert d["area_m2"] == pytest.approx(site_m2, abs=0.05)
    conflicts = {c["class"]: c for c in d["conflicts"]}
    assert "永久基本农田" not in conflicts, conflicts  # was ~1,400 m²
    assert set(conflicts) == {"城镇开发边界外"}
    assert conflicts["城镇开发边界外"]["area_m2"] == pytest.approx(site_m2, abs=0.05)


def test_parcels_along_the_farmland_edge_overlap_it_as_drawn(
    tmp_path: Path, lines: gpd.GeoDataFrame, north_side: tuple[float, float, float]
) -> None:
    west, east, lat = north_side
    dx, dy = 0.0024, 0.0018  # ≈ 200 m × 200 m at 41.8°N
    cells = [
        shapely.box(x, lat + j * dy, min(x + dx, east), lat + (j + 1) * dy)
        for j in (-1, 0)
        for x in np.arange(west, east, dx)
    ]
    cells = [shapely.segmentize(c, 1e-4) for c in cells]  # as drawn: edges straight in lon/lat
    path = tmp_path / "parcels.gpkg"
    names = [f"地块{i}" for i in range(len(cells))]
    gpd.GeoDataFrame({"名称": names}, geometry=cells, crs="EPSG:4490").to_file(path)
    out = tmp_path / "out"
    r = _run("analyze", "--pack", PACK, "--parcels", path, "--out", out, "--no-progress")
    assert r.exit_code == 0, r.stderr

    got = gpd.read_file(out / "internal" / "parcels.gpkg")
    per_parcel = got.groupby("source_fid")["control_lines:永久基本农田"].sum()
    farm = _oracle(lines, "永久基本农田")
    expect = np.array([geod_ring_area(shapely.segmentize(c, ORACLE_DEG) & farm) for c in cells])
    diff = per_parcel.reindex(range(1, len(cells) + 1)).to_numpy() - expect
    # the pack's edges are ≤ 200 m: < 1 mm from the lon/lat line, ≤ 0.2 m² along a parcel
    assert np.abs(diff).max() < 0.2, (np.abs(diff).max(), diff.sum())
    # the southern row lies in the farmland, the northern row (north of the edge) outside it
    half = len(cells) // 2
    assert expect[:half].min() > 19_000.0 and expect[half:].max() == 0.0
