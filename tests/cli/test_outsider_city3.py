"""Outsider round city3: a GIS officer of a third city (哈尔滨, GK zone 42, EPSG:4551) builds a
pack from the docs only (`qzgeo new-pack`, then edits) and makes the mistakes real authors
make. Only the public command is used."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import shapely
from click.testing import CliRunner, Result
from pyproj import Geod

from qzgeo.cli.main import cli

CENTER = "126.6,45.75"  # 哈尔滨: CM 126E, EPSG:4551 (not the bundled pack's EPSG:4545)


def _run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def _pack(tmp_path: Path, title: str = "某市规划分区") -> Path:
    pack = tmp_path / "harbin"
    res = _run("new-pack", pack, "--center", CENTER, "--title", title)
    assert res.exit_code == 0, res.output
    return pack


def _catalog(pack: Path) -> Path:
    return pack / "layers" / "catalog.toml"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (old, text)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _report(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "internal" / "report.json").read_text("utf-8"))
    return data


def test_validate_shows_the_warnings_publish_gives(tmp_path: Path) -> None:
    """An extent that covers the layers only in part, and a catalog `crs` on a file that has
    its own CRS: `publish` warns (stderr and report.json); `validate`, the command the guide
    says to run after each change, said only 'OK'."""
    pack = _pack(tmp_path)
    old, new = "extent = [126.1, 45.25, 127.1, 46.25]", "extent = [126.6, 45.25, 127.1, 46.25]"
    _edit(_catalog(pack), old, new)
    _edit(_catalog(pack), 'path = "zones.geojson"', 'path = "zones.geojson"\ncrs = "EPSG:4530"')
    out = tmp_path / "out"
    pub = _run("publish", "--pack", pack, "--out", out)
    assert pub.exit_code == 0, pub.output
    warnings = _report(out)["warnings"]
    assert any("partly outside the pack extent" in w for w in warnings), warnings
    assert any("EPSG:4530" in w for w in warnings), warnings
    val = _run("validate", "--pack", pack)
    assert val.exit_code == 0, val.output
    for w in warnings:
        assert w in val.stderr, (w, val.stderr)


def test_ignored_catalog_crs_names_the_catalog_not_an_option(tmp_path: Path) -> None:
    """`crs =` in catalog.toml on a file with its own CRS is ignored; the warning said
    `--crs EPSG:4530 ... is ignored`, an option the author never gave."""
    pack = _pack(tmp_path)
    _edit(_catalog(pack), 'path = "zones.geojson"', 'path = "zones.geojson"\ncrs = "EPSG:4530"')
    out = tmp_path / "out"
    assert _run("publish", "--pack", pack, "--out", out).exit_code == 0
    (w,) = [w for w in _report(out)["warnings"] if "EPSG:4530" in w]
    assert "--crs" not in w, w
    assert "catalog.toml" in w and "`crs`" in w and "zones" in w, w


def _zones(pack: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((pack / "layers" / "zones.geojson").read_text("utf-8"))
    return data


def test_overlapping_zones_of_one_layer_are_a_warning(tmp_path: Path) -> None:
    """Two zones of one layer that overlap (a digitising slip): each row of zone_summary counts
    the shared land, the headline total counts it once, and nothing said so."""
    pack = _pack(tmp_path)
    doc = _zones(pack)
    second = json.loads(json.dumps(doc["features"][0]))
    second["properties"]["名称"] = "示例二期"
    ring = [[126.6, 45.74], [126.62, 45.74], [126.62, 45.76], [126.6, 45.76], [126.6, 45.74]]
    second["geometry"]["coordinates"] = [ring]
    doc["features"].append(second)
    (pack / "layers" / "zones.geojson").write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    out = tmp_path / "out"
    pub = _run("publish", "--pack", pack, "--out", out)
    assert pub.exit_code == 0, pub.output
    overlap = shapely.box(126.6, 45.74, 126.61, 45.76)
    expect = abs(Geod(ellps="GRS80").geometry_area_perimeter(shapely.segmentize(overlap, 1e-4))[0])
    (w,) = [w for w in _report(out)["warnings"] if "overlap" in w]
    assert "示例分区" in w and "示例二期" in w and "zones" in w, w
    said = float(re.search(r"([\d,]+) m²", w).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert said == pytest.approx(expect, rel=1e-4), (expect, w)
    assert w in pub.stderr
    val = _run("validate", "--pack", pack)
    assert val.exit_code == 0 and w in val.stderr, val.output


def test_toml_typo_is_one_problem_not_a_cascade(tmp_path: Path) -> None:
    """An unclosed string in catalog.toml: the syntax error, then every style table and map
    layer reported as 'not in the catalog; known layers are ' (an empty list)."""
    pack = _pack(tmp_path)
    _edit(_catalog(pack), 'role = "zone"', 'role = "zone')
    res = _run("validate", "--pack", pack)
    assert res.exit_code == 2
    assert "not valid TOML" in res.output and "line" in res.output
    assert "known layers are \n" not in res.output + "\n", res.output
    assert "no [[layers]] entries" not in res.output, res.output
    assert "1 problem(s)" in res.output, res.output


@pytest.mark.parametrize("title", ["哈尔滨市规划分区（示意）", "哈尔滨市规划分区"])
def test_new_pack_title_is_marked_once(tmp_path: Path, title: str) -> None:
    """The guide's example title ends in （示意）; the overview map read 「…（示意）（示意）」."""
    pack = _pack(tmp_path, title)
    text = (pack / "maps" / "overview.toml").read_text(encoding="utf-8")
    assert "（示意）（示意）" not in text
    assert "示意" in text.split("title = ", 1)[1].splitlines()[0]


