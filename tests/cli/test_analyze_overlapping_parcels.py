"""`qzgeo analyze` says which parcels overlap, on the terminal and in parcels_report.json.

A duplicated parcel used to be counted twice in every total of the run without a word. The
warning names the pair by feature id (to select it in QGIS) and the land counted twice, in
memory and streamed alike. Oracle: the area of the hand-made square on the GRS80 ellipsoid
(pyproj.Geod).
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
from packs import all_output, run_cli
from pyproj import Geod
from shapely.geometry import box
from support import ROOT

#: Inside the bundled pack's 港口核心区 (EPSG:4524).
X0, Y0 = 36_569_300.0, 2_410_600.0


def _parcels(path: Path) -> Path:
    cells = [box(X0 + 50 * i, Y0, X0 + 50 * (i + 1), Y0 + 50) for i in range(8)]
    gdf = gpd.GeoDataFrame(
        {"地块编号": [f"P{i}" for i in range(9)]}, geometry=[*cells, cells[2]], crs="EPSG:4524"
    )
    gdf.to_file(path, driver="GPKG")  # fid 3 and fid 9: the same square
    return path


@pytest.mark.parametrize("chunks", [[], ["--chunk-rows", "4", "--workers", "1"]])
def test_a_duplicated_parcel_is_said_on_the_terminal_and_in_the_report(
    tmp_path: Path, chunks: list[str]
) -> None:
    out = tmp_path / "out"
    res = run_cli(
        "analyze", "--parcels", _parcels(tmp_path / "p.gpkg"), "--pack", ROOT, "--out", out,
        *chunks,
    )  # fmt: skip
    assert res.exit_code == 0, all_output(res)
    warned = [line for line in res.stderr.splitlines() if line.startswith("warning:")]
    assert len(warned) == 1, res.stderr
    assert "1 pair(s) of parcels overlap (fid 3 and 9:" in warned[0]
    assert "counted twice" in res.stdout
    rep = json.loads((out / "internal" / "parcels_report.json").read_text(encoding="utf-8"))
    o = rep["overlapping_parcels"]
    ll = gpd.GeoSeries([box(X0 + 100, Y0, X0 + 150, Y0 + 50)], crs="EPSG:4524").to_crs(4490)
    want = abs(Geod(ellps="GRS80").geometry_area_perimeter(ll.iloc[0])[0])
    assert o["pairs"] == 1 and o["first_pairs"][0]["fids"] == [3, 9]
    assert o["overlap_m2"] == pytest.approx(want, rel=1e-7)
    assert any("fid 3 and 9" in w for w in rep["repairs"]["warnings"])
