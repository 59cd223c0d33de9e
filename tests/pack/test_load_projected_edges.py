"""A layer drawn in a Gauss-Krüger CRS keeps the straight edges it was drawn with.

Layers are stored in lon/lat: a 4-vertex 城镇开发边界 digitised in GK CM 87E (EPSG:4538) came
back into a pack whose planar_crs is CM 90E (EPSG:4539) as the straight line between its
vertices *there*, 0.23 m off the drawn 18 km edge (1.5° from both meridians); the web maps drew
its 40 km edges straight in lon/lat, ~30 m off. Oracle: the overlay in the layer's own CRS with
shapely, densified to 10 m, transformed to lon/lat, ``pyproj.Geod``.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from qzgeo.pack.catalog import load_pack
from qzgeo.pack.load import load_pack_layers
from qzgeo.pipeline import run_publish

DRAWN = "EPSG:4538"  # CGCS2000 / 3-degree GK CM 87E: the CRS the boundary was drawn in


def _geod_m2(planar: BaseGeometry) -> float:
    dense = shapely.segmentize(planar, 10.0)
    lonlat = gpd.GeoSeries([dense], crs=DRAWN).to_crs("EPSG:4490").iloc[0]
    return abs(Geod(ellps="GRS80").geometry_area_perimeter(lonlat)[0])


def _to(geom: BaseGeometry, src: str, dst: str) -> BaseGeometry:
    return gpd.GeoSeries([geom], crs=src).to_crs(dst).iloc[0]


def _write_pack(root: Path) -> dict[str, BaseGeometry]:
    zone_ll = shapely.segmentize(box(88.2, 43.9, 88.5, 44.1), 0.0018)
    udb = shapely.Polygon(
        shapely.get_coordinates(_to(box(88.25, 43.92, 88.75, 44.08), "EPSG:4490", DRAWN).exterior)
    )
    for d in ("layers", "styles", "maps"):
        (root / d).mkdir(parents=True)
    gpkg = root / "layers" / "pack.gpkg"
    zones = gpd.GeoDataFrame({"名称": ["西区"]}, geometry=[zone_ll], crs="EPSG:4490")
    zones.to_file(gpkg, layer="zones")
    lines = gpd.GeoDataFrame({"类别": ["城镇开发边界"]}, geometry=[udb], crs=DRAWN)
    lines.to_file(gpkg, layer="control_lines")
    common = 'source = "made by this test"\nlicence = "CC0"\nprecision = "schematic"\n'
    (root / "layers" / "catalog.toml").write_text(
        '[pack]\nname = "changji"\ntitle = "昌吉测试"\nplanar_crs = "EPSG:4539"\n\n'
        '[[layers]]\nid = "zones"\ntitle = "分区"\nrole = "zone"\npath = "pack.gpkg"\n'
        f'layer = "zones"\nsensitivity = "public"\n{common}\n'
        '[[layers]]\nid = "control_lines"\ntitle = "控制线"\nrole = "constraint"\n'
        'path = "pack.gpkg"\nlayer = "control_lines"\nsensitivity = "internal"\n'
        'class_field = "类别"\nconstraint = "boundary"\n'
        f"{common}",
        encoding="utf-8",
    )
    return {"zone": _to(zone_ll, "EPSG:4490", DRAWN), "udb": udb}


def test_gk_layer_in_another_zone_keeps_its_drawn_edges(tmp_path: Path) -> None:
    g = _write_pack(tmp_path / "pack")
    run_publish(tmp_path / "pack", tmp_path / "out", maps=False)
    gpkg = tmp_path / "out" / "internal" / "analysis.gpkg"
    row = gpd.read_file(gpkg, layer="zone_summary").iloc[0]
    assert row["available_m2"] == pytest.approx(_geod_m2(g["zone"] & g["udb"]), abs=1.0)
    assert row["城镇开发边界外_ha"] * 1e4 == pytest.approx(_geod_m2(g["zone"] - g["udb"]), abs=1.0)


def test_stored_edges_follow_the_drawn_line(tmp_path: Path) -> None:
    g = _write_pack(tmp_path / "pack")
    stored = load_pack_layers(load_pack(tmp_path / "pack")).layers["control_lines"]
    # every point of the stored (lon/lat) outline, as the maps draw it, lies on the drawn one
    drawn = g["udb"].exterior
    ll = stored.geometry.iloc[0].exterior
    probe = shapely.segmentize(ll, 0.0005)  # points along the lon/lat edges the maps draw
    back = _to(probe, "EPSG:4490", DRAWN)
    gap = max(drawn.distance(shapely.Point(xy)) for xy in shapely.get_coordinates(back))
    assert gap < 0.001
