"""Issue 10: caps on vertices, features and titles; escaped terminal output; warnings for
duplicate GeoJSON ids.

Options assumed: ``--max-vertices N`` (per feature) and ``--max-features N`` (per layer) on
``publish``, ``check``, ``analyze``, ``convert``, ``validate`` and ``suitability``; refusals name
the layer, the count, the cap and the option that raises it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from packs import all_output, assert_no_traceback, edit_catalog, run_cli, write_map

LON, LAT = 108.64, 21.68  # near the minipack squares


def _ring(n: int, r_deg: float = 0.005) -> list[list[float]]:
    pts = [
        [LON + r_deg * math.cos(2 * math.pi * i / n), LAT + r_deg * math.sin(2 * math.pi * i / n)]
        for i in range(n)
    ]
    return [*pts, pts[0]]


def _fc(features: list[dict]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)


def _polygon_feature(n: int, name: str = "大图斑", fid: int | None = None) -> dict:
    f: dict = {
        "type": "Feature",
        "properties": {"名称": name, "来源": "test", "精度": "schematic"},
        "geometry": {"type": "Polygon", "coordinates": [_ring(n)]},
    }
    if fid is not None:
        f["id"] = fid
    return f


def _add_big_layer(mini: Path, n: int) -> None:
    (mini / "layers" / "big.geojson").write_text(_fc([_polygon_feature(n)]), encoding="utf-8")

    def fn(doc: dict) -> None:
        doc["layers"].append(
            {
                "id": "big",
                "title": "大图层",
                "role": "base",
                "path": "big.geojson",
                "sensitivity": "public",
                "publish_fields": ["名称"],
                "source": "generated",
                "licence": "CC0-1.0",
                "precision": "schematic",
            }
        )

    edit_catalog(mini, fn)
    write_map(
        mini,
        "zones",
        title="测试分区图",
        audience="public",
        layers=["zones", "big"],
        basemap="none",
    )


def _assert_cap_refusal(result, option: str, *names: str) -> None:
    assert_no_traceback(result)
    text = all_output(result)
    assert "No such option" not in text, f"{option} is not an option yet: {text}"
    assert result.exit_code == 2, text
    assert option in text, text
    for n in names:
        assert n in text, (n, text)


def test_publish_refuses_feature_over_vertex_cap(mini: Path, tmp_path: Path) -> None:
    _add_big_layer(mini, 3000)
    result = run_cli("publish", "--pack", mini, "--out", tmp_path / "o", "--max-vertices", "1000")
    _assert_cap_refusal(result, "--max-vertices", "big", "1000")
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").rglob("*.html"))


def test_publish_vertex_cap_can_be_raised(mini: Path, tmp_path: Path) -> None:
    _add_big_layer(mini, 3000)
    result = run_cli("publish", "--pack", mini, "--out", tmp_path / "o", "--max-vertices", "5000")
    assert_no_traceback(result)
    assert result.exit_code == 0, all_output(result)


def test_publish_refuses_layer_over_feature_cap(mini: Path, tmp_path: Path) -> None:
    result = run_cli("publish", "--pack", mini, "--out", tmp_path / "o", "--max-features", "1")
    _assert_cap_refusal(result, "--max-features", "zones")


def test_check_refuses_site_over_vertex_cap(tmp_path: Path) -> None:
    site = tmp_path / "site.geojson"
    site.write_text(_fc([_polygon_feature(3000)]), encoding="utf-8")
    result = run_cli("check", site, "--format", "json", "--max-vertices", "1000")
    _assert_cap_refusal(result, "--max-vertices", "site.geojson", "1000")


def test_analyze_refuses_parcel_over_vertex_cap(mini: Path, tmp_path: Path) -> None:
    parcels = tmp_path / "parcels.geojson"
    parcels.write_text(_fc([_polygon_feature(3000)]), encoding="utf-8")
    out = tmp_path / "o"
    result = run_cli(
        "analyze", "--parcels", parcels, "--pack", mini, "--out", out, "--max-vertices", "1000"
    )
    _assert_cap_refusal(result, "--max-vertices", "parcels.geojson")


@pytest.mark.parametrize("where", ["map", "layer"])
def test_huge_title_is_refused(mini: Path, tmp_path: Path, where: str) -> None:
    huge = "标题" * 100_000
    if where == "map":
        write_map(mini, "zones", title=huge, audience="public", layers=["zones"], basemap="none")
        name = "zones.toml"
    else:
        edit_catalog(mini, lambda doc: doc["layers"][0].update(title=huge))
        name = "zones"
    out = tmp_path / "o"
    result = run_cli("publish", "--pack", mini, "--out", out)
    assert_no_traceback(result)
    text = all_output(result)
    assert result.exit_code == 2, text[:500]
    assert name in text and "title" in text.lower(), text[:500]
    assert len(text) < 5_000  # the refusal does not echo the whole title
    assert not out.exists() or not list(out.rglob("*.html"))


def test_terminal_escapes_in_site_names_are_printed_escaped(tmp_path: Path) -> None:
    evil = "evil\x1b[2J\x1b]0;pwned\x07\x9b31m"
    site = tmp_path / "site.geojson"
    site.write_text(_fc([_polygon_feature(8, name=evil)]), encoding="utf-8")
    result = run_cli("check", site)
    assert_no_traceback(result)
    text = result.stdout + result.stderr
    assert "evil" in text
    for raw in ("\x1b", "\x07", "\x9b"):
        assert raw not in text, repr(text)


def test_terminal_escapes_in_file_names_are_printed_escaped(tmp_path: Path) -> None:
    site = tmp_path / "site.geojson"
    site.write_text(_fc([_polygon_feature(8)]), encoding="utf-8")
    red = tmp_path / "red\x1b[31mline.geojson"
    red.write_text(_fc([_polygon_feature(8, name="红线")]), encoding="utf-8")
    result = run_cli("check", site, "--no-pack", "--constraint", red)
    assert_no_traceback(result)
    text = result.stdout + result.stderr
    assert "red" in text
    assert "\x1b" not in text, repr(text)


def test_terminal_escapes_in_pack_texts_are_printed_escaped(mini: Path, tmp_path: Path) -> None:
    edit_catalog(mini, lambda doc: doc["layers"][0].update(role="\x1b[2Jzone"))
    result = run_cli("validate", "--pack", mini)
    assert result.exit_code == 2
    text = result.stdout + result.stderr
    assert "zone" in text and "\x1b" not in text, repr(text)


def _duplicate_ids(path: Path) -> Path:
    feats = [_polygon_feature(8, name="甲", fid=7), _polygon_feature(8, name="乙", fid=7)]
    feats[1]["geometry"]["coordinates"] = [[[x + 0.02, y] for x, y in _ring(8)]]
    path.write_text(_fc(feats), encoding="utf-8")
    return path


def test_duplicate_geojson_ids_in_a_site_are_warned(tmp_path: Path) -> None:
    site = _duplicate_ids(tmp_path / "site.geojson")
    result = run_cli("check", site, "--format", "json")
    assert_no_traceback(result)
    assert result.exit_code in (0, 1), all_output(result)
    assert "duplicate" in result.stderr.lower() and "7" in result.stderr, result.stderr
    reports = json.loads(result.stdout)
    assert any("duplicate" in w.lower() for r in reports for w in r["warnings"]), reports


def test_duplicate_geojson_ids_in_a_pack_layer_are_warned(mini: Path, tmp_path: Path) -> None:
    _duplicate_ids(mini / "layers" / "dup.geojson")

    def fn(doc: dict) -> None:
        doc["layers"].append(
            {
                "id": "dup",
                "title": "重复编号",
                "role": "base",
                "path": "dup.geojson",
                "sensitivity": "public",
                "publish_fields": ["名称"],
                "source": "generated",
                "licence": "CC0-1.0",
                "precision": "schematic",
            }
        )

    edit_catalog(mini, fn)
    out = tmp_path / "o"
    result = run_cli("publish", "--pack", mini, "--out", out)
    assert_no_traceback(result)
    assert result.exit_code == 0, all_output(result)
    assert "duplicate" in result.stderr.lower(), result.stderr
    report = json.loads((out / "internal" / "report.json").read_text(encoding="utf-8"))
    assert any("duplicate" in w.lower() and "dup" in w for w in report["warnings"])


def test_convert_takes_the_cap_options_its_refusals_name(tmp_path: Path) -> None:
    """`qzgeo convert` refused a feature over 1,000,000 vertices with "raise the cap with
    --max-vertices N", and then `--max-vertices` was "No such option" there."""
    src = tmp_path / "大图斑.geojson"
    src.write_text(_fc([_polygon_feature(3000), _polygon_feature(5, "小")]), encoding="utf-8")
    result = run_cli("convert", src, tmp_path / "a.gpkg", "--max-vertices", "1000")
    _assert_cap_refusal(result, "--max-vertices", "大图斑.geojson", "1000")
    result = run_cli("convert", src, tmp_path / "b.gpkg", "--max-features", "1")
    _assert_cap_refusal(result, "--max-features", "大图斑.geojson")
    result = run_cli("convert", src, tmp_path / "c.gpkg", "--max-vertices", "5000")
    assert result.exit_code == 0, all_output(result)
    assert (tmp_path / "c.gpkg").is_file()


def test_validate_takes_the_cap_options_publish_takes(mini: Path) -> None:
    """A pack layer over the cap: `validate` named --max-vertices, which only publish had."""
    _add_big_layer(mini, 3000)
    result = run_cli("validate", "--pack", mini, "--max-vertices", "1000")
    _assert_cap_refusal(result, "--max-vertices", "big", "1000")
    result = run_cli("validate", "--pack", mini, "--max-vertices", "5000")
    assert result.exit_code == 0, all_output(result)


def test_suitability_takes_the_cap_options(tmp_path: Path) -> None:
    result = run_cli("suitability", "--out", tmp_path / "o", "--max-features", "1")
    _assert_cap_refusal(result, "--max-features")
