"""An undeclared GCJ-02 layer in a pack is caught against the pack's reference layer."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
from shapely import LineString, Polygon

from qzgeo.geo.gcj02 import geoms_wgs84_to_gcj02
from qzgeo.pack.catalog import load_pack
from qzgeo.pack.load import load_pack_layers

COAST = [(108.55, 21.62), (108.60, 21.66), (108.64, 21.65), (108.70, 21.70), (108.75, 21.68)]
ENTRY = """
[[layers]]
id = "{id}"
title = "{id}"
role = "base"
path = "{id}.geojson"
sensitivity = "public"
source = "test"
licence = "CC0-1.0"
precision = "real"
"""


def _add_layers(pack: Path, *, declare: bool) -> None:
    layers = pack / "layers"
    coast = gpd.GeoDataFrame(geometry=[LineString(COAST)], crs="EPSG:4326")
    coast.to_file(layers / "coast.geojson")
    # A shore parcel digitised on AMap: its seaward edge follows the coast, in GCJ-02.
    shore = Polygon([*COAST, (108.75, 21.75), (108.55, 21.75)])
    amap = gpd.GeoDataFrame(geometry=geoms_wgs84_to_gcj02([shore]), crs="EPSG:4326")
    amap.to_file(layers / "amap.geojson")
    catalog = layers / "catalog.toml"
    text = catalog.read_text(encoding="utf-8").replace(
        "[pack]\n", '[pack]\nreference_layer = "coast"\n', 1
    )
    text += ENTRY.format(id="coast") + ENTRY.format(id="amap")
    if declare:
        text += 'datum = "gcj02"\n'
    catalog.write_text(text, encoding="utf-8")


def test_undeclared_gcj02_layer_is_reported(minipack: Path) -> None:
    _add_layers(minipack, declare=False)
    loaded = load_pack_layers(load_pack(minipack))
    warnings = [w for w in loaded.report.warnings if "'amap'" in w and "GCJ-02" in w]
    assert len(warnings) == 1
    assert "GCJ-02" in warnings[0] and 'datum = "gcj02"' in warnings[0]
    gcj = [w for w in loaded.report.warnings if "GCJ-02" in w]
    assert not any("'zones'" in w or "'coast'" in w for w in gcj)


def test_declared_gcj02_layer_is_converted_and_quiet(minipack: Path) -> None:
    _add_layers(minipack, declare=True)
    loaded = load_pack_layers(load_pack(minipack))
    assert not any("GCJ-02" in w for w in loaded.report.warnings)
    x0, y0 = loaded.layers["amap"].geometry.iloc[0].exterior.coords[0]
    assert abs(x0 - COAST[0][0]) < 1e-6 and abs(y0 - COAST[0][1]) < 1e-6


def test_gcj02_found_in_a_densified_layer_of_the_bundled_pack() -> None:
    """Pack layers are densified (edges ≤ 200 m, so that map and analysis agree); vertices on
    straight edges must not dilute the check: the bundled districts shifted to GCJ-02 and
    densified again, as an author following the pack guide would store them, are caught."""
    import shapely

    from qzgeo.geo.gcj02 import detect_gcj02_offset

    gpkg = Path(__file__).resolve().parents[2] / "layers" / "qinzhou.gpkg"
    districts = gpd.read_file(gpkg, layer="districts").geometry.values
    coast = gpd.read_file(gpkg, layer="coastline").geometry.values
    shifted = shapely.segmentize(geoms_wgs84_to_gcj02(districts), 0.0018)
    assert detect_gcj02_offset(shifted, coast).looks_gcj02
    assert not detect_gcj02_offset(shapely.segmentize(districts, 0.0018), coast).looks_gcj02
