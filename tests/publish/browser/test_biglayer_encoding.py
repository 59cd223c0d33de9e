"""BigPolygonLayer without a browser: encoding round trip, escaping, determinism, bad input."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from _biglayer_helpers import HOSTILE, decode_payload, offline_html, parcel_map, voronoi_parcels
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Point, Polygon, box

from qzgeo._errors import CRSError, GeometryError, PublishError
from qzgeo.publish.biglayer import BigPolygonLayer, _varints, _zigzag, js_json


@pytest.fixture(scope="module")
def parcels() -> gpd.GeoDataFrame:
    return voronoi_parcels(300, seed=1)


def _mixed() -> gpd.GeoDataFrame:
    """Holes, multipolygons, a clockwise exterior, an empty and a null geometry."""
    x0, y0 = 108.6, 21.9
    donut = Polygon(
        [(x0, y0), (x0 + 0.01, y0), (x0 + 0.01, y0 + 0.01), (x0, y0 + 0.01)],
        [[(x0 + 0.003, y0 + 0.003), (x0 + 0.006, y0 + 0.003), (x0 + 0.006, y0 + 0.006)]],
    )
    multi = MultiPolygon(
        [box(x0 + 0.02, y0, x0 + 0.03, y0 + 0.01), box(x0 + 0.04, y0, x0 + 0.05, y0 + 0.002)]
    )
    clockwise = Polygon([(x0, y0 + 0.02), (x0, y0 + 0.03), (x0 + 0.01, y0 + 0.02)])
    geoms = [donut, multi, clockwise, Polygon(), None]
    return gpd.GeoDataFrame({"k": ["a", "b", "c", "d", "e"]}, geometry=geoms, crs="EPSG:4326")


@pytest.mark.parametrize("precision", [1e-6, 1e-5])
def test_round_trip_matches_input_within_precision(parcels, precision):
    layer = BigPolygonLayer(parcels, name="p", precision=precision)
    payload, decoded = decode_payload(layer)
    assert payload["n"][0] == len(parcels) == layer.n_features
    for original, got in zip(parcels.geometry, decoded, strict=True):
        assert got is not None
        # every decoded vertex is the input vertex rounded to the grid (half a quantum per axis)
        assert shapely.hausdorff_distance(original, got) <= precision * 0.71
        assert got.area == pytest.approx(original.area, abs=original.length * precision)


def test_round_trip_of_holes_multiparts_and_empties():
    gdf = _mixed()
    layer = BigPolygonLayer(gdf, name="mixed")
    payload, decoded = decode_payload(layer)
    assert payload["n"][0] == 5
    for original, got in zip(gdf.geometry[:3], decoded[:3], strict=True):
        assert got.geom_type == original.geom_type
        assert shapely.hausdorff_distance(original, got) <= 1e-6
        assert got.area == pytest.approx(original.area, abs=original.length * 1e-6)
    assert len(decoded[0].interiors) == 1
    assert len(decoded[1].geoms) == 2
    # exteriors counter-clockwise and holes clockwise, as the nonzero canvas fill needs
    assert decoded[0].exterior.is_ccw and not decoded[0].interiors[0].is_ccw
    assert decoded[2].exterior.is_ccw
    assert decoded[3] is None and decoded[4] is None
    assert payload["bounds"] == [
        [pytest.approx(21.9), pytest.approx(108.6)],
        [pytest.approx(21.93), pytest.approx(108.65)],
    ]


def test_simplify_reduces_vertices_and_stays_close(parcels):
    dense = parcels.copy()
    dense["geometry"] = shapely.segmentize(np.asarray(dense.geometry.array), 0.00005)
    plain = BigPolygonLayer(dense, name="p")
    simple = BigPolygonLayer(dense, name="p", simplify_m=1.0)
    assert simple.n_vertices < plain.n_vertices / 2
    _, decoded = decode_payload(simple)
    for original, got in zip(parcels.geometry, decoded, strict=True):
        assert shapely.hausdorff_distance(original, got) < 2e-5  # ~1 m plus quantum


@given(st.lists(st.integers(min_value=-(2**31), max_value=2**31 - 1), max_size=200))
def test_zigzag_varints_round_trip(values):
    from _biglayer_helpers import _varints as decode

    raw = decode(
        __import__("base64")
        .b64encode(_varints(_zigzag(np.array(values, dtype=np.int64))))
        .decode(),
        len(values),
    )
    back = np.where(raw % 2 == 1, -(raw + 1) // 2, raw // 2)
    assert back.tolist() == values


def test_classes_and_default_style(parcels):
    gdf = parcels.copy()
    gdf.loc[gdf.index[:3], "cls"] = None
    layer = BigPolygonLayer(
        gdf,
        name="p",
        style_by="cls",
        styles={"R": {"fillColor": "#f00"}, "G": {"fillColor": "#0f0"}},
    )
    payload = json.loads(layer.payload_js)
    cls = np.frombuffer(__import__("base64").b64decode(payload["cls"]), dtype=np.uint8)
    expected = gdf["cls"].map({"R": 1, "G": 2}).fillna(0).astype(int).to_numpy()
    assert cls.tolist() == expected.tolist()
    assert payload["styles"][1] == {"fillColor": "#f00"}


def test_tooltip_columns_are_deduplicated_text(parcels):
    layer = BigPolygonLayer(parcels, name="p", tooltip_fields=["cls", "area_mu"])
    tt = json.loads(layer.payload_js)["tooltip"]
    assert tt["fields"] == tt["aliases"] == ["cls", "area_mu"]
    texts = [tt["dict"][i] for i in tt["columns"][0]]
    assert texts == parcels["cls"].tolist()
    assert len([s for s in tt["dict"] if s in {"R", "G", "M", "W"}]) == 4
    # 亩 to 5 decimals (0.01 m²) as every table and page prints it, not 10 digits
    shown = [tt["dict"][i] for i in tt["columns"][1]]
    assert all(len(t.partition(".")[2]) <= 5 for t in shown), shown[:3]
    for text, v in zip(shown, parcels["area_mu"], strict=True):
        assert abs(float(text) - float(v)) <= 0.5e-5 + 1e-12, (text, v)


def test_tooltip_areas_are_printed_as_in_the_tables(parcels):
    # m² to 2 decimals, 公顷 to 6, 亩 to 5 (README), as a small layer's popup; it was 10
    # significant digits; other numbers keep them
    gdf = parcels.iloc[:1].copy()
    m2 = 749922.629989274
    gdf["area_m2"], gdf["area_ha"], gdf["area_mu"], gdf["w"] = m2, m2 / 1e4, m2 * 15 / 1e4, 1 / 3
    fields = ["area_m2", "area_ha", "area_mu", "w"]
    tt = json.loads(BigPolygonLayer(gdf, name="p", tooltip_fields=fields).payload_js)["tooltip"]
    # by hand: 749922.629989274 m² = 74.9922629989274 公顷 = 1124.883944983911 亩
    want = ["749922.63", "74.992263", "1124.88394", "0.3333333333"]
    assert [tt["dict"][col[0]] for col in tt["columns"]] == want


def test_missing_tooltip_values_are_marked(parcels):
    gdf = parcels.head(3).copy()
    gdf["note"] = [None, float("nan"), "x"]
    tt = json.loads(BigPolygonLayer(gdf, name="p", tooltip_fields=["note"]).payload_js)["tooltip"]
    assert tt["columns"][0][:2] == [-1, -1]
    assert tt["dict"][tt["columns"][0][2]] == "x"


@pytest.mark.parametrize("text", [*HOSTILE, "a\u2028b\u2029c", "中文</SCRIPT >", "{{{%{#\\{{"])
def test_js_json_escapes_markup_and_line_terminators(text):
    out = js_json({"v": text})
    for bad in ("<", ">", "&", "\u2028", "\u2029", "{{", "{%", "{#"):
        assert bad not in out
    assert json.loads(out) == {"v": text}


def test_hostile_tooltips_do_not_reach_html_raw(parcels):
    m, layer = parcel_map(parcels)
    html = m.get_root().render()
    # what the page holds decodes back to the literal strings (no Jinja evaluation: "49")
    start = html.index(f"var {layer.get_name()} = new L.QzgeoBigLayer(") + len(
        f"var {layer.get_name()} = new L.QzgeoBigLayer("
    )
    payload, _ = json.JSONDecoder().raw_decode(html, start)
    assert set(HOSTILE) <= set(payload["tooltip"]["dict"])
    assert "{{" not in html and "{%" not in html
    for text in HOSTILE:
        if set(text) & set("<>&\u2028\u2029"):
            assert text not in html
    assert "window.__pwned" in html  # the payload is there, only escaped
    assert html.lower().count("</script") == html.lower().count("<script")


def test_rebuild_is_byte_identical(parcels):
    first = offline_html(parcel_map(parcels)[0])
    second = offline_html(parcel_map(parcels.copy())[0])
    assert first == second
    assert "qzgeo_big_layer_" in first


def test_id_depends_on_name_and_data(parcels):
    a = BigPolygonLayer(parcels, name="a").get_name()
    assert a == BigPolygonLayer(parcels, name="a").get_name()
    assert a != BigPolygonLayer(parcels, name="b").get_name()
    assert a != BigPolygonLayer(parcels.head(10), name="a").get_name()


def test_layer_control_and_bounds(parcels):
    m, layer = parcel_map(parcels)
    html = m.get_root().render()
    assert f": {layer.get_name()}," in html  # listed as an overlay
    assert f"{layer.get_name()}.addTo(" in html
    assert html.count("L.QzgeoBigLayer = L.Layer.extend") == 1
    minx, miny, maxx, maxy = parcels.total_bounds
    assert m.get_bounds() == [
        [pytest.approx(miny), pytest.approx(minx)],
        [pytest.approx(maxy), pytest.approx(maxx)],
    ]


def test_hidden_layer_is_not_added(parcels):
    m, layer = parcel_map(parcels, show=False)
    assert f"{layer.get_name()}.addTo(" not in m.get_root().render()


def test_two_layers_share_one_copy_of_the_code(parcels):
    m, _ = parcel_map(parcels)
    BigPolygonLayer(parcels.head(20), name="second").add_to(m)
    assert m.get_root().render().count("L.QzgeoBigLayer = L.Layer.extend") == 1


def test_input_is_not_modified(parcels):
    before = parcels.copy()
    BigPolygonLayer(parcels, name="p", simplify_m=5, style_by="cls", tooltip_fields=["parcel"])
    assert parcels.equals(before)
    assert parcels.geometry.geom_equals_exact(before.geometry, 0).all()


@pytest.mark.parametrize(
    ("mutate", "kw", "error", "match"),
    [
        (lambda g: g.set_crs(None, allow_override=True), {}, CRSError, "no CRS"),
        (lambda g: g.to_crs("EPSG:4545"), {}, CRSError, "to_crs"),
        (
            lambda g: g.set_crs("EPSG:4490", allow_override=True).assign(
                geometry=g.geometry.scale(1000, 1000, origin=(0, 0))
            ),
            {},
            CRSError,
            "not degrees",
        ),
        (lambda g: g, {"style_by": "nope"}, PublishError, "nope"),
        (lambda g: g, {"tooltip_fields": ["x"]}, PublishError, "'x'"),
        (
            lambda g: g,
            {"tooltip_fields": ["cls"], "tooltip_aliases": []},
            PublishError,
            "one label",
        ),
        (lambda g: g, {"styles": {"R": {"fill_color": "#f00"}}}, PublishError, "fill_color"),
        (lambda g: g, {"default_style": {"weight": float("nan")}}, PublishError, "NaN"),
        (lambda g: g, {"precision": 0}, PublishError, "precision"),
        (lambda g: g, {"simplify_m": -1}, PublishError, "simplify_m"),
        (lambda g: g, {"name": ""}, PublishError, "name"),
    ],
)
def test_bad_input_is_a_clear_error(parcels, mutate, kw, error, match):
    with pytest.raises(error, match=match):
        BigPolygonLayer(mutate(parcels.head(5)), **{"name": "p", **kw})


def test_non_polygons_are_refused_with_rows():
    gdf = gpd.GeoDataFrame(geometry=[box(108, 21, 108.1, 21.1), Point(108, 21)], crs="EPSG:4490")
    with pytest.raises(GeometryError, match=r"1 feature.*Point.*\[1\]"):
        BigPolygonLayer(gdf, name="p")


def test_empty_layer_renders():
    gdf = gpd.GeoDataFrame({"k": []}, geometry=[], crs="EPSG:4490")
    layer = BigPolygonLayer(gdf, name="empty", tooltip_fields=["k"])
    payload = json.loads(layer.payload_js)
    assert payload["n"] == [0, 0, 0, 0] and payload["bounds"] is None
    assert layer._get_self_bounds() == [[None, None], [None, None]]


def test_boolean_tooltips_read_shi_and_fou(parcels):
    # planners read 是/否, not True/False or true/false; a missing value stays missing
    gdf = parcels.head(4).copy()
    gdf["plain"] = [True, False, True, False]
    gdf["nullable"] = pd.array([True, None, False, True], dtype="boolean")
    gdf["mixed"] = np.array([True, None, False, np.bool_(True)], dtype=object)
    layer = BigPolygonLayer(gdf, name="p", tooltip_fields=["plain", "nullable", "mixed"])
    tt = json.loads(layer.payload_js)["tooltip"]
    texts = [[None if i < 0 else tt["dict"][i] for i in col] for col in tt["columns"]]
    assert texts == [["是", "否", "是", "否"], ["是", None, "否", "是"], ["是", None, "否", "是"]]
    assert not {"True", "False", "true", "false"} & set(tt["dict"])
