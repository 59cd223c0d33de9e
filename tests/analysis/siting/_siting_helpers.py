"""Shared constants and helpers of the siting tests (imported by conftest and the tests)."""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import Geod, Transformer
from support import get_path

MINIPACK = get_path("minipack")
X0, Y0 = 36_564_000.0, 2_399_000.0  # EPSG:4524, as in tests/data/make_minipack.py
GK = "EPSG:4524"
CANAL_X = X0 + 3000  # the test corridor line runs north-south along this easting

_CANAL_ENTRY = """
[[layers]]
id = "test_railway"
title = "测试铁路"
title_en = "Test railway"
role = "corridor"
path = "canal.gpkg"
layer = "canal"
sensitivity = "public"
source = "hand-made test line"
licence = "CC0-1.0"
precision = "schematic"

[[distances]]
layer = "test_railway"
label = "距测试铁路"
label_en = "Distance to the test railway"
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
