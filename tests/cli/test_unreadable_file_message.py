"""A file GDAL cannot recognise is refused with the file and the fix, and without GDAL's own
advice to prefix the path with a driver name (``CSV:path``), which qzgeo refuses."""

from __future__ import annotations

from pathlib import Path

import pytest
from _cli import MINIPACK, assert_exit2, qzgeo


@pytest.mark.parametrize("command", ["convert", "check", "analyze"])
def test_garbage_geojson_is_refused_without_the_driver_prefix_hint(
    tmp_path: Path, command: str
) -> None:
    bad = tmp_path / "地块.geojson"
    bad.write_text("{not json", encoding="utf-8")
    args = {
        "convert": ("convert", bad, tmp_path / "out.gpkg"),
        "check": ("check", bad, "--pack", MINIPACK),
        "analyze": ("analyze", "--parcels", bad, "--pack", MINIPACK, "--out", tmp_path / "o"),
    }[command]
    res = qzgeo(*args)
    assert_exit2(res, "地块.geojson", "corrupt or truncated")
    assert "<DRIVER>" not in res.output and "CSV:path" not in res.output, res.output
