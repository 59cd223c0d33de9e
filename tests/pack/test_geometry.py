"""Where the schematic geometry lies: no overlaps, inside the districts, where the seeds say."""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import LineString, Point

from qzgeo.geo.area import ellipsoidal_area

POLYGON_LAYERS = [
    "districts",
    "canal_zones",
    "canal_parks",
    "port_range",
    "port_core",
    "port_zones",
    "port_areas",
    "port_areas_startup",
    "hitech_park",
    "hitech_phases",
    "hitech_structure",
    "hitech_clusters",
]
ZONE_LAYERS = [
    "canal_parks",
    "port_core",
    "port_zones",
    "port_areas",
    "port_areas_startup",
    "hitech_park",
    "hitech_phases",
    "hitech_structure",
    "hitech_clusters",
]
QINZHOU_EAST_STATION = Point(108.6556, 21.9631)


def _area(geom: shapely.Geometry) -> float:
    return float(ellipsoidal_area([geom])[0])


def _inside_fraction(geom: shapely.Geometry, container: shapely.Geometry) -> float:
    return _area(geom.intersection(container)) / _area(geom)


def _one(gdf: gpd.GeoDataFrame, name: str) -> shapely.Geometry:
    rows = gdf[gdf["名称"] == name]
    assert len(rows) == 1, name
    return rows.geometry.iloc[0]


def _max_overlap_m2(geoms: list[shapely.Geometry]) -> float:
    worst = 0.0
    for a, b in itertools.combinations(geoms, 2):
        if a.intersects(b):
            worst = max(worst, _area(a.intersection(b)))
    return worst


@pytest.mark.parametrize("layer", POLYGON_LAYERS)
def test_features_of_one_layer_do_not_overlap(pack_layers, layer):
    assert _max_overlap_m2(list(pack_layers[layer].geometry)) < 1.0


@pytest.mark.parametrize("cls", ["生态保护红线", "永久基本农田", "城镇开发边界"])
def test_control_line_features_of_one_class_do_not_overlap(pack_layers, cls):
    cl = pack_layers["control_lines"]
    assert _max_overlap_m2(list(cl[cl["类别"] == cls].geometry)) < 1.0


def test_no_feature_is_empty_or_invalid(pack_layers):
    for name, gdf in pack_layers.items():
        assert len(gdf) > 0, name
        assert gdf.is_valid.all(), name
        assert not gdf.is_empty.any(), name
        assert gdf.crs.to_epsg() == 4490, name


def _edge_lengths_m(geoms) -> np.ndarray:
    """Geodesic length of every edge of every line and ring (pyproj.Geod, GRS80)."""
    parts = shapely.get_parts(np.asarray(geoms, dtype=object))
    rings = [
        r for p in parts for r in ([p.exterior, *p.interiors] if p.geom_type == "Polygon" else [p])
    ]
    xy, which = shapely.get_coordinates(np.asarray(rings, dtype=object), return_index=True)
    same = which[1:] == which[:-1]
    a, b = xy[:-1][same], xy[1:][same]
    return np.asarray(Geod(ellps="GRS80").inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])[2])


def test_no_stored_edge_is_longer_than_200_m(pack_layers):
    # the maps draw an edge straight in lon/lat, the analysis straight in EPSG:4545: over
    # 200 m they would part by more than ~0.3 mm (the literals' 11.6 km edges: 1.05 m)
    for name, gdf in pack_layers.items():
        if (gdf.geom_type == "Point").all():
            continue
        assert _edge_lengths_m(gdf.geometry.values).max() <= 201.0, name


@pytest.mark.parametrize("layer", ZONE_LAYERS)
def test_zones_lie_inside_the_converted_districts(pack_layers, district_union, layer):
    # the AMap districts include 茅尾海 and the 钦州港 reclamation, so this holds at sea too
    container = district_union.buffer(0.0005)
    for name, geom in zip(pack_layers[layer]["名称"], pack_layers[layer].geometry, strict=True):
        assert _inside_fraction(geom, container) >= 0.99, f"{layer} {name}"


