"""The land two parcels drawn in GK share is measured along their edges in that plane.

Found by out21: a parcel duplicated in a file (a 10 km square 140 km east of 108°E, in
EPSG:4545) was said to share 99 948 083.58 m² with its copy, while each copy's area_m2 is
99 948 063.04: the shared land was measured between its vertices only (geodesics), the
parcels along their straight GK edges, so `total - overlap_m2`, the land's area as the
README says, came out 20.5 m² short. Oracle: pyproj.Geod on the square's edges cut every
10 m in EPSG:4545 (tests/data/real_shaped/oracles.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Transformer

from qzgeo.analysis.parcel_overlaps import shared_m2
from tests.data.packs import run_cli
from tests.data.real_shaped.oracles import projected_polygon_m2

X0, Y0 = 640_000.0, 2_420_000.0  # EPSG:4545: 140 km east of its central meridian, 21.9°N


@pytest.mark.parametrize("side", [1_000.0, 10_000.0])
def test_a_duplicated_parcel_shares_its_own_area(side: float) -> None:
    ring = [(X0, Y0), (X0 + side, Y0), (X0 + side, Y0 + side), (X0, Y0 + side)]
    square = shapely.Polygon(ring)
    want = projected_polygon_m2(ring, crs="EPSG:4545")
    got = shared_m2(np.array([square], dtype=object), np.array([square], dtype=object), "EPSG:4545")
    assert got[0] == pytest.approx(want, abs=0.01)


def test_half_of_a_parcel_over_its_neighbour() -> None:
    a = shapely.box(X0, Y0, X0 + 10_000.0, Y0 + 10_000.0)
    b = shapely.box(X0 + 5_000.0, Y0, X0 + 15_000.0, Y0 + 10_000.0)
    half = [(X0 + 5_000.0, Y0), (X0 + 10_000.0, Y0), (X0 + 10_000.0, Y0 + 10_000.0)]
    want = projected_polygon_m2([*half, (X0 + 5_000.0, Y0 + 10_000.0)], crs="EPSG:4545")
    got = shared_m2(np.array([a], dtype=object), np.array([b], dtype=object), "EPSG:4545")
    assert got[0] == pytest.approx(want, abs=0.01)


def _lonlat_square(side: float) -> shapely.Polygon:
    to_ll = Transformer.from_crs("EPSG:4545", "EPSG:4490", always_xy=True)
    ring = [(X0, Y0), (X0 + side, Y0), (X0 + side, Y0 + side), (X0, Y0 + side)]
    return shapely.Polygon([to_ll.transform(x, y) for x, y in ring])


def test_lon_lat_parcels_share_land_measured_in_the_overlay_plane() -> None:
    # A lon/lat parcel's area_m2 is measured with its edges straight in the overlay's planar
    # CRS; the land it shares with its copy must be too (it was the geodesic polygon's).
    square = _lonlat_square(10_000.0)
    ring = [(X0, Y0), (X0 + 1e4, Y0), (X0 + 1e4, Y0 + 1e4), (X0, Y0 + 1e4)]
    want = projected_polygon_m2(ring, crs="EPSG:4545")
    one = np.array([square], dtype=object)
    got = shared_m2(one, one, "EPSG:4490", planar="EPSG:4545")
    assert got[0] == pytest.approx(want, abs=0.01)


@pytest.mark.parametrize(
    "chunks", [[], ["--chunk-rows", "1", "--workers", "2"]], ids=["whole", "chunked"]
)
def test_a_duplicated_lon_lat_parcel_shares_its_area_m2(tmp_path: Path, chunks: list[str]) -> None:
    path = tmp_path / "dup.gpkg"
    square = _lonlat_square(10_000.0)
    gpd.GeoDataFrame({"名称": ["甲", "甲"]}, geometry=[square, square], crs="EPSG:4490").to_file(
        path
    )
    out = tmp_path / "out"
    res = run_cli("analyze", "--parcels", path, "--out", out, *chunks)
    assert res.exit_code == 0, res.output
    report = json.loads((out / "internal" / "parcels_report.json").read_text("utf-8"))
    area = gpd.read_file(out / "internal" / "parcels.gpkg")["area_m2"].to_numpy()
    assert area[0] == pytest.approx(area[1], abs=1e-6)
    assert report["overlapping_parcels"]["overlap_m2"] == pytest.approx(area[0], abs=0.01)
