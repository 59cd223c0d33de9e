"""Zone analysis against hand-made squares and against an independent geopandas overlay."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from support import get_path

from qzgeo.analysis.zones import analyze_pack
from qzgeo.geo.area import ellipsoidal_area
from qzgeo.pack.catalog import load_pack
from qzgeo.pack.load import load_pack_layers

MINIPACK = get_path("minipack")

GK_SCALE = 2e-4  # GK zone 36 area scale error 64 km from the central meridian


@pytest.fixture(scope="module")
def result():  # type: ignore[no-untyped-def]
    return analyze_pack(load_pack_layers(load_pack(MINIPACK)))


def _row(summary: pd.DataFrame, name: str) -> pd.Series:
    return summary.set_index("名称").loc[name]


def test_available_land_matches_hand_computation(result) -> None:  # type: ignore[no-untyped-def]
    s = result.zone_summary
    jia, yi = _row(s, "甲区"), _row(s, "乙区")
    assert jia["zone_ha"] == pytest.approx(100, rel=GK_SCALE)
    assert jia["available_ha"] == pytest.approx(75, rel=GK_SCALE)
    assert jia["生态保护红线_ha"] == pytest.approx(25, rel=GK_SCALE)
    # 乙区: 25 ha farmland + 20 ha outside the boundary, 10 ha of which are both.
    assert yi["available_ha"] == pytest.approx(65, rel=GK_SCALE)
    assert yi["永久基本农田_ha"] == pytest.approx(25, rel=GK_SCALE)
    assert yi["城镇开发边界外_ha"] == pytest.approx(20, rel=GK_SCALE)
    assert yi["constrained_ha"] == pytest.approx(35, rel=GK_SCALE)
    assert yi["available_mu"] == pytest.approx(65 * 15, rel=GK_SCALE)


def test_area_is_conserved(result) -> None:  # type: ignore[no-untyped-def]
    s = result.zone_summary
    total = s["available_m2"] + s["constrained_m2"]
    assert (abs(total - s["zone_m2"]) / s["zone_m2"]).max() < 1e-6


def test_conflict_patches_have_stable_ids_and_classes(result) -> None:  # type: ignore[no-untyped-def]
    c = result.conflicts
    assert sorted(c["类别"]) == ["城镇开发边界外", "永久基本农田", "生态保护红线"]
    assert c["id"].is_unique
    assert "zones-2-control_lines-永久基本农田-1" in set(c["id"])
    assert set(c["mode"]) == {"exclusion", "boundary"}
    assert result.sensitivity["conflicts"] == "internal"  # derived from an internal layer


def test_against_independent_geopandas_overlay(result) -> None:  # type: ignore[no-untyped-def]
    gpkg = Path(MINIPACK) / "layers" / "mini.gpkg"
    zones = gpd.read_file(gpkg, layer="zones").to_crs(4545)
    # The area of a planar (GK) region: its straight edges densified to 10 m before measuring
    # on the ellipsoid, so that the oracle does not depend on where the vertices are.
    zones["geometry"] = zones.geometry.segmentize(10.0)
    cons = gpd.read_file(gpkg, layer="control_lines").to_crs(4545)
    excl = cons[cons["类别"] != "城镇开发边界"].dissolve()
    boundary = cons[cons["类别"] == "城镇开发边界"]
    inside = gpd.overlay(zones, boundary[["geometry"]], how="intersection")
    available = gpd.overlay(inside, excl[["geometry"]], how="difference")
    # the pieces' edges cut from the constraints are straight in GK too: densified likewise
    available["geometry"] = available.geometry.segmentize(10.0)
    expected = ellipsoidal_area(available.to_crs(4490).geometry.values)
    got = result.available_land.set_index("名称").loc[list(available["名称"]), "area_m2"]
    assert list(got) == pytest.approx(list(expected), rel=1e-8)


# A valid zone with a near-degenerate spike: the vertex (36564500, 2400456.64...) lies within
# rounding of the edge that comes back from the tip. GEOS 3.14's segmentize of such a polygon
# re-validates it by buffer(0) and kept a sliver of 3e-5 m²: the zone measured 0 m².
SPIKED_ZONE = (
    "POLYGON ((36564279.12604497 2399367.28950483, 36564500 2399500.0039661787, "
    "36564500 2400456.6433519195, 36564823.25095509 2400650.872120898, "
    "36563856.79482353 2400070.1666914187, 36564279.12604497 2399367.28950483))"
)


def test_a_zone_with_a_near_degenerate_spike_keeps_its_area(tmp_path: Path) -> None:
    import shutil

    import numpy as np
    import shapely
    from pyproj import Geod, Transformer

    pack = tmp_path / "pack"
    shutil.copytree(MINIPACK, pack)
    gpkg = pack / "layers" / "mini.gpkg"
    zones = gpd.read_file(gpkg, layer="zones")
    zones.loc[zones.index[0], "geometry"] = shapely.from_wkt(SPIKED_ZONE)
    zones.to_file(gpkg, layer="zones", driver="GPKG")
    s = analyze_pack(load_pack_layers(load_pack(pack))).zone_summary
    # Oracle: pyproj.Geod on the ring, densified straight in the stored GK plane.
    ring = np.asarray(shapely.segmentize(shapely.from_wkt(SPIKED_ZONE).exterior, 5.0).coords)
    lon, lat = Transformer.from_crs(zones.crs, "EPSG:4490", always_xy=True).transform(*ring.T)
    expected = abs(Geod(ellps="GRS80").polygon_area_perimeter(lon, lat)[0])
    assert expected > 400_000
    row = s.iloc[0]
    assert row["zone_m2"] == pytest.approx(expected, rel=1e-6)
    assert row["available_m2"] + row["constrained_m2"] == pytest.approx(expected, rel=1e-6)
