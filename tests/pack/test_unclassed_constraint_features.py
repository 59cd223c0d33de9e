"""A pack constraint feature whose class cell is empty is in no constraint class: said.

Found by out21: a 三线 layer with one red line whose 类别 was NULL (an edit in QGIS that left
the cell empty) passed `validate` ("OK"), and a site lying wholly inside that red line came out
"clear" from `check` (and available from `analyze`), with no word anywhere: the feature was in
no class of `constraint_classes`, so nothing was checked against it.

The site is a hand-made 200 m square in GK zone 36 (40 000 m² planar); its area in the
report is checked against the independent oracle (pyproj.Geod on 10 m steps).
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from tests.data.packs import copy_minipack, run_cli
from tests.data.real_shaped.oracles import projected_polygon_m2

X0, Y0 = 36_564_000.0, 2_399_000.0  # EPSG:4524, as in tests/data/make_minipack.py
GK = "EPSG:4524"
SITE = (X0 + 1100, Y0 + 700, X0 + 1300, Y0 + 900)  # inside the 城镇开发边界, in zone 乙


def _pack(tmp_path: Path, blank: str | None) -> Path:
    pack = copy_minipack(tmp_path / "pack")
    gpkg = pack / "layers" / "mini.gpkg"
    lines = gpd.read_file(gpkg, layer="control_lines")
    red = gpd.GeoDataFrame(
        {"类别": [blank], "来源": ["test"], "精度": ["schematic"]},
        geometry=[shapely.box(X0 + 1000, Y0 + 600, X0 + 1400, Y0 + 1000)],
        crs=GK,
    ).to_crs(lines.crs)
    pd.concat([lines, red], ignore_index=True).to_file(gpkg, layer="control_lines")
    return pack


def _site(tmp_path: Path) -> Path:
    path = tmp_path / "site.gpkg"
    gpd.GeoDataFrame({"名称": ["甲"]}, geometry=[shapely.box(*SITE)], crs=GK).to_file(path)
    return path


def _said(text: str) -> bool:
    return (
        "1 feature(s) of constraint layer 'control_lines'" in text
        and "no 类别 (fid 4)" in text
        and "no site or parcel is checked against them" in text
        and "fill in their 类别 with one of 生态保护红线" in text
    )


@pytest.mark.parametrize("blank", [None, ""], ids=["null", "empty"])
def test_validate_check_and_analyze_say_the_unclassed_feature(
    tmp_path: Path, blank: str | None
) -> None:
    pack, site = _pack(tmp_path, blank), _site(tmp_path)
    res = run_cli("validate", "--pack", pack)
    assert res.exit_code == 0 and _said(res.output), res.output

    res = run_cli("check", site, "--pack", pack, "--format", "json")
    assert res.exit_code == 0, res.output  # clear: the feature is in no class, as before
    [report] = json.loads(res.stdout)
    assert report["area_m2"] == pytest.approx(
        projected_polygon_m2(shapely.box(*SITE).exterior.coords[:-1], crs=GK), abs=0.011
    )
    assert report["conflicts"] == []
    assert [w for w in report["warnings"] if _said(w)], report["warnings"]

    out = tmp_path / "out"
    res = run_cli("analyze", "--parcels", site, "--pack", pack, "--out", out)
    assert res.exit_code == 0, res.output
    warnings = json.loads((out / "internal" / "parcels_report.json").read_text("utf-8"))
    assert [w for w in warnings["repairs"]["warnings"] if _said(w)], warnings
