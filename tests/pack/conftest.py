"""Fixtures for the bundled Qinzhou plan pack: its layers, its sources and its build script."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import geopandas as gpd
import pyogrio
import pytest
import shapely
from support import ROOT

LAYERS = ROOT / "layers"
SOURCES = LAYERS / "sources"
GPKG = LAYERS / "qinzhou.gpkg"


@pytest.fixture(scope="session")
def build_pack() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_pack", LAYERS / "build_pack.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def pack_layers() -> dict[str, gpd.GeoDataFrame]:
    return {name: gpd.read_file(GPKG, layer=name) for name, _ in pyogrio.list_layers(GPKG)}


@pytest.fixture(scope="session")
def land() -> shapely.Geometry:
    gdf = gpd.read_file(SOURCES / "gshhg_f_land_qinzhou.geojson")
    return shapely.make_valid(shapely.union_all(gdf.geometry.values))


@pytest.fixture(scope="session")
def coast_lines() -> shapely.Geometry:
    gdf = gpd.read_file(SOURCES / "gshhg_f_coast_qinzhou.geojson")
    return shapely.union_all(
        [g.boundary if g.geom_type.endswith("Polygon") else g for g in gdf.geometry]
    )


@pytest.fixture(scope="session")
def raw_districts() -> gpd.GeoDataFrame:
    return gpd.read_file(SOURCES / "qinzhou_districts_gcj02.geojson")


@pytest.fixture(scope="session")
def district_union(pack_layers: dict[str, gpd.GeoDataFrame]) -> shapely.Geometry:
    return shapely.union_all(pack_layers["districts"].geometry.values)
