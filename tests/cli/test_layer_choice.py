"""A file with several layers with geometry: every command asks which one, none guesses.

Before, ``qzgeo check`` and ``qzgeo convert`` read the first layer of such a GeoPackage (here a
road, not the site) with only a raw pyogrio warning on stderr.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from packs import all_output, assert_no_traceback, run_cli

SITE = shapely.box(108.600, 21.700, 108.605, 21.705)  # on the bundled pack's shore


@pytest.fixture
def two_layers(tmp_path: Path) -> Path:
    path = tmp_path / "two.gpkg"
    road = gpd.GeoDataFrame({"名称": ["道路"]}, geometry=[shapely.box(108.5, 21.6, 108.51, 21.61)])
    site = gpd.GeoDataFrame({"名称": ["选址"]}, geometry=[SITE])
    road.set_crs(4490).to_file(path, layer="roads")
    site.set_crs(4490).to_file(path, layer="地块")
    return path


def _refused(result, path: Path) -> str:
    assert_no_traceback(result)
    text = all_output(result)
    assert result.exit_code == 2, text
    assert str(path) in text and "roads, 地块" in text, text
    assert "Warning" not in text, text  # no raw pyogrio warning instead of the message
    return text


def test_check_asks_which_layer_and_reads_path_colon_layer(two_layers: Path) -> None:
    text = _refused(run_cli("check", two_layers, "--format", "json"), two_layers)
    assert f"{two_layers}:地块 (check)" in text
    ok = run_cli("check", f"{two_layers}:地块", "--format", "json")
    assert ok.exit_code == 0, all_output(ok)
    (report,) = json.loads(ok.stdout)
    assert report["site"] == "选址"


def test_convert_asks_which_layer(two_layers: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.geojson"
    text = _refused(run_cli("convert", two_layers, out), two_layers)
    assert "--layer 地块" in text and not out.exists()
    ok = run_cli("convert", two_layers, out, "--layer", "地块")
    assert ok.exit_code == 0, all_output(ok)
    assert gpd.read_file(out)["名称"].tolist() == ["选址"]


def test_one_geometry_layer_beside_a_plain_table_needs_no_layer(tmp_path: Path) -> None:
    """QGIS stores styles in a ``layer_styles`` table: the file still has one layer to read."""
    path = tmp_path / "styled.gpkg"
    gpd.GeoDataFrame({"名称": ["选址"]}, geometry=[SITE], crs=4490).to_file(path, layer="地块")
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE layer_styles (id INTEGER PRIMARY KEY, styleQML TEXT)")
        db.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier) "
            "VALUES ('layer_styles', 'attributes', 'layer_styles')"
        )
    ok = run_cli("check", path, "--format", "json")
    assert ok.exit_code == 0, all_output(ok)
    assert json.loads(ok.stdout)[0]["site"] == "选址"