def test_port_zones_are_on_land_or_recent_reclamation(pack_layers, land, build_pack):
    reclaimed = shapely.union_all([shapely.box(*b) for b in build_pack.RECLAMATION_BOXES.values()])
    buildable = shapely.union_all([land, reclaimed])
    for layer in ("port_zones", "port_areas", "port_core", "port_areas_startup"):
        gdf = pack_layers[layer]
        for name, geom in zip(gdf["名称"], gdf.geometry, strict=True):
            assert _inside_fraction(geom, buildable) >= 0.99, f"{layer} {name}"


def test_reclamation_allowance_is_only_at_the_port(build_pack):
    for name, (minx, miny, maxx, maxy) in build_pack.RECLAMATION_BOXES.items():
        assert 108.58 <= minx < maxx <= 108.75, name
        assert 21.58 <= miny < maxy <= 21.73, name


@pytest.mark.parametrize("layer", ["canal_parks", "hitech_park", "hitech_phases"])
def test_inland_zones_are_on_gshhg_land(pack_layers, land, layer):
    for name, geom in zip(pack_layers[layer]["名称"], pack_layers[layer].geometry, strict=True):
        assert _inside_fraction(geom, land) >= 0.99, f"{layer} {name}"


def test_port_zones_are_at_qinzhou_port(pack_layers):
    minx, miny, maxx, maxy = pack_layers["port_zones"].total_bounds
    assert minx >= 108.55 and maxx <= 108.78
    assert miny >= 21.57 and maxy <= 21.86


def test_port_zones_have_the_six_zones_and_chemicals_in_two_stages(pack_layers):
    zones = pack_layers["port_zones"]
    assert len(zones) == 7
    chem = zones[zones["名称"].str.startswith("绿色化工产业区")]
    assert sorted(chem["阶段"]) == ["近期", "远期"]
    assert {"先进制造区", "新能源汽车与海工装备区", "适箱产业区", "综合保税与集装箱物流区"} <= set(
        zones["名称"]
    )
    assert "现代服务业区" in set(zones["名称"])


def test_port_pieces_lie_in_the_port_range(pack_layers):
    rng = pack_layers["port_range"].geometry.iloc[0].buffer(1e-6)
    for layer in ("port_zones", "port_areas", "port_core", "port_areas_startup"):
        for name, geom in zip(pack_layers[layer]["名称"], pack_layers[layer].geometry, strict=True):
            assert _inside_fraction(geom, rng) >= 0.999, f"{layer} {name}"


def test_startup_zone_and_core_lie_in_the_zhongma_park(pack_layers):
    zhongma = _one(pack_layers["port_areas"], "中马钦州产业园区").buffer(1e-6)
    assert _one(pack_layers["port_areas_startup"], "中马钦州产业园区起步区").within(zhongma)
    assert _one(pack_layers["port_core"], "自贸新城产城融合中心").within(zhongma)


def test_bonded_zone_is_at_dalanping(pack_layers):
    bonded = _one(pack_layers["port_areas"], "钦州综合保税区")
    # the 大榄坪 label point of 钦州保税港区 (reference notes) is within 1.5 km of it
    assert bonded.distance(Point(108.647304, 21.674497)) < 0.015


def test_hitech_park_holds_qinzhou_east_station_east_of_the_river(pack_layers, pack_layers_canal):
    park = pack_layers["hitech_park"].geometry.iloc[0]
    assert park.contains(QINZHOU_EAST_STATION)
    assert not park.intersects(pack_layers_canal)
    minx, miny, maxx, maxy = park.bounds
    assert minx >= 108.63 and maxx <= 108.73 and miny >= 21.90 and maxy <= 22.0


def test_hitech_park_is_mostly_in_qinnan(pack_layers):
    d = pack_layers["districts"]
    qinnan = _one(d, "钦南区")
    assert _inside_fraction(pack_layers["hitech_park"].geometry.iloc[0], qinnan) >= 0.95


@pytest.fixture(scope="module")
def pack_layers_canal(pack_layers) -> shapely.Geometry:
    return shapely.union_all(pack_layers["canal"].geometry.values)


def _river_lon_at(canal: shapely.Geometry, lat: float) -> float:
    cut = canal.intersection(LineString([(108.55, lat), (108.70, lat)]))
    return float(np.mean(shapely.get_coordinates(cut)[:, 0]))


