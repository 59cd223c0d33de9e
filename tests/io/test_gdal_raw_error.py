"""A GeoJSON typed by hand with a Chinese input method: a full-width digit (１) in its
coordinates. GDAL's error names the byte, which is not UTF-8 alone, and pyogrio passed it on
as "Could not decode error message to UTF-8. Raw error: b'... Unexpected character (\\xef)'"."""

from __future__ import annotations

from pathlib import Path

from tests.cli._cli import assert_exit2, qzgeo

TEXT = (
    '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"名称":"甲"},'
    '"geometry":{"type":"Polygon","coordinates":[[[１08.62,21.96],[108.622,21.96],'
    "[108.622,21.962],[108.62,21.96]]]}}]}"
)


def test_full_width_digit_in_geojson_is_said_plainly(tmp_path: Path) -> None:
    src = tmp_path / "手工选址.geojson"
    src.write_text(TEXT, encoding="utf-8")
    res = qzgeo("check", src)
    assert_exit2(res, "手工选址.geojson", "Unexpected character", "full-width")
    assert "Raw error" not in res.output and "\\x" not in res.output, res.output
