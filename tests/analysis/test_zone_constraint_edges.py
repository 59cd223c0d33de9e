"""Zone areas where a constraint is drawn in Gauss-Krüger with long straight edges.

A 城镇开发边界 and a 生态保护红线 digitised in GK CM 87E (EPSG:4538, 4 vertices each, edges of
17-40 km) cut a zone 1.5° east of the central meridian (乌鲁木齐/昌吉, 88.5°E). The zones were
densified before the overlay, the constraint edges were not: each piece was measured along the
geodesic between a constraint edge's two far-apart vertices, not along the straight GK edge the
overlay cut along; available land came out 1,154 m² short (4e-6) and 城镇开发边界外 as much over,
and `qzgeo analyze` of the same polygon disagreed with `publish`. Oracle: the same overlay with
shapely in EPSG:4538, the pieces densified to 10 m, transformed to lon/lat, ``pyproj.Geod``.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from qzgeo.pipeline import run_publish

GK = "EPSG:4538"  # CGCS2000 / 3-degree GK CM 87E


def _geod_m2(planar: BaseGeometry) -> float:
    dense = shapely.segmentize(planar, 10.0)
    lonlat = gpd.GeoSeries([dense], crs=GK).to_crs("EPSG:4490").iloc[0]
    return abs(Geod(ellps="GRS80").geometry_area_perimeter(lonlat)[0])


def _gk(geom: BaseGeometry) -> BaseGeometry:
    return gpd.GeoSeries([geom], crs="EPSG:4490").to_crs(GK).iloc[0]


def _write_pack(root: Path) -> dict[str, BaseGeometry]:
    zone = _gk(shapely.segmentize(box(88.2, 43.9, 88.5, 44.1), 0.0018))  # as the guide says
    udb = shapely.Polygon(shapely.get_coordinates(_gk(box(88.25, 43.92, 88.75, 44.08)).exterior))
    eco = shapely.Polygon(shapely.get_coordinates(_gk(box(88.4, 43.8, 88.45, 44.2)).exterior))
    for d in ("layers", "styles", "maps"):
        (root / d).mkdir(parents=True)
    gpkg = root / "layers" / "pack.gpkg"
    gpd.GeoDataFrame({"名称": ["西区"]}, geometry=[zone], crs=GK).to_file(gpkg, layer="zones")
    lines = gpd.GeoDataFrame(
        {"类别": ["城镇开发边界", "生态保护红线"], "名称": ["边界", "红线"]},
        geometry=[udb, eco],
        crs=GK,
    )
    lines.to_file(gpkg, layer="control_lines")
    common = 'source = "made by this test"\nlicence = "CC0"\nprecision = "schematic"\n'
    (root / "layers" / "catalog.toml").write_text(
        f'[pack]\nname = "changji"\ntitle = "昌吉测试"\nplanar_crs = "{GK}"\n\n'
        '[[layers]]\nid = "zones"\ntitle = "分区"\nrole = "zone"\npath = "pack.gpkg"\n'
        f'layer = "zones"\nsensitivity = "public"\n{common}\n'
        '[[layers]]\nid = "control_lines"\ntitle = "控制线"\nrole = "constraint"\n'
        'path = "pack.gpkg"\nlayer = "control_lines"\nsensitivity = "internal"\n'
        'class_field = "类别"\n'
        'constraint_classes = { "生态保护红线" = "exclusion", "城镇开发边界" = "boundary" }\n'
        f"{common}",
        encoding="utf-8",
    )
    return {"zone": zone, "udb": udb, "eco": eco}


def test_pieces_cut_by_long_gk_constraint_edges_match_geod(tmp_path: Path) -> None:
    g = _write_pack(tmp_path / "pack")
    run_publish(tmp_path / "pack", tmp_path / "out", maps=False)
    gpkg = tmp_path / "out" / "internal" / "analysis.gpkg"
    row = gpd.read_file(gpkg, layer="zone_summary").iloc[0]
    zone, udb, eco = g["zone"], g["udb"], g["eco"]
    assert row["zone_m2"] == pytest.approx(_geod_m2(zone), abs=0.1)
    assert row["available_m2"] == pytest.approx(_geod_m2(zone.intersection(udb) - eco), abs=0.1)
    outside = row["城镇开发边界外_ha"] * 1e4
    assert outside == pytest.approx(_geod_m2(zone - udb), abs=0.1)
    assert row["生态保护红线_ha"] * 1e4 == pytest.approx(_geod_m2(zone & eco), abs=0.1)
    conflicts = gpd.read_file(gpkg, layer="conflicts")
    by_class = conflicts.groupby("类别")["area_m2"].sum()
    assert by_class["城镇开发边界外"] == pytest.approx(_geod_m2(zone - udb), abs=0.1)
