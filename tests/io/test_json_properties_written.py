"""GeoJSON array and object properties through ``qzgeo convert`` (DataV GeoAtlas boundaries carry
``"center": [108.6, 21.9]`` and ``"parent": {"adcode": 450000}``; AMap exports the like).

pyogrio reads the arrays as NumPy arrays and the objects as dicts; written as they were, the
array became the text ``[108.6 21.9]`` (NumPy's, no comma: no JSON reader takes it) in a
Shapefile, FlatGeobuf and GeoJSON, and in a GeoPackage the object became a column
``parent.adcode`` whose empty cell came out as 0, a value no input held. Found in round 21's
convert/tables audit.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyogrio
import pytest

from tests.cli._cli import qzgeo


def _datav(tmp_path: Path) -> Path:
    ring = [[108.6, 21.9], [108.61, 21.9], [108.61, 21.91], [108.6, 21.9]]
    feats = [
        {"name": "钦南区", "center": [108.6, 21.9], "parent": {"adcode": 450000}},
        {"name": "钦北区", "center": None, "parent": None},
    ]
    src = tmp_path / "datav.geojson"
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": p,
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
            for p in feats
        ],
    }
    src.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return src


@pytest.mark.parametrize("ext", [".shp", ".fgb", ".gpkg"])
def test_arrays_and_objects_are_json_text(tmp_path: Path, ext: str) -> None:
    out = tmp_path / f"区县{ext}"
    res = qzgeo("convert", _datav(tmp_path), out)
    assert res.exit_code == 0, res.output
    got = pyogrio.read_dataframe(out, encoding="UTF-8" if ext == ".shp" else None)
    got = got.set_index("name")
    assert "parent.adcode" not in got.columns
    assert json.loads(got.loc["钦南区", "center"]) == [108.6, 21.9]
    assert json.loads(got.loc["钦南区", "parent"]) == {"adcode": 450000}
    assert got.loc["钦北区", ["center", "parent"]].isna().all()  # empty stays empty, not 0


def test_geojson_out_keeps_them_arrays_and_objects(tmp_path: Path) -> None:
    out = tmp_path / "区县.geojson"
    assert qzgeo("convert", _datav(tmp_path), out).exit_code == 0
    props = [f["properties"] for f in json.loads(out.read_text(encoding="utf-8"))["features"]]
    assert props[0]["center"] == [108.6, 21.9] and props[0]["parent"] == {"adcode": 450000}
    assert props[1]["center"] is None and props[1]["parent"] is None
