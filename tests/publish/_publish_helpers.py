"""A tiny synthetic plan pack written by the tests themselves (no dependency on Qinzhou data)."""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import shapely
from shapely.geometry import LineString, Point, box

from qzgeo.pack.catalog import load_pack
from qzgeo.pack.model import Pack

SECRET = "SECRET-7731-内部"
# Each payload sets window.__pwned if it ever runs as code.
HOSTILE = [
    "<img src=x onerror=window.__pwned=1>",
    "</script><script>window.__pwned=2</script>",
    "`${window.__pwned=3}`",
    "javascript:window.__pwned=4",
    "{{ 7*7 }}{% if true %}jinja{% endif %}",
    "\u2028line&sep\u2029",
]

CATALOG = """
[pack]
name = "testpack"
title = "测试规划包"
notice = "示意图，仅供测试。"
attribution = "测试数据 © qzgeo tests"

[params]

[[layers]]
id = "zones"
title = "规划分区"
role = "zone"
path = "zones.geojson"
sensitivity = "public"
class_field = "类型"
name_field = "名称"
publish_fields = ["名称", "类型", "面积_ha"]
source = "tests"
licence = "CC0"
precision = "schematic"

[[layers]]
id = "ctrl"
title = "生态保护红线"
role = "constraint"
path = "ctrl.geojson"
sensitivity = "public"
constraint = "exclusion"
publish_fields = ["名称"]
source = "tests"
licence = "CC0"
precision = "schematic"

[[layers]]
id = "axis"
title = "发展轴"
role = "corridor"
path = "axis.geojson"
sensitivity = "public"
publish_fields = ["名称"]
source = "tests"
licence = "CC0"
precision = "schematic"

[[layers]]
id = "hubs"
title = "枢纽"
role = "base"
path = "hubs.geojson"
sensitivity = "public"
publish_fields = ["名称"]
source = "tests"
licence = "CC0"
precision = "schematic"

[[layers]]
id = "secret_lines"
title = "内部控制线"
role = "constraint"
path = "secret.geojson"
sensitivity = "internal"
constraint = "exclusion"
publish_fields = ["名称"]
source = "tests"
licence = "internal"
precision = "schematic"
"""

STYLES = """
[zones]
class_field = "类型"
label_field = "名称"
legend_title = "规划分区"
fill = "#cccccc"
stroke = "#555555"
[zones.classes."工业"]
fill = "#e78ac3"
legend = "工业用地 Industrial"
[zones.classes."物流"]
fill = "#8da0cb"
legend = "物流用地 Logistics"
[zones.classes."居住"]
fill = "#fc8d62"
legend = "居住用地 Residential"

[ctrl]
fill = "#1b9e77"
fill_opacity = 0.3
stroke = "#1b9e77"
pattern = "stripe"
pattern_color = "#1b9e77"
legend = "生态保护红线"

[axis]
stroke = "#d95f02"
weight = 3
dash = "8 4"
legend = "发展轴"

[hubs]
fill = "#7570b3"
stroke = "#333333"
radius = 6
legend = "枢纽"

[secret_lines]
stroke = "#000000"
dash = "2 2"

[available_land]
fill = "#1a9850"
fill_opacity = 0.5
stroke = "#1a9850"
legend = "可用地"

[conflicts]
class_field = "类别"
fill = "#d73027"
stroke = "#d73027"
pattern = "stripe"
[conflicts.classes."永久基本农田"]
legend = "与永久基本农田冲突"
"""

MAPS = {
    "public_map": """
title = "公开示意图"
title_en = "Public sketch"
audience = "public"
layers = ["zones", "ctrl", "axis", "hubs"]
analysis = ["available_land"]
basemap = "osm"
basemaps = ["tianditu_vec", "tianditu_img"]
description = "公开地图"
""",
    "internal_map": """
title = "内部图"
audience = "internal"
layers = ["zones", "secret_lines"]
analysis = ["conflicts"]
basemap = "none"
""",
    "amap_map": """
title = "高德底图"
audience = "public"
layers = ["zones"]
basemap = "amap"
""",
}

X0, Y0 = 108.60, 21.90


