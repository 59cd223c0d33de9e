"""`qzgeo analyze --parcels` on parcels tens of km wide: ellipsoidal areas to the oracle and
no false conservation failures in report.json.

The pack is the minipack with its layers replaced: one zone over everything and a control
line layer whose parts cut the parcels. Truth (``support.geod_planar_m2``: 100 m densified
GK rings through ``pyproj.Geod``) conserves; the centroid-sampled scale factor made
available + constrained differ from the parcel by 7e-7..4e-6 relative, and the check fired.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
from packs import all_output, run_cli
from shapely.geometry import box
from support import geod_planar_m2

GK = "EPSG:4524"  # the minipack's zone layer CRS: GK zone 36 with the zone prefix
X0, Y0 = 36_530_000.0, 2_380_000.0  # ~108.3°E, 21.5°N


def _pack(mini: Path) -> None:
    gpkg = mini / "layers" / "mini.gpkg"
    zone = gpd.GeoDataFrame(
        {"名称": ["全域"], "主导产业": ["-"], "来源": ["test"], "精度": ["-"], "secret": ["-"]},
        geometry=[box(X0 - 10_000, Y0 - 10_000, X0 + 130_000, Y0 + 70_000)],
        crs=GK,
    )
    zone.to_file(gpkg, layer="zones", driver="GPKG")
    cuts = [
        ("生态保护红线", box(X0 - 5_000, Y0 - 5_000, X0 + 12_000, Y0 + 65_000)),
        ("生态保护红线", box(X0 + 70_000, Y0 + 30_000, X0 + 125_000, Y0 + 65_000)),
        ("永久基本农田", box(X0 + 30_000, Y0 - 5_000, X0 + 45_000, Y0 + 20_000)),
        # The boundary takes the far corner of the second parcel (outside: constrained).
        ("城镇开发边界", box(X0 - 8_000, Y0 - 8_000, X0 + 100_000, Y0 + 55_000)),
    ]
    lines = gpd.GeoDataFrame(
        {"类别": [c for c, _ in cuts], "来源": ["test"] * 4, "精度": ["-"] * 4},
        geometry=[g.segmentize(500.0) for _, g in cuts],
        crs=GK,
    ).to_crs("EPSG:4490")
    lines.to_file(gpkg, layer="control_lines", driver="GPKG")


@pytest.mark.parametrize("sizes", [(20_000.0, 50_000.0), (60_000.0,)])
def test_large_parcels_conserve_and_match_the_oracle(
    mini: Path, tmp_path: Path, sizes: tuple[float, ...]
) -> None:
    _pack(mini)
    geoms = []
    x = X0
    for s in sizes:
        geoms.append(box(x, Y0, x + s, Y0 + s))
        x += s + 1_000
    parcels = gpd.GeoDataFrame(
        {"地块编号": [f"P{i}" for i in range(len(geoms))]}, geometry=geoms, crs=GK
    )
    path = tmp_path / "big.gpkg"
    parcels.to_file(path, driver="GPKG")
    out = tmp_path / "out"
    res = run_cli("analyze", "--parcels", path, "--pack", mini, "--out", out)
    assert res.exit_code == 0, all_output(res)
    (report,) = out.glob("*/parcels_report.json")
    rep = json.loads(report.read_text(encoding="utf-8"))
    assert rep["overlay"]["conservation_failures"] == [], rep["overlay"]
    got = gpd.read_file(report.parent / "parcels.gpkg")
    for row, geom in zip(got.itertuples(), geoms, strict=True):
        want = geod_planar_m2(geom, GK)
        rel = 1e-7 if max(sizes) <= 20_000 else 1e-6
        assert abs(row.area_m2 - want) <= rel * want, (row.area_m2, want)
        # What is left and what is taken add up to the truth (0.01 m² rounding each).
        total = row.available_m2 + row.constrained_m2
        assert abs(total - want) <= rel * want + 0.02, (total, want)
