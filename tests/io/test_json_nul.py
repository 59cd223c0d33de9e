"""A GeoJSON text holding an escaped NUL (\\u0000) is refused naming where: GDAL kept the text
up to the NUL and dropped the rest without a word ("ab\\u0000cd" became "ab" in the output)."""

from __future__ import annotations

import json
from pathlib import Path

import pyogrio
from click.testing import CliRunner

from qzgeo.cli.main import cli


def _geojson(path: Path, name: str) -> Path:
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"名称": name},
                "geometry": {"type": "Point", "coordinates": [114.3, 30.6]},
            }
        ],
    }
    path.write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    return path


def test_a_nul_in_a_text_is_refused_not_cut(tmp_path: Path) -> None:
    src = _geojson(tmp_path / "a.geojson", "甲地块\x00乙")
    assert '"甲地块\\u0000乙"' in src.read_text(encoding="utf-8")
    out = tmp_path / "o.gpkg"
    res = CliRunner().invoke(cli, ["convert", str(src), str(out)])
    assert res.exit_code == 2, res.output
    assert "a.geojson" in res.output and "NUL" in res.output and "甲地块" in res.output
    assert not out.exists()


def test_the_six_characters_backslash_u0000_are_kept(tmp_path: Path) -> None:
    src = _geojson(tmp_path / "b.geojson", "甲\\u0000乙")  # a backslash, then u0000
    out = tmp_path / "o.gpkg"
    res = CliRunner().invoke(cli, ["convert", str(src), str(out)])
    assert res.exit_code == 0, res.output
    assert pyogrio.read_dataframe(out)["名称"].tolist() == ["甲\\u0000乙"]