def test_phase_three_is_west_of_the_river_and_outside_the_park(pack_layers, pack_layers_canal):
    hexi = _one(pack_layers["hitech_phases"], "三期（河西科教园）")
    park = pack_layers["hitech_park"].geometry.iloc[0]
    assert _area(hexi.intersection(park)) < 1.0
    assert not hexi.intersects(pack_layers_canal)
    c = hexi.centroid
    assert c.x < _river_lon_at(pack_layers_canal, c.y)


@pytest.mark.parametrize("name", ["一期", "二期", "黎合江工业园"])
def test_phases_one_two_and_lihejiang_lie_in_the_park(pack_layers, name):
    park = pack_layers["hitech_park"].geometry.iloc[0]
    assert _inside_fraction(_one(pack_layers["hitech_phases"], name), park) >= 0.999


def test_structure_and_clusters_lie_in_the_park(pack_layers):
    park = pack_layers["hitech_park"].geometry.iloc[0]
    for layer in ("hitech_structure", "hitech_clusters"):
        for geom in pack_layers[layer].geometry:
            assert _inside_fraction(geom, park) >= 0.999, layer


def test_wings_flank_the_spine(pack_layers):
    s = pack_layers["hitech_structure"]
    west, spine, east = (_one(s, n) for n in ("西翼", "活力之脊", "东翼"))
    assert west.centroid.x < spine.centroid.x < east.centroid.x


def test_canal_parks_are_beside_the_canal_in_their_districts(pack_layers, pack_layers_canal):
    parks = pack_layers["canal_parks"]
    d = pack_layers["districts"]
    expect = {
        "陆屋临港产业园": "灵山县",
        "平吉临港产业园": "钦北区",
        "钦南区化纤纺织产业园": "钦南区",
    }
    for name, district in expect.items():
        geom = _one(parks, name)
        assert _inside_fraction(geom, _one(d, district)) >= 0.95, name
        assert geom.distance(pack_layers_canal) < 0.015, f"{name} is not beside the canal"
        assert 1e6 <= _area(geom) <= 8e6, f"{name} should be a few km²"
    assert _one(parks, "陆屋临港产业园").distance(Point(108.9462385, 22.2839567)) < 0.02


def test_mangrove_parts_lie_mostly_on_the_sea_side(pack_layers, land):
    cl = pack_layers["control_lines"]
    parts = cl[cl["名称"].str.startswith("茅尾海红树林自然保护区")]
    for name, geom in zip(parts["名称"], parts.geometry, strict=True):
        assert _inside_fraction(geom, land) < 0.5, name


def test_qishierjing_respects_its_southern_edge(pack_layers):
    part = _one(pack_layers["control_lines"], "茅尾海红树林自然保护区（七十二泾片）")
    assert part.bounds[1] >= 21.0 + 44 / 60 + 35 / 3600 - 1e-6


def test_control_lines_make_conflicts_for_the_analysis(pack_layers):
    cl = pack_layers["control_lines"]
    farm = shapely.union_all(cl[cl["类别"] == "永久基本农田"].geometry.values)
    udb = shapely.union_all(cl[cl["类别"] == "城镇开发边界"].geometry.values)
    canal_zones = shapely.union_all(pack_layers["canal_zones"].geometry.values)
    parks = pack_layers["canal_parks"]
    assert _area(farm.intersection(canal_zones)) > 1e6
    assert _area(farm.intersection(shapely.union_all(parks.geometry.values))) > 1e4
    for name in ("陆屋临港产业园", "平吉临港产业园"):
        covered = _inside_fraction(_one(parks, name), udb)
        assert 0.05 < covered < 0.95, f"{name}: the town boundary should cover it only partly"


def test_port_and_city_lie_mostly_inside_the_urban_boundary(pack_layers):
    cl = pack_layers["control_lines"]
    udb = shapely.union_all(cl[cl["类别"] == "城镇开发边界"].geometry.values)
    assert _inside_fraction(pack_layers["hitech_park"].geometry.iloc[0], udb) >= 0.8
    near = pack_layers["port_zones"][pack_layers["port_zones"]["阶段"] != "远期"]
    assert _inside_fraction(shapely.union_all(near.geometry.values), udb) >= 0.8
