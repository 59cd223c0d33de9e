"""A GeoJSON saved as UTF-16 (Notepad's "Unicode") is said to be UTF-16, with the fix.

GDAL reads it as no known format, and the message said the file "may be corrupt or
truncated": users downloaded it again, to the same end. CSVs already said UTF-16.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from qzgeo.cli.main import cli
from qzgeo.io.text_encoding import utf16_said

FC = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"名称": "甲地块"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[108.6, 21.9], [108.61, 21.9], [108.61, 21.91], [108.6, 21.9]]],
            },
        }
    ],
}
TEXT = json.dumps(FC, ensure_ascii=False, indent=1)
ENCODINGS = {
    "le_bom": b"\xff\xfe" + TEXT.encode("utf-16-le"),
    "be_bom": b"\xfe\xff" + TEXT.encode("utf-16-be"),
    "le_bare": TEXT.encode("utf-16-le"),
    "be_bare": TEXT.encode("utf-16-be"),
}


@pytest.mark.parametrize("kind", sorted(ENCODINGS))
@pytest.mark.parametrize("command", ["check", "convert", "analyze"])
def test_utf16_geojson_is_said_with_the_fix(tmp_path: Path, kind: str, command: str) -> None:
    src = tmp_path / f"{kind}.geojson"
    src.write_bytes(ENCODINGS[kind])
    args = {
        "check": ["check", str(src)],
        "convert": ["convert", str(src), str(tmp_path / "o.gpkg")],
        "analyze": ["analyze", "--parcels", str(src), "--out", str(tmp_path / "out")],
    }[command]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2, (res.output, res.exception)
    assert "Traceback" not in res.output
    assert str(src) in res.output and "UTF-16" in res.output and "save it as UTF-8" in res.output
    assert "corrupt" not in res.output
    assert not (tmp_path / "o.gpkg").exists() and not (tmp_path / "out").exists()


def test_the_same_text_in_utf8_reads(tmp_path: Path) -> None:
    src = tmp_path / "u8.geojson"
    src.write_text(TEXT, encoding="utf-8")
    res = CliRunner().invoke(cli, ["convert", str(src), str(tmp_path / "o.gpkg")])
    assert res.exit_code == 0, res.output


@given(st.text(min_size=1, max_size=40))
def test_utf8_text_is_never_taken_for_utf16(text: str) -> None:
    # UTF-8 has no zero byte but for U+0000: a JSON text never looks like UTF-16
    data = ("{" + text.replace("\x00", "")).encode("utf-8")
    assert utf16_said(data) is None
