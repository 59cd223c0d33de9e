"""Published figures: areas within ±3 %, the canal's length within ±2 km."""

from __future__ import annotations

import csv

import geopandas as gpd
import pytest
import shapely
import shapely.ops
from pyproj import Geod
from support import ROOT

from qzgeo.geo.area import M2_PER_MU, ellipsoidal_area

KM2 = 1e6
HA = 1e4
# (layer, 名称, published area in m², source of the figure)
PUBLISHED = [
    (
        "port_range",
        "中国（广西）自由贸易试验区钦州港片区规划范围",
        260 * KM2,
        "001 规划范围约 260 km²",
    ),
    ("port_core", "自贸新城产城融合中心", 3.5 * KM2, "001 自贸新城启动区 3.5 km²"),
    ("port_areas", "钦州综合保税区", 10 * KM2, "2008 批复 10 km²"),
    ("port_areas", "中马钦州产业园区", 55 * KM2, "规划 55 km²"),
    ("port_areas_startup", "中马钦州产业园区起步区", 7.87 * KM2, "起步区 7.87 km²"),
    ("hitech_park", "钦州高新技术产业开发区", 42 * KM2, "004 42 km²"),
    ("hitech_structure", "西翼", 350 * HA, "004 350 公顷"),
    ("hitech_structure", "东翼", 510 * HA, "004 510 公顷"),
    ("hitech_phases", "一期", 1_000 * M2_PER_MU, "004 约 1000 亩"),
    ("hitech_phases", "二期", 15_000 * M2_PER_MU, "004 15000 亩"),
    ("hitech_phases", "三期（河西科教园）", 11_300 * M2_PER_MU, "004 约 11300 亩"),
    ("control_lines", "茅尾海红树林自然保护区（康熙岭片）", 13.24 * KM2, "近岸海域功能区划"),
    ("control_lines", "茅尾海红树林自然保护区（尖山片）", 9.33 * KM2, "近岸海域功能区划"),
    ("control_lines", "茅尾海红树林自然保护区（七十二泾片）", 1.00 * KM2, "近岸海域功能区划"),
    ("control_lines", "茅尾海红树林自然保护区（大风江片）", 2.85 * KM2, "近岸海域功能区划"),
]


def _area(layers: dict[str, gpd.GeoDataFrame], layer: str, name: str) -> float:
    gdf = layers[layer]
    rows = gdf[gdf["名称"] == name]
    assert len(rows) == 1, f"{layer}: expected one feature named {name!r}, got {len(rows)}"
    return float(ellipsoidal_area(rows.geometry)[0])


@pytest.mark.parametrize(("layer", "name", "published", "why"), PUBLISHED)
def test_published_area_within_3_percent(pack_layers, layer, name, published, why):
    got = _area(pack_layers, layer, name)
    assert got == pytest.approx(published, rel=0.03), f"{name}: {got / KM2:.3f} km² vs {why}"


def test_mangrove_reserve_sums_to_published_total(pack_layers):
    cl = pack_layers["control_lines"]
    parts = cl[cl["名称"].str.startswith("茅尾海红树林自然保护区")]
    assert len(parts) == 4
    assert ellipsoidal_area(parts.geometry).sum() == pytest.approx(26.42 * KM2, rel=0.03)


def test_released_land_of_the_three_phases_is_18_2_km2(pack_layers):
    ph = pack_layers["hitech_phases"]
    released = ph[ph["名称"].isin(["一期", "二期", "三期（河西科教园）"])]
    assert ellipsoidal_area(released.geometry).sum() == pytest.approx(18.2 * KM2, rel=0.03)


def test_canal_total_length_is_134_2_km(pack_layers):
    geod = Geod(ellps="GRS80")
    total = sum(geod.geometry_length(g) for g in pack_layers["canal"].geometry)
    assert abs(total / 1000 - 134.2) <= 2.0, f"canal is {total / 1000:.2f} km"


def test_canal_osm_mainline_keeps_its_length(pack_layers):
    canal = pack_layers["canal"]
    main = canal[canal["精度"] == "OSM"]
    assert len(main) == 1
    assert Geod(ellps="GRS80").geometry_length(main.geometry.iloc[0]) == pytest.approx(
        120_472, abs=50
    )


def test_sea_approach_stays_in_water(pack_layers, land):
    canal = pack_layers["canal"]
    sea = canal[canal["精度"] == "schematic"].geometry.iloc[0]
    line = shapely.line_merge(sea)
    # trim 300 m (~0.003°) at each end: the approach starts at the 钦江 mouth on the shore
    inner = shapely.ops.substring(line, 0.003, line.length - 0.003)
    assert not inner.intersects(land)


def test_hubs_match_osm_reference_points(pack_layers):
    path = ROOT / "layers" / "sources" / "reference_points.csv"
    with path.open(encoding="utf-8") as fh:
        ref = {r["name"].split(" ")[0]: r for r in csv.DictReader(fh)}
    geod = Geod(ellps="GRS80")
    hubs = pack_layers["canal_hubs"]
    assert sorted(hubs["名称"]) == sorted(["马道枢纽", "企石枢纽", "青年枢纽"])
    for name, pt in zip(hubs["名称"], hubs.geometry, strict=True):
        r = ref[name]
        _, _, dist = geod.inv(pt.x, pt.y, float(r["lon"]), float(r["lat"]))
        assert dist < 1.0, f"{name} is {dist:.1f} m from its OSM position"
