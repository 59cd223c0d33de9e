"""The catalog, styles and maps of the bundled pack agree with the data."""

from __future__ import annotations

import pyogrio
import pytest
from support import ROOT

from qzgeo.pack.catalog import load_pack
from qzgeo.pack.model import PRECISIONS

LAYERS = ROOT / "layers"
GPKG = LAYERS / "qinzhou.gpkg"


ALLOWED_FEATURE_PRECISION = {"real", "OSM", "calibrated-schematic", "schematic"}


@pytest.fixture(scope="module")
def pack():
    return load_pack(ROOT)


def test_pack_loads_without_problems(pack):
    assert pack.problems == []
    assert pack.name == "qinzhou"
    assert pack.storage_crs == "EPSG:4490"
    assert pack.planar_crs == "EPSG:4545"
    assert pack.notice.startswith("示意")
    assert "OpenStreetMap" in pack.attribution and "GSHHG" in pack.attribution


def test_catalog_and_gpkg_hold_the_same_layers(pack):
    in_gpkg = {name for name, _ in pyogrio.list_layers(GPKG)}
    assert {s.layer for s in pack.layers.values()} == in_gpkg
    for spec in pack.layers.values():
        assert spec.path == "qinzhou.gpkg" and spec.layer == spec.id
        assert spec.precision in PRECISIONS
        assert spec.name_field == "名称"


def test_every_feature_has_source_and_precision(pack_layers):
    for name, gdf in pack_layers.items():
        assert {"名称", "来源", "精度"} <= set(gdf.columns), name
        assert gdf["来源"].notna().all() and (gdf["来源"].str.len() > 3).all(), name
        assert set(gdf["精度"]) <= ALLOWED_FEATURE_PRECISION, name


def test_publish_and_class_fields_exist(pack, pack_layers):
    for spec in pack.layers.values():
        cols = set(pack_layers[spec.id].columns)
        assert set(spec.publish_fields) <= cols, spec.id
        if spec.class_field:
            values = set(pack_layers[spec.id][spec.class_field])
            assert set(spec.constraint_classes) <= values, spec.id


def test_constraint_semantics(pack):
    cl = pack.layers["control_lines"]
    assert not cl.is_public
    assert cl.constraint_mode("生态保护红线") == "exclusion"
    assert cl.constraint_mode("永久基本农田") == "exclusion"
    assert cl.constraint_mode("城镇开发边界") == "boundary"
    cz = pack.layers["canal_zones"]
    assert cz.constraint_mode("运河管理范围") == "exclusion"
    assert cz.constraint_mode("运河保护范围") is None


def test_canal_widths_come_from_params(pack, pack_layers):
    from pyproj import Geod

    from qzgeo.geo.area import ellipsoidal_area

    length = sum(Geod(ellps="GRS80").geometry_length(g) for g in pack_layers["canal"].geometry)
    zones = pack_layers["canal_zones"].set_index("类别")
    w_man = pack.params["canal_management_half_width_m"]
    w_pro = pack.params["canal_protection_half_width_m"]
    man = ellipsoidal_area([zones.geometry["运河管理范围"]])[0]
    pro = ellipsoidal_area([zones.geometry["运河保护范围"]])[0]
    # a buffer of a winding line is a bit less than 2 * width * length
    assert man == pytest.approx(2 * w_man * length, rel=0.05)
    assert pro == pytest.approx(2 * (w_pro - w_man) * length, rel=0.15)


def test_public_layers_publish_no_internal_fields(pack):
    for spec in pack.layers.values():
        if spec.is_public:
            assert spec.role != "constraint" or spec.id == "canal_zones"


def test_maps_reference_catalog_layers_and_respect_audience(pack):
    assert set(pack.maps) == {"overview", "port", "hitech", "canal", "conflicts"}
    for m in pack.maps.values():
        for lid in m.layers:
            assert lid in pack.layers, (m.id, lid)
            if m.sensitivity == "public":
                assert pack.layers[lid].is_public, (m.id, lid)
    assert pack.maps["conflicts"].sensitivity == "internal"
    assert set(pack.maps["conflicts"].analysis) == {"available_land", "conflicts"}
    assert "control_lines" in pack.maps["conflicts"].layers
    overview = set(pack.maps["overview"].layers)
    assert {"districts", "sea", "coastline", "canal", "canal_zones", "canal_parks"} <= overview
    assert {"port_range", "hitech_park"} <= overview


def test_every_layer_and_analysis_output_is_styled(pack, pack_layers):
    for lid in [*pack.layers, "available_land", "conflicts"]:
        assert lid in pack.styles, lid
    for lid, style in pack.styles.items():
        field = style.class_field or (pack.layers[lid].class_field if lid in pack.layers else None)
        if lid in pack_layers and field and style.classes:
            assert set(style.classes) <= set(pack_layers[lid][field]), lid
    conflicts = pack.styles["conflicts"]
    assert conflicts.class_field == "类别"
    assert set(conflicts.classes) == {
        "生态保护红线",
        "永久基本农田",
        "运河管理范围",
        "城镇开发边界外",
    }
    cl = pack.styles["control_lines"].classes
    assert cl["永久基本农田"].pattern == "stripe"
    assert cl["城镇开发边界"].dash and cl["城镇开发边界"].fill_opacity == 0.0