def zones_gdf() -> gpd.GeoDataFrame:
    names = ["港区<b>一</b>", *HOSTILE]
    geoms, rows = [], []
    for i, name in enumerate(names):
        # a 2 x 4 grid of 0.01-degree squares sharing edges: a valid coverage
        x, y = X0 + (i % 4) * 0.01, Y0 + (i // 4) * 0.01
        geoms.append(box(x, y, x + 0.01, y + 0.01))
        rows.append(
            {
                "名称": name,
                "类型": ["工业", "物流", "居住", "未分类"][i % 4],
                "面积_ha": 123.456789123,
                "内部编号": SECRET,
            }
        )
    return gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4490")


def make_layers() -> dict[str, gpd.GeoDataFrame]:
    ctrl = gpd.GeoDataFrame(
        {"名称": ["红线A"], "内部编号": [SECRET]},
        geometry=[box(X0 + 0.005, Y0 + 0.005, X0 + 0.015, Y0 + 0.015)],
        crs="EPSG:4490",
    )
    axis = gpd.GeoDataFrame(
        {"名称": ["滨海轴"], "内部编号": [SECRET]},
        geometry=[LineString([(X0, Y0 - 0.002), (X0 + 0.04, Y0 + 0.022)])],
        crs="EPSG:4490",
    )
    hubs = gpd.GeoDataFrame(
        {"名称": ["枢纽1", "枢纽2"], "内部编号": [SECRET, SECRET]},
        geometry=[Point(X0 + 0.012, Y0 + 0.003), Point(X0 + 0.031, Y0 + 0.017)],
        crs="EPSG:4490",
    )
    secret = gpd.GeoDataFrame(
        {"名称": ["内部线"]},
        geometry=[LineString([(X0, Y0 + 0.02), (X0 + 0.04, Y0)])],
        crs="EPSG:4490",
    )
    return {"zones": zones_gdf(), "ctrl": ctrl, "axis": axis, "hubs": hubs, "secret_lines": secret}


def make_analysis(layers: dict[str, gpd.GeoDataFrame]) -> dict[str, gpd.GeoDataFrame]:
    zones, ctrl = layers["zones"], layers["ctrl"]
    cut = shapely.union_all(ctrl.geometry.values)
    avail = zones[["名称"]].copy()
    avail = gpd.GeoDataFrame(avail, geometry=zones.geometry.difference(cut), crs="EPSG:4490")
    avail = avail[~avail.geometry.is_empty].reset_index(drop=True)
    avail.insert(0, "id", range(1, len(avail) + 1))
    avail["zone_layer"] = "zones"
    avail["zone_fid"] = range(len(avail))
    avail["area_m2"] = 1000.0
    avail["area_ha"] = 0.1
    avail["area_mu"] = 1.5
    conf = gpd.GeoDataFrame(
        {
            "id": [1],
            "zone_layer": ["zones"],
            "名称": ["港区<b>一</b>"],
            "constraint_layer": ["secret_lines"],
            "类别": ["永久基本农田"],
            "mode": ["exclusion"],
            "area_m2": [500.0],
            "area_ha": [0.05],
            "area_mu": [0.75],
        },
        geometry=[box(X0 + 0.001, Y0 + 0.001, X0 + 0.004, Y0 + 0.004)],
        crs="EPSG:4490",
    )
    return {"available_land": avail, "conflicts": conf}


@dataclass
class Built:
    pack: Pack
    layers: dict[str, gpd.GeoDataFrame]
    analysis: dict[str, gpd.GeoDataFrame]
    root: Path

    def write_map(self, name: str, text: str) -> None:
        (self.root / "maps" / f"{name}.toml").write_text(textwrap.dedent(text), encoding="utf-8")
        self.pack = load_pack(self.root)


def write_pack(root: Path, maps: dict[str, str] | None = None) -> Built:
    (root / "layers").mkdir(parents=True)
    (root / "styles").mkdir()
    (root / "maps").mkdir()
    (root / "layers" / "catalog.toml").write_text(CATALOG, encoding="utf-8")
    (root / "styles" / "styles.toml").write_text(STYLES, encoding="utf-8")
    for name, text in (MAPS if maps is None else maps).items():
        (root / "maps" / f"{name}.toml").write_text(text, encoding="utf-8")
    layers = make_layers()
    for lid, gdf in layers.items():
        path = root / "layers" / f"{lid if lid != 'secret_lines' else 'secret'}.geojson"
        gdf.to_file(path, driver="GeoJSON")
    # the tests publish what was read back from disk, as the pipeline does
    read = {
        lid: gpd.read_file(
            root / "layers" / f"{lid if lid != 'secret_lines' else 'secret'}.geojson"
        )
        for lid in layers
    }
    pack = load_pack(root)
    assert not pack.problems, pack.problems
    return Built(pack=pack, layers=read, analysis=make_analysis(read), root=root)


SENS = {"available_land": "public", "conflicts": "internal"}


def config_of(html: str) -> dict:
    """The JSON configuration embedded in a published page."""
    start = html.index('<script type="application/json" id="qz-config">')
    start = html.index(">", start) + 1
    end = html.index("</script>", start)
    return json.loads(html[start:end])
