"""Zone m² of zones tens of km wide, against an oracle that shares no code with qzgeo.

Oracle: ``support.geod_planar_m2`` (GK rings densified to 100 m, ``pyproj.Geod``). The zone
table measures zones on the ellipsoid after densifying them to 50 m (``zones.DENSIFY_M``);
this pins that it stays within the targets of the parcel areas (1e-7 up to 20 km, 1e-6 up to
100 km) for large zones, far from the central meridian, cut by constraint classes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import box
from support import MINIPACK, geod_planar_m2

from qzgeo.analysis.zones import analyze_pack
from qzgeo.pack.catalog import load_pack
from qzgeo.pack.load import load_pack_layers

GK = "EPSG:4524"  # the minipack's zone CRS (GK zone 36, CM 108°E, zone prefix)
X0, Y0 = 36_600_000.0, 2_380_000.0  # ~109°E, 21.5°N: 100 km off the central meridian


def _pack(tmp_path: Path, zones: list[shapely.Geometry]) -> tuple[Path, gpd.GeoDataFrame]:
    pack = Path(shutil.copytree(MINIPACK, tmp_path / "pack"))
    gpkg = pack / "layers" / "mini.gpkg"
    n = len(zones)
    gpd.GeoDataFrame(
        {"名称": [f"Z{i}" for i in range(n)], "主导产业": ["-"] * n, "来源": ["t"] * n,
         "精度": ["-"] * n, "secret": ["-"] * n},
        geometry=zones, crs=GK,
    ).to_file(gpkg, layer="zones", driver="GPKG")  # fmt: skip
    cuts = [
        ("生态保护红线", box(X0 - 5_000, Y0 - 5_000, X0 + 7_000, Y0 + 105_000)),
        ("永久基本农田", box(X0 + 30_000, Y0 + 40_000, X0 + 60_000, Y0 + 70_000)),
        ("城镇开发边界", box(X0 - 8_000, Y0 - 8_000, X0 + 80_000, Y0 + 108_000)),
    ]
    lines = gpd.GeoDataFrame(
        {"类别": [c for c, _ in cuts], "来源": ["t"] * 3, "精度": ["-"] * 3},
        geometry=[g.segmentize(500.0) for _, g in cuts],
        crs=GK,
    ).to_crs("EPSG:4490")
    lines.to_file(gpkg, layer="control_lines", driver="GPKG")
    return pack, lines


@pytest.mark.parametrize("size", [20_000.0, 100_000.0])
def test_zone_m2_match_the_oracle(tmp_path: Path, size: float) -> None:
    zone = box(X0, Y0, X0 + size, Y0 + size)
    pack, lines = _pack(tmp_path, [zone])
    loaded = load_pack_layers(load_pack(pack))
    row = analyze_pack(loaded).zone_summary.iloc[0]
    rel = 1e-7 if size <= 20_000 else 1e-6
    want = geod_planar_m2(zone, GK)
    assert row["zone_m2"] == pytest.approx(want, rel=rel)
    # Available: the zone less the classes, as the overlay sees them (vertices moved to GK).
    planar = lines.to_crs(GK).geometry.values
    removed = shapely.union_all([*planar[:2], shapely.difference(zone, planar[2])])
    want_available = geod_planar_m2(shapely.difference(zone, removed), GK)
    assert row["available_m2"] == pytest.approx(want_available, rel=rel)
    assert row["available_m2"] + row["constrained_m2"] == pytest.approx(want, rel=rel)
