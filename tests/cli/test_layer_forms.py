"""A layer written GDAL's way (``FILE.gpkg:LAYER``) or QGIS's way (``FILE.gpkg|layername=LAYER``).

Before, ``convert`` and ``analyze --parcels`` said only "FILE.gpkg:地块 does not exist; check
the path" (the file does exist), and ``check`` said the same of QGIS's form: the message now
names the supported way for each command. A multi-layer file given bare is still refused.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from packs import all_output, assert_no_traceback, run_cli

SITE = shapely.box(108.600, 21.700, 108.605, 21.705)


@pytest.fixture
def two_layers(tmp_path: Path) -> Path:
    path = tmp_path / "two.gpkg"
    road = gpd.GeoDataFrame({"名称": ["道路"]}, geometry=[shapely.box(108.5, 21.6, 108.51, 21.61)])
    site = gpd.GeoDataFrame({"名称": ["选址"]}, geometry=[SITE])
    road.set_crs(4490).to_file(path, layer="roads")
    site.set_crs(4490).to_file(path, layer="地块")
    return path


def _args(command: str, source: str, tmp_path: Path) -> list[str]:
    if command == "convert":
        return ["convert", source, str(tmp_path / "out.geojson")]
    if command == "analyze":
        return ["analyze", "--parcels", source, "--out", str(tmp_path / "an")]
    return ["check", source, "--format", "json"]


# check reads FILE:LAYER itself (tests/cli/test_layer_choice.py): not a case here
@pytest.mark.parametrize(
    ("command", "form"),
    [("convert", "gdal"), ("analyze", "gdal"), ("convert", "qgis"), ("analyze", "qgis"),
     ("check", "qgis")],
)  # fmt: skip
def test_a_layer_form_names_the_supported_way(
    two_layers: Path, tmp_path: Path, command: str, form: str
) -> None:
    source = f"{two_layers}:地块" if form == "gdal" else f"{two_layers}|layername=地块"
    result = run_cli(*_args(command, source, tmp_path))
    assert_no_traceback(result)
    text = all_output(result)
    assert result.exit_code == 2, text
    assert f"{two_layers} is a file" in text, text
    assert f"--layer 地块 (analyze, convert), {two_layers}:地块 (check)" in text, text
    assert ("`|layername=` is read nowhere" in text) == (form == "qgis"), text
    assert not (tmp_path / "out.geojson").exists()


def test_a_missing_file_is_still_only_missing(tmp_path: Path) -> None:
    result = run_cli("convert", f"{tmp_path / 'none.gpkg'}:地块", tmp_path / "o.geojson")
    assert result.exit_code == 2
    assert "does not exist; check the path" in all_output(result)


@pytest.mark.parametrize("command", ["convert", "analyze"])
def test_a_bare_multi_layer_file_is_refused_not_read_as_its_first(
    two_layers: Path, tmp_path: Path, command: str
) -> None:
    result = run_cli(*_args(command, str(two_layers), tmp_path))
    text = all_output(result)
    assert result.exit_code == 2, text
    assert "roads, 地块" in text and "--layer 地块" in text, text


def test_a_catalog_path_with_a_layer_names_the_layer_key(mini: Path) -> None:
    catalog = mini / "layers" / "catalog.toml"
    text = catalog.read_text(encoding="utf-8")
    old = 'path = "mini.gpkg"\nlayer = "zones"'
    assert text.count(old) == 1
    catalog.write_text(text.replace(old, 'path = "mini.gpkg:zones"'), encoding="utf-8")
    result = run_cli("validate", "--pack", mini)
    text = all_output(result)
    assert result.exit_code == 2, text
    assert "'mini.gpkg:zones' not found" in text and 'layer = "zones" (a pack\'s catalog)' in text
