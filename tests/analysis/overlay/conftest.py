"""Fixtures of the overlay tests: the minipack loaded, and parcel helpers."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from support import get_path

from qzgeo.pack.catalog import load_pack
from qzgeo.pack.load import LoadedPack, load_pack_layers

MINIPACK = get_path("minipack")
# Origin of the minipack's squares (EPSG:4524, zone-prefixed GK zone 36).
X0, Y0 = 36_564_000.0, 2_399_000.0


@pytest.fixture(scope="session")
def loaded_minipack() -> LoadedPack:
    return load_pack_layers(load_pack(MINIPACK))


def boxes(*bounds: tuple[float, float, float, float], crs: str = "EPSG:4524") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": [f"p{k}" for k in range(len(bounds))]},
        geometry=[shapely.box(*b) for b in bounds],
        crs=crs,
    )
