"""A layer of polygons, lines and points (a GeoJSON from a web map, a DXF) converted to formats
that hold one kind: to .shp GDAL stopped with "Attempt to write non-polygon (LINESTRING) geometry
to POLYGON type shapefile" (no feature, no fix); to a 界址点 .txt it said "feature 1 is
LineString; a 界址点 file holds polygons only" (no file, no fix). Found in round 21's
convert/tables audit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli._cli import assert_exit2, qzgeo


def _mixed(tmp_path: Path) -> Path:
    shapes = [
        {
            "type": "Polygon",
            "coordinates": [[[108.6, 21.9], [108.61, 21.9], [108.61, 21.91], [108.6, 21.9]]],
        },
        {"type": "LineString", "coordinates": [[108.6, 21.9], [108.61, 21.95]]},
        {"type": "Point", "coordinates": [108.6, 21.9]},
        {
            "type": "MultiPolygon",
            "coordinates": [[[[108.7, 21.9], [108.71, 21.9], [108.71, 21.91], [108.7, 21.9]]]],
        },
    ]
    src = tmp_path / "混合.geojson"
    feats = [
        {"type": "Feature", "properties": {"n": i}, "geometry": g} for i, g in enumerate(shapes)
    ]
    src.write_text(json.dumps({"type": "FeatureCollection", "features": feats}), encoding="utf-8")
    return src


def test_shapefile_out_names_the_features_and_the_fix(tmp_path: Path) -> None:
    out = tmp_path / "混合.shp"
    res = qzgeo("convert", _mixed(tmp_path), out)
    assert_exit2(res, "混合.shp", "2 polygons, 1 lines, 1 points", "feature(s) 1, 2", ".gpkg")
    assert "Attempt to write" not in res.output
    assert not out.exists()


@pytest.mark.parametrize("ext", [".gpkg", ".fgb", ".geojson"])
def test_formats_that_hold_them_all_still_do(tmp_path: Path, ext: str) -> None:
    res = qzgeo("convert", _mixed(tmp_path), tmp_path / f"输出{ext}")
    assert res.exit_code == 0, res.output


def test_jzd_out_names_the_file_features_and_the_fix(tmp_path: Path) -> None:
    out = tmp_path / "混合.txt"
    res = qzgeo("convert", _mixed(tmp_path), out)
    assert_exit2(res, "混合.txt", "feature 1: LineString, feature 2: Point", ".gpkg")
    assert not out.exists()


def test_points_beside_multipoints_make_a_multipoint_shapefile(tmp_path: Path) -> None:
    """GDAL made a Point shapefile from the first feature and refused the MultiPoint after it
    ("Attempt to write non-point (MULTIPOINT) geometry to point shapefile")."""
    import pyogrio

    shapes = [
        {"type": "Point", "coordinates": [108.6, 21.9]},
        {"type": "MultiPoint", "coordinates": [[108.6, 21.9], [108.61, 21.91]]},
    ]
    src = tmp_path / "井位.geojson"
    feats = [{"type": "Feature", "properties": {}, "geometry": g} for g in shapes]
    src.write_text(json.dumps({"type": "FeatureCollection", "features": feats}), encoding="utf-8")
    out = tmp_path / "井位.shp"
    res = qzgeo("convert", src, out)
    assert res.exit_code == 0, res.output
    got = pyogrio.read_dataframe(out)
    assert got.geometry.get_coordinates().shape == (3, 2)  # every point kept
