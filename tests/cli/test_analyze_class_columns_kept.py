"""A parcel file that holds a constraint class's column (``layer:class``) keeps it.

Found by out13: analyzing parcels.gpkg of an earlier run again (after editing it, or with a
newer pack) replaced its ``control_lines:永久基本农田`` values with the new ones without a
word, while ``area_m2`` and the other result columns were kept as ``..._input`` with a
warning; a text column of that name was overwritten alike.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from packs import all_output, run_cli
from shapely.geometry import box

X0, Y0 = 36_564_000.0, 2_399_000.0
COL = "control_lines:永久基本农田"


@pytest.mark.parametrize("chunked", [False, True], ids=["in-memory", "chunks"])
@pytest.mark.parametrize("values", [[123.0, 456.0], ["旧", "值"]], ids=["numbers", "text"])
def test_an_earlier_class_column_is_kept_as_input(
    mini: Path, tmp_path: Path, values: list[object], chunked: bool
) -> None:
    boxes = [box(X0 + 400 * i, Y0 + 100, X0 + 400 * i + 300, Y0 + 400) for i in range(2)]
    src = tmp_path / "again.gpkg"
    gpd.GeoDataFrame({COL: values}, geometry=boxes, crs="EPSG:4524").to_file(src)
    out = tmp_path / "out"
    extra = ["--chunk-rows", "1"] if chunked else []
    res = run_cli("analyze", "--parcels", src, "--pack", mini, "--out", out, *extra)
    assert res.exit_code == 0, all_output(res)
    [gpkg] = out.rglob("parcels.gpkg")
    got = pyogrio.read_dataframe(gpkg)
    assert list(got[f"{COL}_input"]) == values
    assert got[COL].dtype.kind == "f"  # this run's m², not the old values
    assert list(got[COL]) != values
    [report] = out.rglob("parcels_report.json")
    assert f"{COL}_input" in report.read_text(encoding="utf-8")
