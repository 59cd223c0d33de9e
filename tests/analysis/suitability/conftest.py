"""A synthetic plan pack in a GK zone (EPSG:4545) with cell-aligned rectangles, and DEM makers.

Geometry is written in EPSG:4545 metres so that the expected answers come from plain geometry
(rectangles on the 100 m grid, a line, two points), pyproj.Geod and shapely — not from qzgeo.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from pyproj import Geod, Transformer
from rasterio.transform import Affine
from shapely import LineString, Point, Polygon, box

GK = "EPSG:4545"
X0, Y0 = 500_000.0, 2_400_000.0  # about 108°E 21.7°N
SIZE = 6_000.0
RES = 100.0
STUDY = box(X0, Y0, X0 + SIZE, Y0 + SIZE)
ZONE_A = box(X0 + 500, Y0 + 500, X0 + 2_500, Y0 + 3_500)  # cell-aligned rectangles
ZONE_B = box(X0 + 3_000, Y0 + 1_000, X0 + 5_500, Y0 + 5_000)
TRIANGLE = Polygon([(X0 + 730, Y0 + 4_020), (X0 + 2_960, Y0 + 4_170), (X0 + 1_410, Y0 + 5_880)])
ROAD = LineString([(X0 - 300, Y0 + 1_234), (X0 + 2_777, Y0 + 2_950), (X0 + 6_400, Y0 + 2_600)])
HUBS = [Point(X0 + 4_321, Y0 + 4_567), Point(X0 + 1_111, Y0 + 555)]
REDLINE = box(X0 + 3_500, Y0 + 1_500, X0 + 4_500, Y0 + 2_500)
GEOD = Geod(ellps="GRS80")

CATALOG = """
[pack]
name = "synthetic"
title = "合成测试包"
storage_crs = "EPSG:4490"
planar_crs = "EPSG:4545"

[[layers]]
id = "study"
title = "评价范围"
role = "base"
path = "synthetic.gpkg"
layer = "study"
sensitivity = "public"
source = "test"
licence = "CC0-1.0"
precision = "schematic"

[[layers]]
id = "zones"
title = "分区"
role = "zone"
path = "synthetic.gpkg"
layer = "zones"
sensitivity = "public"
name_field = "名称"
publish_fields = ["名称"]
source = "test"
licence = "CC0-1.0"
precision = "schematic"

[[layers]]
id = "road"
title = "道路"
role = "corridor"
path = "synthetic.gpkg"
layer = "road"
sensitivity = "public"
source = "test"
licence = "CC0-1.0"
precision = "schematic"

[[layers]]
id = "hubs"
title = "枢纽"
role = "corridor"
path = "synthetic.gpkg"
layer = "hubs"
sensitivity = "public"
source = "test"
licence = "CC0-1.0"
precision = "schematic"

