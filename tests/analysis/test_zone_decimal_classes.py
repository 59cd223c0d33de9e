"""Constraint classes of a decimal column (REAL 1.0, 2.0, as ArcGIS exports 用地代码).

The catalog names them "1" and "2.0": `validate` refused "1" ("values are 1.0, 2.0"); now both
spellings are the classes "1" and "2", and the overlay reports its conflicts by those names. The
expected conflict classes are read off the hand-made geometry, not qzgeo's.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
from packs import new_pack

from qzgeo.analysis.zones import analyze_pack
from qzgeo.pack.catalog import load_pack
from qzgeo.pack.load import load_pack_layers
from qzgeo.pack.validate import check_pack


def _pack(tmp_path: Path) -> Path:
    pack = new_pack(tmp_path / "pack", "121.1,41.1")
    lines = gpd.read_file(pack / "layers" / "control_lines.geojson")
    codes = {"生态保护红线": 1.0, "城镇开发边界": 2.0}
    assert set(lines["类别"]) == set(codes)
    lines["类别"] = lines["类别"].map(codes).astype(float)
    lines.to_file(pack / "layers" / "control_lines.gpkg", layer="control_lines")
    cat = pack / "layers" / "catalog.toml"
    text = cat.read_text(encoding="utf-8")
    text = text.replace('path = "control_lines.geojson"', 'path = "control_lines.gpkg"', 1)
    old = '{ "生态保护红线" = "exclusion", "城镇开发边界" = "boundary" }'
    text = text.replace(old, '{ "1" = "exclusion", "2.0" = "boundary" }', 1)
    cat.write_text(text, encoding="utf-8")
    styles = pack / "styles" / "layers.toml"
    text = styles.read_text(encoding="utf-8")
    text = text.replace('[control_lines.classes."生态保护红线"]', '[control_lines.classes."1.0"]')
    text = text.replace('[control_lines.classes."城镇开发边界"]', '[control_lines.classes."2"]')
    styles.write_text(text, encoding="utf-8")
    return pack


def test_decimal_constraint_classes_validate_and_conflict(tmp_path: Path) -> None:
    pack = load_pack(_pack(tmp_path))
    assert check_pack(pack) == []
    result = analyze_pack(load_pack_layers(pack))
    lines = gpd.read_file(tmp_path / "pack" / "layers" / "control_lines.gpkg")
    zones = gpd.read_file(tmp_path / "pack" / "layers" / "zones.geojson")
    red = lines[lines["类别"] == 1.0].union_all()
    expected = {"1"} if zones.intersects(red).any() else set()
    if not zones.within(lines[lines["类别"] == 2.0].union_all()).all():
        expected.add("2外")  # a boundary class's conflict is what lies outside it
    assert expected, "the new-pack data must make a conflict for this test to mean anything"
    assert set(result.conflicts["类别"]) == expected
