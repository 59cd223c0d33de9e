"""convert into a GeoPackage that already holds other layers (a user's 规划.gpkg).

Found in round 16's audit: OUT is replaced whole, so `qzgeo convert 宗地.shp 规划.gpkg
--out-layer 宗地` left 规划.gpkg with 宗地 alone; its 道路 and 水系 were gone, with "Wrote 2
feature(s)" and exit 0. ogr2ogr and QGIS add a layer to such a file; qzgeo now refuses.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from _cli import assert_exit2, qzgeo

E0, N0 = 36_566_227.0, 2_400_719.0


def _parcels(path: Path) -> Path:
    square = shapely.box(E0, N0, E0 + 200, N0 + 200)
    gpd.GeoDataFrame({"名称": ["甲"]}, geometry=[square], crs=4524).to_file(path)
    return path


def _plan(path: Path, *layers: str) -> Path:
    g = gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.box(108.6, 21.7, 108.7, 21.8)], crs=4490)
    for name in layers:
        g.to_file(path, layer=name)
    return path


@pytest.mark.parametrize("out_layer", [["--out-layer", "宗地"], []])
def test_a_geopackage_with_other_layers_is_not_replaced(
    tmp_path: Path, out_layer: list[str]
) -> None:
    plan = _plan(tmp_path / "规划.gpkg", "道路", "水系")
    before = hashlib.sha256(plan.read_bytes()).hexdigest()
    res = qzgeo("convert", _parcels(tmp_path / "宗地.shp"), plan, *out_layer)
    assert_exit2(res, "规划.gpkg already holds layer(s) 道路, 水系", "would be lost")
    assert hashlib.sha256(plan.read_bytes()).hexdigest() == before


def test_its_own_layer_alone_is_replaced(tmp_path: Path) -> None:
    """A re-run into the file it wrote (one layer, the one written) still replaces it, when
    told to (--overwrite: an existing OUT is refused without it)."""
    out = _plan(tmp_path / "宗地.gpkg", "宗地")
    res = qzgeo("convert", _parcels(tmp_path / "in.shp"), out, "--overwrite")
    assert res.exit_code == 0, res.output
    assert [n for n, _ in pyogrio.list_layers(out)] == ["宗地"]
    assert gpd.read_file(out)["名称"].tolist() == ["甲"]