[[layers]]
id = "redline"
title = "红线"
role = "constraint"
path = "synthetic.gpkg"
layer = "redline"
sensitivity = "internal"
class_field = "类别"
constraint = "exclusion"
source = "test"
licence = "CC0-1.0"
precision = "schematic"
"""

#: A slope-only model on a 100 m grid reading the raster ``dem``, without its [result].
SLOPE_ONLY = """
title = "坡度"
resolution_m = 100
area = ["study"]
zones = ["zones"]
basemap = "none"
[[factors]]
id = "slope"
kind = "slope"
raster = "dem"
weight = 1
"""

FIVE_CLASSES = """
[result]
breaks = [1.5, 2.5, 3.5, 4.5]
classes = [
  { name = "g1", color = "#d7191c" }, { name = "g2", color = "#fdae61" },
  { name = "g3", color = "#ffffbf" }, { name = "g4", color = "#a6d96a" },
  { name = "g5", color = "#1a9641" },
]
"""

#: A slope-only model on a 100 m grid reading the raster ``dem`` (what ``--dem`` gives), with
#: :data:`FIVE_CLASSES`: the model of the tests of DEM files from other producers.
SLOPE_DEM_MODEL = (
    'title = "t"\nresolution_m = 100\narea = ["study"]\nbasemap = "none"\n[[factors]]\n'
    'id = "slope"\nkind = "slope"\nraster = "dem"\nbreaks = [3, 8, 15, 25]\n'
    "grades = [5, 4, 3, 2, 1]\nweight = 1\n" + FIVE_CLASSES
)


def _write_pack(root: Path, models: dict[str, str]) -> Path:
    (root / "layers").mkdir(parents=True)
    (root / "styles").mkdir()
    (root / "maps").mkdir()
    (root / "suitability").mkdir()
    (root / "layers" / "catalog.toml").write_text(CATALOG, encoding="utf-8")
    gpkg = root / "layers" / "synthetic.gpkg"
    layers = {
        "study": gpd.GeoDataFrame(geometry=[STUDY], crs=GK),
        "zones": gpd.GeoDataFrame(
            {"名称": ["A", "B", "T"]}, geometry=[ZONE_A, ZONE_B, TRIANGLE], crs=GK
        ),
        "road": gpd.GeoDataFrame(geometry=[ROAD], crs=GK),
        "hubs": gpd.GeoDataFrame(geometry=HUBS, crs=GK),
        "redline": gpd.GeoDataFrame({"类别": ["生态保护红线"]}, geometry=[REDLINE], crs=GK),
    }
    for name, gdf in layers.items():
        gdf.to_file(gpkg, layer=name, driver="GPKG")
    for name, text in models.items():
        (root / "suitability" / f"{name}.toml").write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def make_pack(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    counter = iter(range(1000))

    def make(models: dict[str, str]) -> Path:
        return _write_pack(tmp_path / f"pack{next(counter)}", models)

    return make


def study_profile(res: float, n: int, **extra: object) -> dict[str, object]:
    """A GTiff profile of ``n`` x ``n`` float32 cells of ``res`` m in :data:`GK`, from 1 km
    west and north of the study area; no nodata unless ``extra`` gives one."""
    return {
        "driver": "GTiff", "width": n, "height": n, "count": 1, "dtype": "float32", "crs": GK,
        "transform": Affine(res, 0, X0 - 1_000, 0, -res, Y0 + SIZE + 1_000), **extra,
    }  # fmt: skip


def run_suitability(pack: Path, out: Path, *args: str) -> tuple[int, str]:
    """``qzgeo suitability --pack PACK --out OUT --no-progress ARGS``: exit code and output
    (never a traceback)."""
    from click.testing import CliRunner

    from qzgeo.cli.main import cli

    res = CliRunner().invoke(
        cli, ["suitability", "--pack", str(pack), "--out", str(out), "--no-progress", *args]
    )
    assert "Traceback" not in res.output
    return res.exit_code, res.output


def write_dem(path: Path, z: np.ndarray, transform: Affine, crs: str | None) -> Path:
    profile = {
        "driver": "GTiff",
        "width": z.shape[1],
        "height": z.shape[0],
        "count": 1,
        "dtype": "float32",
        "transform": transform,
        "nodata": -9999.0,
    }
    if crs is not None:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(z.astype(np.float32), 1)
    return path


def gk_plane(path: Path, degrees: float, *, crs: str | None = GK) -> Path:
    """A plane rising along x with slope ``degrees`` (grid metres), 20 m cells, 1 km margin."""
    res = 20.0
    n = int((SIZE + 2_000) / res)
    x = X0 - 1_000 + res * (np.arange(n) + 0.5)
    z = np.tile(math.tan(math.radians(degrees)) * (x - X0), (n, 1)) + 100.0
    t = Affine(res, 0, X0 - 1_000, 0, -res, Y0 + SIZE + 1_000)
    return write_dem(path, z, t, crs)


def geographic_plane(path: Path, degrees: float) -> Path:
    """A DEM in EPSG:4490 rising northwards by ``degrees`` on the ground: tan(s)·meridian arc."""
    to_ll = Transformer.from_crs(GK, "EPSG:4490", always_xy=True)
    lon0, lat0, lon1, lat1 = to_ll.transform_bounds(*STUDY.bounds)
    step = 0.0004
    lon0, lat0, lon1, lat1 = lon0 - 0.01, lat0 - 0.01, lon1 + 0.01, lat1 + 0.01
    nx, ny = math.ceil((lon1 - lon0) / step), math.ceil((lat1 - lat0) / step)
    lat = lat1 - step * (np.arange(ny) + 0.5)
    arc = np.array([GEOD.inv(lon0, lat0, lon0, la)[2] for la in lat])
    z = np.tile((math.tan(math.radians(degrees)) * arc)[:, None], (1, nx)) + 10.0
    return write_dem(path, z, Affine(step, 0, lon0, 0, -step, lat1), "EPSG:4490")


def geod_area_gk(geom: Polygon) -> float:
    """Ellipsoidal area of a GK polygon: densified to 10 m, to lon/lat, pyproj.Geod."""
    to_ll = Transformer.from_crs(GK, "EPSG:4490", always_xy=True)
    ring = np.asarray(geom.segmentize(10.0).exterior.coords)
    lon, lat = to_ll.transform(ring[:, 0], ring[:, 1])
    return abs(GEOD.polygon_area_perimeter(lon, lat)[0])


def one_factor_model(
    *,
    kind: str,
    breaks: list[float],
    layers: list[str] | None = None,
    resolution_m: float = 100,
) -> str:
    """A model of one factor graded 5..1 by ``breaks`` over the study area, the zones as its
    zones, and the five result classes: ``distance`` to ``layers``, or ``slope`` of the DEM."""
    source = f"layers = {layers!r}" if kind == "distance" else 'raster = "dem"'
    title = "距离" if kind == "distance" else "坡度"
    fid = "near" if kind == "distance" else "slope"
    return (
        f'title = "{title}"\nresolution_m = {resolution_m}\narea = ["study"]\n'
        'zones = ["zones"]\nbasemap = "none"\n[[factors]]\n'
        f'id = "{fid}"\nkind = "{kind}"\n{source}\nbreaks = {breaks!r}\n'
        "grades = [5, 4, 3, 2, 1]\nweight = 1\n" + FIVE_CLASSES
    ).replace("'", '"')


@pytest.fixture
def h() -> object:
    """This module: the geometry constants and DEM makers, for the tests."""
    import sys

    return sys.modules[__name__]
