"""Fixtures of the siting tests: the lead's minipack, a copy with a canal, site files."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

sys.path.insert(0, str(Path(__file__).parent))  # pytest runs with --import-mode=importlib

from _siting_helpers import _CANAL_ENTRY, CANAL_X, GK, MINIPACK, Y0

from qzgeo.analysis.siting import SitingContext
from qzgeo.io.write import write_gpkg
from qzgeo.pack.catalog import load_pack


@pytest.fixture(scope="session")
def minipack() -> Path:
    return MINIPACK


@pytest.fixture(scope="session")
def ctx() -> SitingContext:
    return SitingContext.from_pack(load_pack(MINIPACK))


@pytest.fixture(scope="session")
def canal_pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the minipack with a corridor line at easting X0+3000, declared in [[distances]]."""
    root = tmp_path_factory.mktemp("canalpack") / "pack"
    shutil.copytree(MINIPACK, root)
    line = shapely.LineString([(CANAL_X, Y0 - 5000), (CANAL_X, Y0 + 5000)])
    canal = gpd.GeoDataFrame({"名称": ["测试铁路"]}, geometry=[line], crs=GK)
    write_gpkg(root / "layers" / "canal.gpkg", {"canal": canal.to_crs("EPSG:4490")})
    catalog = root / "layers" / "catalog.toml"
    catalog.write_text(catalog.read_text(encoding="utf-8") + _CANAL_ENTRY, encoding="utf-8")
    return root


@pytest.fixture
def write_sites(tmp_path: Path) -> Callable[..., Path]:
    """Write site polygons (GK boxes by default) to a file in tmp_path and return its path."""

    def _write(
        geoms: list[shapely.Geometry],
        *,
        names: list[str | None] | None = None,
        name: str = "sites.geojson",
        crs: str | None = GK,
        driver: str | None = None,
    ) -> Path:
        data = {"名称": names} if names is not None else {}
        gdf = gpd.GeoDataFrame(data, geometry=geoms, crs=crs)
        path = tmp_path / name
        gdf.to_file(path, driver=driver)
        return path

    return _write