def _harbin_parcels(tmp_path: Path) -> Path:
    """Two parcels of 500 m x 500 m in 哈尔滨 (126.6°E, GK zone 42), lon/lat GeoJSON."""
    src = tmp_path / "parcels.geojson"
    feats = [
        {
            "type": "Feature",
            "properties": {"地块名称": name},
            "geometry": shapely.geometry.mapping(shapely.box(lon, 45.75, lon + 0.0064, 45.7545)),
        }
        for name, lon in (("地块一", 126.60), ("地块二", 126.61))
    ]
    src.write_text(json.dumps({"type": "FeatureCollection", "features": feats}), "utf-8")
    return src


def test_convert_zone_out_of_range_is_exit_2(tmp_path: Path) -> None:
    """`--zone 99` crashed with a ValueError traceback from deep in the writer."""
    res = _run("convert", _harbin_parcels(tmp_path), tmp_path / "out.txt", "--zone", "99")
    assert res.exit_code == 2, (res.exit_code, res.output, res.exception)
    assert "--zone" in res.output and "99" in res.output and "25" in res.output, res.output


@pytest.mark.parametrize(("zone", "prefix"), [("36", True), ("40", False)])
def test_convert_zone_far_from_the_data_is_refused(tmp_path: Path, zone: str, prefix: bool) -> None:
    """A 哈尔滨 officer copies the README's `--zone 36` (钦州): the 界址点 file came out with
    eastings 1 450 km from the central meridian, which qzgeo itself then refused to read."""
    out = tmp_path / "out.txt"
    args = ["convert", _harbin_parcels(tmp_path), out, "--zone", zone]
    res = _run(*args, *([] if prefix else ["--no-prefix"]))
    assert res.exit_code == 2, (res.exit_code, res.output, res.exception)
    assert "Traceback" not in res.output
    assert f"zone {zone}" in res.output and "--zone 42" in res.output, res.output
    assert not out.exists()


def test_convert_zone_of_the_data_round_trips(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    res = _run("convert", _harbin_parcels(tmp_path), out, "--zone", "42")
    assert res.exit_code == 0, res.output
    back = tmp_path / "back.geojson"
    assert _run("convert", out, back, "--to-crs", "EPSG:4490").exit_code == 0
    geod = Geod(ellps="GRS80")
    for feat in json.loads(back.read_text("utf-8"))["features"]:
        poly = shapely.geometry.shape(feat["geometry"])
        m2 = abs(geod.geometry_area_perimeter(shapely.geometry.polygon.orient(poly))[0])
        expect = abs(geod.geometry_area_perimeter(shapely.box(126.6, 45.75, 126.6064, 45.7545))[0])
        assert m2 == pytest.approx(expect, abs=1.0)  # vertices to the mm: ≤ 2 km x 0.5 mm


def test_convert_zone_with_another_format_is_not_silently_ignored(tmp_path: Path) -> None:
    """`--zone 42` with a .gpkg output did nothing and said nothing."""
    res = _run("convert", _harbin_parcels(tmp_path), tmp_path / "out.gpkg", "--zone", "42")
    assert res.exit_code == 0, res.output
    assert "--zone" in res.stderr and ".txt" in res.stderr, res.stderr


def test_constraint_class_without_a_style_class_is_a_warning(tmp_path: Path) -> None:
    """The author adds 永久基本农田 to `constraint_classes` and to the data but not to the style:
    the internal map drew the red line as a grey outline under 「其他 Other」, and validate
    said OK."""
    pack = _pack(tmp_path)
    _edit(
        _catalog(pack),
        '"生态保护红线" = "exclusion",',
        '"生态保护红线" = "exclusion", "永久基本农田" = "exclusion",',
    )
    lines = pack / "layers" / "control_lines.geojson"
    doc = json.loads(lines.read_text("utf-8"))
    farm = json.loads(json.dumps(doc["features"][0]))
    farm["properties"] = {"名称": "示例农田", "类别": "永久基本农田"}
    doc["features"].append(farm)
    lines.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    val = _run("validate", "--pack", pack)
    assert val.exit_code == 0, val.output
    assert "永久基本农田" in val.stderr and "styles/layers.toml" in val.stderr, val.stderr
    assert '[control_lines.classes."永久基本农田"]' in val.stderr, val.stderr
    out = tmp_path / "out"
    assert _run("publish", "--pack", pack, "--out", out).exit_code == 0
    assert any("永久基本农田" in w for w in _report(out)["warnings"])
