"""The QGIS project (``<pack>.gpkg`` + ``<pack>.qgz``) opened by the real QGIS.

The bundled pack is loaded and analysed as ``qzgeo publish`` does, the project is written, and
``qgis_probe.py`` runs under Debian's ``/usr/bin/python3`` (python3-qgis) to open it, load each
GeoPackage layer on its own (so that QGIS applies the ``layer_styles`` default style) and render
PNGs. Expected colours come from ``styles/*.toml`` read here with :mod:`tomllib`, not from
qzgeo's style reader. Without QGIS the QGIS tests skip, unless ``QZGEO_REQUIRE_QGIS=1`` (CI).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import tomllib
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import pytest

from qzgeo._errors import PublishError
from qzgeo.analysis.zones import analyze_pack
from qzgeo.pack.catalog import load_pack
from qzgeo.pack.load import load_pack_layers
from qzgeo.pack.model import LayerStyle, Symbol
from qzgeo.pack.validate import validate_pack
from qzgeo.publish.qgis import write_qgis_project
from qzgeo.publish.qml import LayerSymbology, layer_qml, layer_sld

QGIS_PYTHON = "/usr/bin/python3"
PROBE = Path(__file__).with_name("qgis_probe.py")
GROUP_OF_ROLE = {"zone": "规划分区", "constraint": "控制线", "corridor": "通道", "base": "底图"}
QGIS_STYLE_COLUMNS = (
    *("f_table_catalog", "f_table_schema", "f_table_name", "f_geometry_column"),
    *("styleName", "styleQML", "styleSLD", "useAsDefault", "description", "owner", "ui"),
    "update_time",
)
KIND_RANK = {2: 0, 1: 1, 0: 2}  # QgsWkbTypes geometry type: polygons under lines under points


def _qgis_env() -> dict[str, str]:
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": ""}


def _qgis_importable() -> bool:
    try:
        done = subprocess.run(
            [QGIS_PYTHON, "-c", "import qgis.core"],
            env=_qgis_env(),
            capture_output=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@pytest.fixture(scope="module")
def qgis_python() -> str:
    if not _qgis_importable():
        msg = f"{QGIS_PYTHON} cannot import qgis: apt-get install python3-qgis qgis-providers"
        if os.environ.get("QZGEO_REQUIRE_QGIS") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    return QGIS_PYTHON


@pytest.fixture(scope="module")
def bundled() -> dict[str, Any]:
    pack = load_pack()
    validate_pack(pack)
    loaded = load_pack_layers(pack)
    result = analyze_pack(loaded)
    analysis = {
        "available_land": result.available_land,
        "conflicts": result.conflicts,
        "zone_summary": result.zone_summary,
    }
    return {"pack": pack, "loaded": loaded, "analysis": analysis}


def _write(bundled: dict[str, Any], out: Path) -> list[Path]:
    return write_qgis_project(
        pack=bundled["pack"],
        layers=bundled["loaded"].layers,
        analysis=bundled["analysis"],
        out_dir=out,
        planar_crs=bundled["loaded"].planar_crs,
    )


@pytest.fixture(scope="module")
def project(bundled: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return _write(bundled, tmp_path_factory.mktemp("qgis") / "out")


@pytest.fixture(scope="module")
def probe(project: list[Path], bundled: dict[str, Any], qgis_python: str) -> dict[str, Any]:
    gpkg, qgz = project
    pack = bundled["pack"]
    spec: dict[str, Any] = {
        "qgz": str(qgz),
        "gpkg": str(gpkg),
        "png": str(gpkg.with_name("project.png")),
        "out": str(gpkg.with_name("probe.json")),
        "views": {m.id: [*m.layers, *m.analysis] for m in pack.maps.values()},
    }
    spec_path = gpkg.with_name("spec.json")
    spec_path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    done = subprocess.run(
        [qgis_python, str(PROBE), str(spec_path)],
        env=_qgis_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report: dict[str, Any] = json.loads(Path(spec["out"]).read_text(encoding="utf-8"))
    report["stderr"] = done.stderr
    return report


def test_qgis_gdal_reads_the_gpkg_without_a_version_warning(probe: dict[str, Any]) -> None:
    # GDAL 3.9+ writes GeoPackage 1.4 by default; QGIS 3.22's GDAL (3.6) then warned on every
    # layer it opened that the file "may only be partially supported". qzgeo writes 1.2.
    assert "user_version" not in probe["stderr"]
    assert "partially supported" not in probe["stderr"]


# --- the files, without QGIS --------------------------------------------------------------


def test_files_are_reproducible_and_relative(
    bundled: dict[str, Any], project: list[Path], tmp_path: Path
) -> None:
    gpkg, qgz = project
    pack = bundled["pack"]
    assert (gpkg.name, qgz.name) == (f"{pack.name}.gpkg", f"{pack.name}.qgz")
    again = _write(bundled, tmp_path / "again")
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in project]
    names = [str(n) for n, _ in pyogrio.list_layers(gpkg)]
    assert names == [*pack.layers, *bundled["analysis"], "layer_styles"]
    with zipfile.ZipFile(qgz) as zf:
        assert zf.namelist() == [f"{pack.name}.qgs"]
        qgs = zf.read(f"{pack.name}.qgs").decode("utf-8")
    assert str(gpkg.parent) not in qgs and str(tmp_path) not in qgs
    root = ET.fromstring(qgs.split("\n", 1)[1])
    sources = [el.text or "" for el in root.iter("datasource")]
    assert sorted(sources) == sorted(f"./{gpkg.name}|layername={n}" for n in names[:-1])
    assert not [p for p in gpkg.parent.iterdir() if p.name.startswith(".")]  # no temp files


def test_layer_styles_table_follows_the_qgis_convention(project: list[Path]) -> None:
    gpkg, _ = project
    with sqlite3.connect(gpkg) as con:
        cols = [r[1] for r in con.execute("PRAGMA table_info(layer_styles)")]
        rows = con.execute(
            "SELECT f_table_catalog, f_table_schema, f_table_name, f_geometry_column, "
            "styleQML, styleSLD, useAsDefault FROM layer_styles"
        ).fetchall()
        geom_cols = dict(
            con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns").fetchall()
        )
    assert set(QGIS_STYLE_COLUMNS) <= set(cols)
    assert sorted(r[2] for r in rows) == sorted(geom_cols)
    for catalog, schema, table, geom, qml, sld, default in rows:
        assert (catalog, schema, default, geom) == ("", "", 1, geom_cols[table])
        assert ET.fromstring(qml.split("\n", 1)[1]).tag == "qgis"
        assert ET.fromstring(sld.split("\n", 1)[1]).tag.endswith("StyledLayerDescriptor")


def test_missing_style_column_is_refused_before_writing(
    bundled: dict[str, Any], tmp_path: Path
) -> None:
    layers = dict(bundled["loaded"].layers)
    layers["port_zones"] = layers["port_zones"].drop(columns=["名称"])
    with pytest.raises(PublishError, match=r"port_zones.*'名称'"):
        write_qgis_project(
            pack=bundled["pack"],
            layers=layers,
            analysis=bundled["analysis"],
            out_dir=tmp_path / "out",
        )
    assert not (tmp_path / "out").exists()


def test_hostile_class_values_survive_as_xml_text() -> None:
    hostile = "<img src=x onerror=1>&\"'</qgis>"
    style = LayerStyle("t", Symbol(fill="#112233"), classes={hostile: Symbol(fill="#abcdef")})
    sym = LayerSymbology("t", "polygon", style, class_field="类<别>", label_field="名&称")
    root = ET.fromstring(layer_qml(sym).split("\n", 1)[1])
    renderer = root.find("renderer-v2")
    assert renderer is not None and renderer.get("attr") == "类<别>"
    assert [c.get("value") for c in renderer.iter("category")] == [hostile, ""]
    text = root.find("labeling/settings/text-style")
    assert text is not None and text.get("fieldName") == "名&称"
    ET.fromstring(layer_sld(sym).split("\n", 1)[1])


def test_control_characters_in_class_values_leave_well_formed_xml() -> None:
    """A stray \x0b or \x00 (a DBF's garbage, a catalog escape) made QML that QGIS refused
    as not well-formed; such characters draw nothing and are left out."""
    odd = "生态\x0b保护\x00红线\x1f"
    style = LayerStyle("t", Symbol(fill="#112233"), classes={odd: Symbol(fill="#abcdef")})
    sym = LayerSymbology("t", "polygon", style, class_field="类别", label_field="名称")
    root = ET.fromstring(layer_qml(sym).split("\n", 1)[1])  # the parser is the oracle
    assert [c.get("value") for c in root.iter("category")] == ["生态保护红线", ""]
    ET.fromstring(layer_sld(sym).split("\n", 1)[1])


# --- opened by QGIS -----------------------------------------------------------------------


def _toml_styles(pack_root: Path) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for path in sorted((pack_root / "styles").glob("*.toml")):
        out.update(tomllib.loads(path.read_text(encoding="utf-8")))
    return out


def _hex_alpha(colour: str, opacity: float) -> str:
    return colour.lower() + f"{round(opacity * 255):02x}"


def _expected_fill_and_stroke(layer: dict[str, Any], cls: dict[str, Any]) -> dict[str, Any]:
    merged = {**{k: v for k, v in layer.items() if not isinstance(v, dict)}, **cls}
    defaults = Symbol()
    return {
        "fill": merged.get("fill"),
        "fill_opacity": merged.get("fill_opacity", defaults.fill_opacity),
        "stroke": merged.get("stroke", defaults.stroke),
        "opacity": merged.get("opacity", defaults.opacity),
        "weight": merged.get("weight", defaults.weight),
        "dash": merged.get("dash"),
        "pattern": merged.get("pattern"),
        "pattern_color": merged.get("pattern_color"),
    }


def _check_polygon_symbol(symbol: dict[str, Any], want: dict[str, Any], where: str) -> None:
    by_class: dict[str, list[dict[str, Any]]] = {}
    for sl in symbol["layers"]:
        by_class.setdefault(sl["class"], []).append(sl)
    fill = by_class["SimpleFill"][0]
    if want["fill"] and want["fill_opacity"] > 0:
        assert fill["color"] == _hex_alpha(want["fill"], want["fill_opacity"]), where
    else:
        assert fill["style"] == "no", where
    if want["weight"] == 0:
        assert "SimpleLine" not in by_class, where
        return
    outline = by_class["SimpleLine"][0]
    assert outline["width"] == pytest.approx(want["weight"] * 25.4 / 96, abs=1e-4), where
    assert outline["color"] == _hex_alpha(want["stroke"], want["opacity"]), where
    assert (outline["custom_dash"] is not None) == bool(want["dash"]), where
    if want["pattern"] == "stripe":
        hatch = by_class["LinePatternFill"][0]
        colour = (want["pattern_color"] or want["stroke"]).lower()
        assert hatch["color"].startswith(colour), where
    else:
        assert "LinePatternFill" not in by_class, where


def test_qgis_opens_every_layer(probe: dict[str, Any], bundled: dict[str, Any]) -> None:
    pack = bundled["pack"]
    assert probe["read"] is True
    assert probe["crs"] == bundled["loaded"].planar_crs.to_string()
    assert probe["ellipsoid"] == "EPSG:1024"  # CGCS2000, for measuring in QGIS
    frames = {**bundled["loaded"].layers, **bundled["analysis"]}
    assert sorted(probe["layers"]) == sorted(frames)
    for name, info in probe["layers"].items():
        assert info["valid"], name
        assert info["features"] == len(frames[name]), name
        assert Path(info["source"].split("|")[0]).parent.name == "out"  # resolved beside .qgz
        if name in pack.layers:
            assert info["name"] == pack.layers[name].title


def test_class_colours_match_styles_toml(probe: dict[str, Any], bundled: dict[str, Any]) -> None:
    pack = bundled["pack"]
    styles = _toml_styles(pack.root)
    checked = 0
    for name, info in probe["layers"].items():
        raw = styles.get(name)
        if raw is None:
            continue
        classes = raw.get("classes", {})
        if classes:
            field = raw.get("class_field") or pack.layers[name].class_field
            assert (info["type"], info["attr"]) == ("categorizedSymbol", field), name
            cats = {c["value"]: c for c in info["categories"]}
            assert set(cats) == {*classes, ""}, name  # "" = all other values
            for value, craw in classes.items():
                want = _expected_fill_and_stroke(raw, craw)
                _check_polygon_symbol(cats[value]["symbol"], want, f"{name} {value}")
                assert cats[value]["label"] == craw.get("legend", value)
                checked += 1
        else:
            assert info["type"] == "singleSymbol", name
            want = _expected_fill_and_stroke(raw, {})
            symbol = info["symbol"]
            if info["geometry"] == 2:
                _check_polygon_symbol(symbol, want, name)
            elif info["geometry"] == 1:
                line = symbol["layers"][0]
                assert line["color"] == _hex_alpha(want["stroke"], want["opacity"]), name
                assert (line["custom_dash"] is not None) == bool(want["dash"]), name
            else:
                marker = symbol["layers"][0]
                assert marker["class"] == "SimpleMarker"
                assert marker["color"] == _hex_alpha(want["fill"], want["fill_opacity"]), name
                assert marker["stroke"] == _hex_alpha(want["stroke"], want["opacity"]), name
        if raw.get("label_field"):
            assert info["label_field"] == raw["label_field"], name
    assert checked >= 20


def test_loading_the_gpkg_directly_applies_the_default_style(probe: dict[str, Any]) -> None:
    for name, info in probe["layers"].items():
        direct = probe["direct"][name]
        assert direct["valid"], name
        for key in ("type", "attr", "categories", "symbol", "labels", "label_field"):
            assert direct.get(key) == info.get(key), (name, key)


def test_groups_and_drawing_order_follow_the_maps(
    probe: dict[str, Any], bundled: dict[str, Any]
) -> None:
    pack = bundled["pack"]
    ids = {info["id"]: name for name, info in probe["layers"].items()}
    groups = {g: [ids[i] for i in members] for g, members in probe["groups"].items()}
    assert list(groups) == ["规划分区", "控制线", "通道", "分析结果", "底图"]
    for group, members in groups.items():
        for name in members:
            role = pack.layers[name].role if name in pack.layers else None
            assert group == GROUP_OF_ROLE.get(role or "", "分析结果"), name
    assert probe["has_custom_order"]
    bottom_up = [ids[i] for i in reversed(probe["layer_order"])]
    assert sorted(bottom_up) == sorted(probe["layers"])
    kinds = [KIND_RANK[probe["layers"][n]["geometry"]] for n in bottom_up]
    assert kinds == sorted(kinds)  # polygons, then lines, then points
    group_of = {n: g for g, members in groups.items() for n in members}
    for mspec in pack.maps.values():
        listed = [*mspec.layers, *mspec.analysis]
        for kind in set(kinds):
            for group in groups:
                same = [
                    n
                    for n in listed
                    if group_of[n] == group and KIND_RANK[probe["layers"][n]["geometry"]] == kind
                ]
                assert [n for n in bottom_up if n in same] == same, mspec.id
    on_maps = {n for m in pack.maps.values() for n in (*m.layers, *m.analysis)}
    assert {ids[i] for i in probe["visible"]} == on_maps


def test_rendered_png_shows_the_styles(probe: dict[str, Any]) -> None:
    from PIL import Image

    renders = {"project": probe["render"], **probe["views"]}
    for name, render in renders.items():
        assert render["errors"] == [], name
        assert (render["width"], render["height"]) == (1280, 900)
        assert render["painted_samples"] > 100, name
    colours: dict[str, set[str]] = {}
    for name, render in renders.items():
        with Image.open(render["png"]) as im:
            pixels = np.unique(np.asarray(im.convert("RGB")).reshape(-1, 3), axis=0)
        colours[name] = {"#{:02x}{:02x}{:02x}".format(*(int(v) for v in px)) for px in pixels}
    # opaque strokes of styles/*.toml, drawn exactly on the maps that show them
    assert {"#e00000", "#7b1fa2", "#1f6fb2"} <= colours["project"]
    assert {"#6b4f33", "#c2185b", "#e65100"} <= colours["port"]
    assert "#e00000" not in colours["port"]  # the public port map shows no red line


def test_analysis_titles_match_the_web_maps() -> None:
    from qzgeo.publish.maps import ANALYSIS_TITLES
    from qzgeo.publish.qgis import ANALYSIS_LAYER_TITLES

    for name, title in ANALYSIS_TITLES.items():
        assert ANALYSIS_LAYER_TITLES[name] == title


def test_publish_writes_the_project_and_lists_it(minipack: Path, tmp_path: Path) -> None:
    from qzgeo.pipeline import run_publish

    summary = run_publish(minipack, tmp_path / "out")
    name = summary.pack.name
    internal = tmp_path / "out" / "internal"  # the project holds internal layers
    gpkg, qgz = internal / f"{name}.gpkg", internal / f"{name}.qgz"
    assert not list((tmp_path / "out" / "public").glob(f"{name}.*"))
    assert gpkg in summary.outputs and qgz in summary.outputs
    listed = set(pyogrio.list_layers(gpkg)[:, 0])
    want = {*summary.pack.layers, "available_land", "conflicts", "zone_summary", "layer_styles"}
    assert listed == want
