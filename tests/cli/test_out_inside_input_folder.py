"""An input that is a folder (a ``.gdb``, a folder of shapefiles) is read whole: no output may
go inside it. `convert SRC.gdb SRC.gdb/x.shp` wrote into the input, and `check --out` made its
output folder there; `analyze` of such a folder stopped with a bare "[Errno 21] Is a
directory" (its hash for parcels_report.json), and is now analyzed like a file."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import geopandas as gpd
import pytest
from packs import all_output, assert_no_traceback, run_cli
from shapely.geometry import box

X0, Y0 = 36_564_000.0, 2_399_000.0


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder of shapefiles, as GDAL reads it whole (like a .gdb)."""
    src = tmp_path / "parcels_folder"
    src.mkdir()
    boxes = [box(X0 + 400 * i, Y0 + 100, X0 + 400 * i + 300, Y0 + 400) for i in range(3)]
    gdf = gpd.GeoDataFrame({"code": ["A", "B", "C"]}, geometry=boxes, crs="EPSG:4524")
    gdf.to_file(src / "parcels.shp", engine="pyogrio")
    return src


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize(
    "command",
    [
        ["analyze", "--parcels", "{src}", "--out", "{src}/out"],
        ["check", "{src}", "--format", "json", "--out", "{src}/out"],
        ["convert", "{src}", "{src}/copy.shp"],
    ],
    ids=["analyze", "check", "convert"],
)
def test_no_output_goes_inside_an_input_folder(folder: Path, command: list[str]) -> None:
    before = _digest(folder)
    result = run_cli(*[a.format(src=folder) for a in command])
    assert_no_traceback(result)
    assert result.exit_code == 2, result.output
    text = all_output(result)
    assert "inside the input folder" in text and str(folder.name) in text, text
    assert _digest(folder) == before
    assert sorted(p.name for p in folder.iterdir()) == sorted(before)


def test_an_input_folder_is_analyzed_and_hashed(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli("analyze", "--parcels", folder, "--out", out)
    assert result.exit_code == 0, all_output(result)
    report = json.loads((out / "internal" / "parcels_report.json").read_text(encoding="utf-8"))
    assert set(report["inputs"]) == {folder.name} and len(report["inputs"][folder.name]) == 64
