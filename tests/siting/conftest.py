"""Fixtures of the siting tests: the lead's minipack, a copy with a canal, site files."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod, Transformer

from qzgeo.io import write_gpkg
from qzgeo.pack import load_pack
from qzgeo.siting import SitingContext

MINIPACK = Path(__file__).resolve().parent.parent / "data" / "minipack"
X0, Y0 = 36_564_000.0, 2_399_000.0  # EPSG:4524, as in tests/data/make_minipack.py
GK = "EPSG:4524"
CANAL_X = X0 + 3000  # the test canal runs north-south along this easting

_CANAL_ENTRY = """
[[layers]]
id = "pinglu_canal"
title = "平陆运河"
title_en = "Pinglu Canal"
role = "corridor"
path = "canal.gpkg"
layer = "canal"
sensitivity = "public"
source = "hand-made test line"
licence = "CC0-1.0"
precision = "schematic"
"""


def gk_box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    """A box given relative to (X0, Y0) in metres."""
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def ellipsoidal_m2(geom: shapely.Geometry, crs: str = GK) -> float:
    """Reference area: the vertices transformed to EPSG:4490, measured with pyproj.Geod."""
    t = Transformer.from_crs(crs, "EPSG:4490", always_xy=True)
    lonlat = shapely.transform(geom, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))
    area, _ = Geod(ellps="GRS80").geometry_area_perimeter(lonlat)
    return abs(float(area))


@pytest.fixture(scope="session")
def minipack() -> Path:
    return MINIPACK


@pytest.fixture(scope="session")
def ctx() -> SitingContext:
    return SitingContext.from_pack(load_pack(MINIPACK))


@pytest.fixture(scope="session")
def canal_pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the minipack with a 平陆运河 corridor line at easting X0+3000."""
    root = tmp_path_factory.mktemp("canalpack") / "pack"
    shutil.copytree(MINIPACK, root)
    line = shapely.LineString([(CANAL_X, Y0 - 5000), (CANAL_X, Y0 + 5000)])
    canal = gpd.GeoDataFrame({"名称": ["平陆运河"]}, geometry=[line], crs=GK)
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
