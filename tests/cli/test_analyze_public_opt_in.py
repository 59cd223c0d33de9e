"""`qzgeo analyze` publishes nothing unless asked (--public), and `check --out` shows no home
folder in OUT/public.

Before: with a pack whose layers were all public, `analyze --parcels` wrote parcels.gpkg into
OUT/public (the folder a city posts) holding every column of the user's parcel file — here the
owners' names (权利人) and ID numbers (身份证号) — with no warning; and check.json / check.html
in OUT/public named the site file by its absolute path (the user's home folder names).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from packs import all_output, assert_no_traceback, edit_catalog, grep_tree, layer, run_cli
from shapely.geometry import Point, box

X0, Y0 = 36_564_000.0, 2_399_000.0  # the minipack's squares, EPSG:4524
ID_NUMBER = "45070219800101123X"  # made up, in the 18-character 身份证号 layout
OWNER = "韦某某权利人"


def _all_public(mini: Path) -> None:
    edit_catalog(mini, lambda doc: layer(doc, "control_lines").update(sensitivity="public"))


def _parcels(path: Path) -> Path:
    gpd.GeoDataFrame(
        {"地块编号": ["P1", "P2"], "权利人": [OWNER, "某村集体"], "身份证号": [ID_NUMBER, ""]},
        geometry=[
            box(X0 + 100, Y0 + 100, X0 + 400, Y0 + 400),
            box(X0 + 1100, Y0 + 100, X0 + 1400, Y0 + 400),
        ],
        crs="EPSG:4524",
    ).to_file(path, driver="GPKG")
    return path


def _analyze(mini: Path, parcels: Path, out: Path, *extra: str) -> Any:
    """``qzgeo analyze`` of ``parcels`` on the pack ``mini`` into ``out``: no traceback."""
    result = run_cli("analyze", "--parcels", parcels, "--pack", mini, "--out", out, *extra)
    assert_no_traceback(result)
    return result


def _leaks(public: Path) -> list[Path]:
    if not public.exists():
        return []
    return sorted(
        {*grep_tree(public, ID_NUMBER), *grep_tree(public, "身份证号"), *grep_tree(public, OWNER)}
    )


@pytest.mark.parametrize("extra", [["--map"], ["--chunk-rows", "1"]], ids=["memory", "streamed"])
def test_all_public_pack_publishes_no_parcel_attribute_by_default(
    mini: Path, tmp_path: Path, extra: list[str]
) -> None:
    _all_public(mini)
    parcels = _parcels(tmp_path / "parcels.gpkg")
    out = tmp_path / "out"
    result = _analyze(mini, parcels, out, *extra)
    assert result.exit_code == 0, all_output(result)
    assert _leaks(out / "public") == []
    assert (out / "internal" / "parcels.gpkg").is_file()
    got = gpd.read_file(out / "internal" / "parcels.gpkg")
    assert ID_NUMBER in set(got["身份证号"])  # staff still get every column
    assert "--public" in all_output(result)  # says how to publish them


@pytest.mark.parametrize("extra", [["--map"], ["--chunk-rows", "1"]], ids=["memory", "streamed"])
def test_public_flag_publishes_and_says_the_columns_go_with_them(
    mini: Path, tmp_path: Path, extra: list[str]
) -> None:
    _all_public(mini)
    parcels = _parcels(tmp_path / "parcels.gpkg")
    out = tmp_path / "out"
    # an earlier run without --public: its internal copies are removed by this one
    first = _analyze(mini, parcels, out)
    assert first.exit_code == 0, all_output(first)
    assert (out / "internal" / "parcels.gpkg").is_file()
    result = _analyze(mini, parcels, out, "--public", *extra)
    assert result.exit_code == 0, all_output(result)
    assert (out / "public" / "parcels.gpkg").is_file()
    assert not (out / "internal" / "parcels.gpkg").exists()
    said = result.stdout
    assert "身份证号" in said and "权利人" in said and "public" in said, said
    report = json.loads((out / "internal" / "parcels_report.json").read_text(encoding="utf-8"))
    warned = [w for w in report["repairs"]["warnings"] if "身份证号" in w]
    assert len(warned) == 1 and warned[0] in said, (report["repairs"]["warnings"], said)
    # and back: a run without --public removes the public copies
    again = _analyze(mini, parcels, out, *extra)
    assert again.exit_code == 0, all_output(again)
    assert _leaks(out / "public") == []


def test_public_flag_with_an_internal_layer_is_refused(mini: Path, tmp_path: Path) -> None:
    parcels = _parcels(tmp_path / "parcels.gpkg")
    out = tmp_path / "out"
    result = _analyze(mini, parcels, out, "--public")
    assert result.exit_code == 2, all_output(result)
    text = all_output(result)
    assert "control_lines" in text and "internal" in text and "catalog.toml" in text, text
    assert "without --public" in text, text
    assert not out.exists() or _leaks(out) == []


def test_public_flag_with_an_unpublished_class_field_is_refused(mini: Path, tmp_path: Path) -> None:
    def fn(doc: dict) -> None:
        lines = layer(doc, "control_lines")
        lines.update(sensitivity="public", publish_fields=[])
        assert lines.get("class_field"), lines  # the case: a class field, now unpublished

    edit_catalog(mini, fn)
    parcels = _parcels(tmp_path / "parcels.gpkg")
    out = tmp_path / "out"
    result = _analyze(mini, parcels, out, "--public")
    assert result.exit_code == 2, all_output(result)
    text = all_output(result)
    assert "control_lines" in text and "publish_fields" in text, text


@pytest.mark.parametrize("fmt", ["json", "html", "text", "gpkg"])
def test_check_public_copy_names_the_site_file_only(mini: Path, tmp_path: Path, fmt: str) -> None:
    _all_public(mini)
    folder = tmp_path / "home" / "alice" / "选址"
    folder.mkdir(parents=True)
    site = folder / "site.geojson"
    gpd.GeoDataFrame(  # the point is skipped with a warning naming the file
        {"名称": ["试验地块", "井"]},
        geometry=[box(X0 + 100, Y0 + 100, X0 + 300, Y0 + 300), Point(X0 + 50, Y0 + 50)],
        crs=4524,
    ).to_file(site, driver="GeoJSON")
    out = tmp_path / "out"
    result = run_cli("check", site, "--pack", mini, "--format", fmt, "--out", out)
    assert str(site) in result.stderr  # the warning on stderr keeps the path
    assert_no_traceback(result)
    assert result.exit_code in (0, 1), all_output(result)
    written = sorted(p.name for p in (out / "public").iterdir())
    assert f"check.{'txt' if fmt == 'text' else fmt}" in written, written
    assert grep_tree(out / "public", "alice") == []
    assert grep_tree(out / "public", "site.geojson")  # the file is still named
    if fmt == "json":
        reports = json.loads((out / "public" / "check.json").read_text(encoding="utf-8"))
        assert [r["source"] for r in reports] == ["site.geojson"]
        assert any("site.geojson" in w for w in reports[0]["warnings"]), reports[0]["warnings"]


def test_check_internal_copy_and_stdout_keep_the_path(mini: Path, tmp_path: Path) -> None:
    folder = tmp_path / "home" / "alice"
    folder.mkdir(parents=True)
    site = folder / "site.geojson"
    gpd.GeoDataFrame(
        {"名称": ["试验地块"]}, geometry=[box(X0 + 100, Y0 + 100, X0 + 300, Y0 + 300)], crs=4524
    ).to_file(site, driver="GeoJSON")
    out = tmp_path / "out"
    result = run_cli("check", site, "--pack", mini, "--format", "json", "--out", out)
    assert result.exit_code in (0, 1), all_output(result)
    assert grep_tree(out / "internal", str(site))  # the minipack's red lines: internal
    shown = run_cli("check", site, "--pack", mini, "--format", "json")
    assert str(site) in shown.stdout
