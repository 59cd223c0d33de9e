"""publish_maps: content of the pages, privacy, escaping, determinism, atomicity."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
import shapely
from _publish_helpers import HOSTILE, SECRET, SENS, Built, config_of

import qzgeo.io.atomic
import qzgeo.publish.maps
from qzgeo._errors import OutputError, PublishError
from qzgeo.geo.gcj02 import wgs84_to_gcj02
from qzgeo.publish import assets
from qzgeo.publish.basemaps import TIANDITU_NOTE
from qzgeo.publish.maps import publish_maps


def publish(b: Built, out: Path, **kw):
    kw.setdefault("analysis_sensitivity", SENS)
    return publish_maps(b.pack, b.layers, b.analysis, out, **kw)


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def without_leaflet(html: str) -> str:
    """The page minus the verbatim Leaflet library (its licence header names leafletjs.com)
    and its Content-Security-Policy (which names the tile hosts, checked in tests/cli)."""
    js = assets.leaflet_js_inline()
    assert js in html
    html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    return html.replace(js, "")


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def features(html: str, layer_id: str) -> list[dict]:
    cfg = config_of(html)
    (lay,) = [x for x in cfg["layers"] if x["id"] == layer_id]
    return lay["data"]["features"]


def all_coords(obj) -> list[float]:
    if isinstance(obj, (int, float)):
        return [obj]
    return [c for item in obj for c in all_coords(item)]


def test_writes_one_page_per_map_and_gallery(built: Built, tmp_path: Path) -> None:
    res = publish(built, tmp_path / "out")
    assert sorted(p.name for p in res.paths) == [
        "amap_map.html",
        "internal_map.html",
        "public_map.html",
    ]
    assert res.index == tmp_path / "out" / "public" / "index.html"
    assert res.galleries["internal"] == tmp_path / "out" / "internal" / "index.html"
    assert res.maps["internal_map"].parent.name == "internal"
    assert res.maps["public_map"].parent.name == "public"
    assert res.manifest.is_file()
    assert set(res.maps) == {"public_map", "internal_map", "amap_map"}


def test_offline_page_inlines_leaflet_and_nothing_else_from_the_web(
    built: Built, tmp_path: Path
) -> None:
    res = publish(built, tmp_path / "out")
    for path in res.paths:
        html = read(path)
        assert "<script src" not in html and "<link" not in html
        assert assets.leaflet_js_inline() in html
        assert 'L.version="1.9.3"' in html or 't.version="1.9.3"' in html
        assert "url(images/" not in html and "data:image/png;base64," in html
        for banned in ("jquery", "bootstrap", "awesome-markers", "fontawesome", "font-awesome"):
            assert banned not in html.lower(), (path.name, banned)
        assert "sourceMappingURL" not in html
    urls = {
        p.stem: set(re.findall(r"https?://[^\s\"'<>]+", without_leaflet(read(p))))
        for p in res.paths
    }
    assert urls["public_map"] == {"https://tile.openstreetmap.org/{z}/{x}/{y}.png"}
    assert urls["internal_map"] == set()  # basemap = "none": no URL at all
    assert all(u.startswith("https://webrd0{s}.is.autonavi.com/") for u in urls["amap_map"])


def test_only_publish_fields_are_embedded(built: Built, tmp_path: Path) -> None:
    res = publish(built, tmp_path / "out")
    for path in [*res.paths, res.index, res.manifest]:
        assert SECRET not in read(path), path.name
        assert "内部编号" not in read(path), path.name
    html = read(res.maps["public_map"])
    assert {tuple(sorted(f["properties"])) for f in features(html, "zones")} == {
        ("名称", "类型", "面积_ha")
    }
    assert {tuple(f["properties"]) for f in features(html, "available_land")} == {
        ("名称", "area_ha", "area_mu")
    }
    internal = read(res.maps["internal_map"])
    assert {tuple(f["properties"]) for f in features(internal, "conflicts")} == {
        ("名称", "类别", "area_ha", "area_mu")
    }


def test_coordinates_have_at_most_six_decimals(built: Built, tmp_path: Path) -> None:
    # shift by a non-representable offset so that unrounded output would show long decimals
    for gdf in built.layers.values():
        gdf.geometry = gdf.geometry.translate(1 / 3 * 1e-3, 1 / 7 * 1e-3)
    res = publish(built, tmp_path / "out")
    for path in res.paths:
        cfg = config_of(read(path))
        text = json.dumps([lay["data"] for lay in cfg["layers"]])
        assert re.findall(r"\d+\.\d{7,}", text) == [], path.name
        coords = [
            c
            for lay in cfg["layers"]
            for f in lay["data"]["features"]
            for c in all_coords(f["geometry"]["coordinates"])
        ]
        assert coords and all(abs(c * 1e6 - round(c * 1e6)) < 1e-6 for c in coords)


def test_hostile_values_only_appear_escaped(built: Built, tmp_path: Path) -> None:
    res = publish(built, tmp_path / "out")
    for path in res.paths:
        html = read(path)
        assert "<img src=x" not in html
        assert "<script>window.__pwned" not in html
        assert "</script><script>" not in html
        assert "<b>一" not in html
        assert "\u2028" not in html and "\u2029" not in html
        assert not re.search(r"href\s*=\s*[\"']?\s*javascript:", html, re.I)
        assert "\\u003cimg src=x onerror=window.__pwned=1\\u003e" in html
        # the jinja-looking value is neither evaluated by folium/branca nor altered: it is
        # embedded as JSON with its openers \u-escaped (JSON.parse restores it exactly)
        assert "\\u007b{ 7*7 }}\\u007b% if true %}jinja\\u007b% endif %}" in html
        assert "jinja" not in html.replace("\\u007b% if true %}jinja", "")
        names = {f["properties"]["名称"] for f in features(html, "zones")}
        assert set(HOSTILE) <= names  # every value survives exactly, as data
    # values never reach JavaScript source: the only script blocks are the libraries,
    # the JSON document and folium's fixed map set-up
    html = read(res.maps["public_map"])
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert all("__pwned" not in s for s in scripts)


def test_public_map_with_internal_layer_fails_before_writing(built: Built, tmp_path: Path) -> None:
    built.write_map(
        "leak",
        """
        title = "泄露"
        audience = "public"
        layers = ["zones", "secret_lines"]
        """,
    )
    out = tmp_path / "out"
    with pytest.raises(PublishError) as err:
        publish(built, out)
    msg = str(err.value)
    assert "maps/leak.toml" in msg and "'secret_lines'" in msg
    assert "audience = 'internal'" in msg  # the fix
    assert not out.exists()  # nothing written, not even the valid maps


def test_public_map_with_internal_analysis_fails(built: Built, tmp_path: Path) -> None:
    built.write_map(
        "leak2",
        """
        title = "泄露"
        audience = "public"
        layers = ["zones"]
        analysis = ["conflicts"]
        """,
    )
    with pytest.raises(PublishError, match=r"maps/leak2.toml.*'conflicts'.*internal"):
        publish(built, tmp_path / "out")
    # the same map is fine once the analysis is declared public
    publish(
        built,
        tmp_path / "out",
        analysis_sensitivity={"available_land": "public", "conflicts": "public"},
    )


def test_public_map_styled_by_unpublished_field_fails(built: Built, tmp_path: Path) -> None:
    cat = built.root / "layers" / "catalog.toml"
    cat.write_text(
        read(cat).replace(
            'publish_fields = ["名称", "类型", "面积_ha"]', 'publish_fields = ["名称"]'
        ),
        encoding="utf-8",
    )
    from qzgeo.pack.catalog import load_pack

    built.pack = load_pack(built.root)
    with pytest.raises(
        PublishError, match=r"public_map.toml: layer 'zones' is styled by field '类型'"
    ):
        publish(built, tmp_path / "out")


def test_missing_column_is_reported(built: Built, tmp_path: Path) -> None:
    built.layers["zones"] = built.layers["zones"].drop(columns=["类型"])
    with pytest.raises(PublishError, match=r"layer 'zones' has no column\(s\) \['类型'\]"):
        publish(built, tmp_path / "out")


def test_rebuild_is_byte_identical(built: Built, tmp_path: Path) -> None:
    extra = {"inputs": {"zones.geojson": "sha256:abc"}}
    a = publish(built, tmp_path / "a", manifest_extra=extra)
    b = publish(built, tmp_path / "b", manifest_extra=extra)
    assert tree(tmp_path / "a") == tree(tmp_path / "b")
    for path in a.paths:
        # no random folium/branca element ids, no timestamps
        assert not re.search(r"_[0-9a-f]{32}\b", read(path))
        assert not re.search(r"20\d\d-\d\d-\d\dT\d\d:", read(path))
    assert b.warnings == a.warnings


def test_legend_follows_the_styles(built: Built, tmp_path: Path) -> None:
    html = read(publish(built, tmp_path / "out").maps["public_map"])
    cfg = config_of(html)
    legend = {lay["id"]: lay["legend"] for lay in cfg["layers"]}
    assert [e["label"] for e in legend["zones"]] == [
        "工业用地 Industrial",
        "物流用地 Logistics",
        "居住用地 Residential",
        "其他 Other",  # "未分类" has no style of its own
    ]
    assert legend["zones"][0]["symbol"]["fill"] == "#e78ac3"
    assert legend["ctrl"][0]["symbol"]["pattern"] == "stripe"
    assert legend["axis"][0]["symbol"]["dash"] == "8 4"
    assert [e["label"] for e in legend["available_land"]] == ["可用地"]
    groups = {lay["id"]: lay["group"] for lay in cfg["layers"]}
    assert groups == {
        "zones": "规划分区",
        "ctrl": "控制线",
        "axis": "通道",  # role corridor: not a control line
        "hubs": "底图",
        "available_land": "分析结果",
    }
    # drawing order: polygons (base, zones, control lines, analysis), then lines, then points
    assert [lay["id"] for lay in cfg["layers"]] == [
        "zones",
        "ctrl",
        "available_land",
        "axis",
        "hubs",
    ]
    assert cfg["order"] == ["zones", "ctrl", "axis", "available_land", "hubs"]
    assert cfg["notice"] == "示意图，仅供测试。"
    assert any("© OpenStreetMap contributors" in p for p in cfg["provenance"])
    assert any(p.startswith("规划分区：tests（CC0") for p in cfg["provenance"])


def test_atomic_write_keeps_previous_maps_when_rendering_fails(
    built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    publish(built, out)
    before = tree(out)
    real = qzgeo.publish.maps.render_page
    calls = []

    def flaky(page, views, **kw):
        calls.append(page.id)
        if len(calls) == 2:
            raise RuntimeError("injected failure")
        return real(page, views, **kw)

    monkeypatch.setattr(qzgeo.publish.maps, "render_page", flaky)
    built.layers["zones"].loc[0, "名称"] = "改名"
    with pytest.raises(RuntimeError, match="injected"):
        publish(built, out)
    assert tree(out) == before


def test_atomic_write_keeps_previous_file_when_the_write_fails(
    built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    publish(built, out)
    before = tree(out)

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(qzgeo.io.atomic.os, "replace", broken_replace)
    built.layers["zones"].loc[0, "名称"] = "改名"
    with pytest.raises(OutputError, match="previous file is unchanged"):
        publish(built, out)
    assert tree(out) == before  # no temp files left


def test_amap_basemap_shifts_overlays_to_gcj02(built: Built, tmp_path: Path) -> None:
    res = publish(built, tmp_path / "out")
    wgs = features(read(res.maps["public_map"]), "zones")
    gcj = features(read(res.maps["amap_map"]), "zones")
    a = np.array(wgs[0]["geometry"]["coordinates"][0])
    b = np.array(gcj[0]["geometry"]["coordinates"][0])
    d = b - a
    assert np.all((d[:, 0] > 0.003) & (d[:, 0] < 0.005))  # ~ +0.004 degree east
    assert np.all((d[:, 1] < -0.002) & (d[:, 1] > -0.004))
    exp_lon, exp_lat = wgs84_to_gcj02(a[:, 0], a[:, 1])
    assert np.allclose(b[:, 0], exp_lon, atol=1.5e-6)
    assert np.allclose(b[:, 1], exp_lat, atol=1.5e-6)
    cfg = config_of(read(res.maps["amap_map"]))
    assert any("GCJ-02" in p for p in cfg["provenance"])


def test_tianditu_without_key_is_left_out_with_a_warning(built: Built, tmp_path: Path) -> None:
    res = publish(built, tmp_path / "out")
    assert any("天地图" in w and "QZGEO_TIANDITU_KEY" in w for w in res.warnings)
    html = read(res.maps["public_map"])
    assert "tianditu.gov.cn" not in html and "tianditu_vec" not in html
    assert config_of(html)["warnings"] == [TIANDITU_NOTE]
    assert [b["id"] for b in config_of(html)["basemaps"]] == ["osm"]


def test_tianditu_key_from_environment(
    built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QZGEO_TIANDITU_KEY", "abc123&x=<1>")
    res = publish(built, tmp_path / "out")
    assert not any("tianditu" in w for w in res.warnings)
    cfg = config_of(read(res.maps["public_map"]))
    bases = {b["id"]: b for b in cfg["basemaps"]}
    assert set(bases) == {"osm", "tianditu_vec", "tianditu_img"}
    assert len(bases["tianditu_vec"]["urls"]) == 2  # vec_w + cva_w
    assert "/vec_w/wmts?" in bases["tianditu_vec"]["urls"][0]
    assert "/cia_w/wmts?" in bases["tianditu_img"]["urls"][1]
    assert bases["tianditu_vec"]["urls"][0].endswith("tk=abc123%26x%3D%3C1%3E")
    assert cfg["warnings"] == []
    assert "abc123" not in read(res.manifest)


def test_every_page_carries_leaflet_and_links_no_script(built: Built, tmp_path: Path) -> None:
    """No CDN at all (the --online build linked jsDelivr): each page has its own Leaflet."""
    res = publish(built, tmp_path / "out")
    pages = sorted((tmp_path / "out").rglob("*.html"))
    assert len(pages) >= 4
    for page in pages:
        html = read(page)
        assert "<script src=" not in html and "<link rel=" not in html, page.name
        assert not re.search(r"https?://(?!www\.w3\.org/)[^\s\"']*\.(?:js|css)\b", html)
    for html in map(read, res.maps.values()):
        assert assets.leaflet_js_inline() in html


def test_gallery_and_manifest(built: Built, tmp_path: Path) -> None:
    extra = {"input_sha256": {"zones.geojson": "0" * 64}}
    res = publish(built, tmp_path / "out", manifest_extra=extra)
    # the internal gallery lists every map; the public one only the public maps
    index = read(res.galleries["internal"])
    for title in ("公开示意图", "内部图", "高德底图"):
        assert f"<h2>{title}</h2>" in index
    assert index.count('class="card"') == 3
    assert index.count("<svg") == 3 and "<path d=" in index
    assert "公开 Public" in index and "内部 Internal" in index
    assert 'href="../public/public_map.html"' in index
    assert "<script" not in index
    public = read(res.index)
    assert public.count('class="card"') == 2 and "内部图" not in public
    assert 'href="public_map.html"' in public and "内部 Internal" not in public
    assert json.loads(read(res.manifest))["inputs"] == {}
    man = json.loads(read(res.galleries["internal"].with_name("manifest.json")))
    assert man["inputs"] == extra
    assert "offline" not in man["build"] and man["build"]["tianditu_key"] == "missing"
    assert {"folium", "xstatic-leaflet", "shapely", "geos"} <= set(man["packages"])
    for entry in man["maps"]:
        data = (tmp_path / "out" / "internal" / entry["file"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert man["warnings"] == res.warnings


def test_hostile_map_title_is_escaped(built: Built, tmp_path: Path) -> None:
    built.write_map(
        "evil",
        """
        title = "</title><script>window.__pwned=9</script>"
        audience = "internal"
        layers = ["zones"]
        basemap = "none"
        description = "<img src=x onerror=alert(1)>"
        """,
    )
    res = publish(built, tmp_path / "out")
    html = read(res.maps["evil"])
    assert "<title>&lt;/title&gt;&lt;script&gt;window.__pwned=9&lt;/script&gt;</title>" in html
    assert "<script>window.__pwned=9" not in html
    index = read(res.galleries["internal"])
    assert "<script>window.__pwned=9" not in index and "<img src=x" not in index
    assert "&lt;img src=x onerror=alert(1)&gt;" in index


def test_large_coverage_is_simplified_and_stays_a_coverage(built: Built, tmp_path: Path) -> None:
    zones = built.layers["zones"]
    zones.geometry = shapely.segmentize(np.asarray(zones.geometry.values), 2e-5)
    assert shapely.get_num_coordinates(np.asarray(zones.geometry.values)).sum() > 5000
    res = publish(built, tmp_path / "out", only=["internal_map"])
    cfg = config_of(read(res.maps["internal_map"]))
    (lay,) = [x for x in cfg["layers"] if x["id"] == "zones"]
    geoms = [shapely.geometry.shape(f["geometry"]) for f in lay["data"]["features"]]
    assert sum(shapely.get_num_coordinates(geoms)) < 100
    assert shapely.coverage_is_valid(np.asarray(geoms, dtype=object))
    assert any("规划分区" in p and "容差 1 m" in p and "覆盖简化" in p for p in cfg["provenance"])


def test_empty_geometries_are_reported_not_silently_dropped(built: Built, tmp_path: Path) -> None:
    built.layers["hubs"].loc[0, "geometry"] = None
    res = publish(built, tmp_path / "out")
    assert any("layer 'hubs': 1 feature(s) without geometry" in w for w in res.warnings)
    assert len(features(read(res.maps["public_map"]), "hubs")) == 1


def test_only_and_unknown_map(built: Built, tmp_path: Path) -> None:
    res = publish(built, tmp_path / "out", only=["internal_map"])
    assert [p.name for p in res.paths] == ["internal_map.html"]
    assert read(res.galleries["internal"]).count('class="card"') == 1
    assert read(res.index).count('class="card"') == 0
    with pytest.raises(PublishError, match="unknown map id"):
        publish(built, tmp_path / "out", only=["nope"])


def test_big_layers_use_the_compact_renderer(
    built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("qzgeo.publish.biglayer")
    monkeypatch.setattr(qzgeo.publish.maps, "BIG_LAYER_FEATURES", 3)
    res = publish(built, tmp_path / "out", only=["internal_map"])
    html = read(res.maps["internal_map"])
    cfg = config_of(html)
    (zones,) = [x for x in cfg["layers"] if x["id"] == "zones"]
    assert zones["data"] is None  # not embedded as GeoJSON
    assert "L.QzgeoBigLayer" in html
    assert re.search(
        r'qzgeo\.finish\(qz_build_\d+, \{\s*"zones": \(typeof qzgeo_big_layer_\d+', html
    )
    assert SECRET not in html
    again = publish(built, tmp_path / "again", only=["internal_map"])
    assert read(again.maps["internal_map"]) == html


def test_id_like_values_are_not_rewritten(built: Built, tmp_path: Path) -> None:
    value = "layer_" + "0123456789abcdef" * 2  # looks like a folium element name
    built.layers["zones"].loc[0, "名称"] = value
    html = read(publish(built, tmp_path / "out").maps["internal_map"])
    assert value in {f["properties"]["名称"] for f in features(html, "zones")}


def test_big_integers_and_missing_dates_reach_the_page_as_they_are() -> None:
    # A 19-digit code kept as an integer came out as a JSON number, which the browser rounds
    # to a double (4611686018427387905 shown as 4,611,686,018,427,388,000); a missing date
    # came out as the text "NaT"
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import Point

    from qzgeo.publish.prepare import prepare_layer, to_feature_collection

    gdf = gpd.GeoDataFrame(
        {
            "代码": pd.array([2**62 + 1, -(2**53) - 1, 2**53], dtype="int64"),
            "日期": pd.to_datetime(["2024-01-02", None, None]),
        },
        geometry=[Point(108.6, 21.7), Point(108.61, 21.7), Point(108.62, 21.7)],
        crs="EPSG:4490",
    )
    prepared = prepare_layer(gdf, fields=["代码", "日期"], what="layer 'z'")
    props = [f["properties"] for f in to_feature_collection(prepared)["features"]]
    assert [p["代码"] for p in props] == ["4611686018427387905", "-9007199254740993", 2**53]
    assert [p["日期"] for p in props] == ["2024-01-02T00:00:00", None, None]


def test_page_areas_are_printed_as_in_the_tables() -> None:
    # m² to 2 decimals, 公顷 to 6 and 亩 to 5 (README): the conflicts page showed 亩 and m²
    # to 6 decimals, other numbers keep 6
    import geopandas as gpd
    from shapely.geometry import Point

    from qzgeo.publish.prepare import prepare_layer, to_feature_collection

    m2 = 1234.5678901
    gdf = gpd.GeoDataFrame(
        {"area_m2": [m2], "area_ha": [m2 / 1e4], "area_mu": [m2 * 15 / 1e4], "w": [0.123456789]},
        geometry=[Point(108.6, 21.7)],
        crs="EPSG:4490",
    )
    fields = ["area_m2", "area_ha", "area_mu", "w"]
    prepared = prepare_layer(gdf, fields=fields, what="layer 'z'")
    (feature,) = to_feature_collection(prepared)["features"]
    # by hand: 1234.5678901 m² = 0.12345678901 公顷 = 1.85185183515 亩
    assert feature["properties"] == {
        "area_m2": "1234.57", "area_ha": "0.123457", "area_mu": "1.85185", "w": 0.123457
    }  # fmt: skip
    # fixed notation: a JSON number dropped the trailing zeros (2.5 公顷 beside 2.500000)
    gdf = gdf.assign(area_m2=[2500.0], area_ha=[0.25], area_mu=[3.75])
    (feature,) = to_feature_collection(prepare_layer(gdf, fields=fields, what="z"))["features"]
    assert [feature["properties"][f] for f in fields[:3]] == ["2500.00", "0.250000", "3.75000"]
