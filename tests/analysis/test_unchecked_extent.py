"""A parcel straddling the pack's extent: the part outside is 未核查 (``unchecked_m2``).

Before, that part was counted as available in a pack without a boundary class, and as
constrained (outside the 城镇开发边界) in a pack with one: a guess either way, since the pack
has no data there. The pack is made here, with its extent; parcels are in lon/lat and in
CGCS2000 GK zone 36 (EPSG:4524). Oracle: ``pyproj.Geod`` on the oriented rings of lon/lat
geometries cut by the lon/lat box with shapely (the extent's edges are meridians and
parallels: straight lines in lon/lat), densified to ≈ 10 m so that straight edges in lon/lat
and in GK agree far below the tolerance.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry
from support import geod_ring_area

from qzgeo.pipeline import run_analyze

GEOD = Geod(ellps="GRS80")
EXTENT = (108.50, 21.60, 108.70, 21.80)
STEP = 0.0001


def ring_area(geom: BaseGeometry) -> float:
    # densified after the overlay: cuts along parallels must bow like parallels
    return geod_ring_area(geom, densify_deg=STEP)


def write_pack(root: Path, *, boundary: bool) -> dict[str, BaseGeometry]:
    """A pack with a red line near the east edge of its extent (and a boundary, if asked)."""
    red = box(108.60, 21.62, 108.75, 21.66)  # runs 0.05° past the east edge
    farm = box(108.69, 21.60, 108.72, 21.645)  # overlaps the red line, in and out of the box
    udb = box(108.52, 21.61, 108.70, 21.80)  # ends exactly at the east and north edges
    (root / "layers").mkdir(parents=True)
    (root / "styles").mkdir()
    (root / "maps").mkdir()
    classes = ["生态保护红线", "永久基本农田", *(["城镇开发边界"] if boundary else [])]
    geoms = [red, farm, *([udb] if boundary else [])]
    gpd.GeoDataFrame(
        {"类别": classes, "来源": "made by this test", "精度": "示意"},
        geometry=[shapely.segmentize(g, STEP) for g in geoms],
        crs="EPSG:4490",
    ).to_file(root / "layers" / "lines.gpkg", layer="lines")
    kinds = '"生态保护红线" = "exclusion", "永久基本农田" = "exclusion"'
    kinds += ', "城镇开发边界" = "boundary"' if boundary else ""
    (root / "layers" / "catalog.toml").write_text(
        f"""[pack]
name = "edge"
title = "边缘测试"
planar_crs = "EPSG:4524"
extent = [{", ".join(str(v) for v in EXTENT)}]

[[layers]]
id = "lines"
title = "控制线"
role = "constraint"
path = "lines.gpkg"
layer = "lines"
sensitivity = "internal"
class_field = "类别"
constraint_classes = {{ {kinds} }}
source = "made by this test"
licence = "CC0"
precision = "schematic"
""",
        encoding="utf-8",
    )
    return {"red": red, "farm": farm, "udb": udb}


# lon/lat parcels: across the east edge, over the red line; across the north edge; inside.
PARCELS = {
    "east_red": box(108.69, 21.63, 108.71, 21.65),
    "north": box(108.60, 21.79, 108.61, 21.81),
    "inside": box(108.60, 21.70, 108.61, 21.71),
    "corner": shapely.Polygon(
        [(108.695, 21.795), (108.705, 21.797), (108.703, 21.805), (108.696, 21.802)]
    ),
}


def oracle(geom: BaseGeometry, g: dict[str, BaseGeometry], *, boundary: bool) -> dict[str, float]:
    ext = box(*EXTENT)
    inside, outside = geom.intersection(ext), geom.difference(ext)
    excluded = g["red"].union(g["farm"])  # they overlap: counted once
    kept = inside.difference(excluded)
    if boundary:
        kept = kept.intersection(g["udb"])
    known = ring_area(outside.intersection(excluded))  # the pack's exclusions, outside too
    return {
        "area_m2": ring_area(geom),
        "unchecked_m2": ring_area(outside) - known,
        "available_m2": ring_area(kept),
        "red": ring_area(geom.intersection(g["red"])),
        "farm": ring_area(geom.intersection(g["farm"])),
        "constrained_m2": ring_area(inside) - ring_area(kept) + known,
    }


def analyze(
    tmp_path: Path, *, boundary: bool, crs: str, chunk_rows: int | None = None
) -> tuple[gpd.GeoDataFrame, dict]:
    g = write_pack(tmp_path / "pack", boundary=boundary)
    dense = [shapely.segmentize(p, STEP) for p in PARCELS.values()]
    parcels = gpd.GeoDataFrame({"name": list(PARCELS)}, geometry=dense, crs="EPSG:4490").to_crs(crs)
    parcels.to_file(tmp_path / "parcels.gpkg")
    summary = run_analyze(
        tmp_path / "parcels.gpkg",
        tmp_path / "out",
        pack_dir=tmp_path / "pack",
        chunk_rows=chunk_rows,
    )
    result = gpd.read_file(tmp_path / "out" / "internal" / "parcels.gpkg").set_index("name")
    report = json.loads((tmp_path / "out" / "internal" / "parcels_report.json").read_text("utf-8"))
    return result, {"geoms": g, "report": report, "line": summary.one_line()}


@pytest.mark.parametrize("boundary", [False, True])
@pytest.mark.parametrize("crs", ["EPSG:4490", "EPSG:4524"])
def test_part_outside_the_extent_is_unchecked(tmp_path: Path, boundary: bool, crs: str) -> None:
    result, ctx = analyze(tmp_path, boundary=boundary, crs=crs)
    for name, geom in PARCELS.items():
        row = result.loc[name]
        want = oracle(shapely.segmentize(geom, STEP), ctx["geoms"], boundary=boundary)
        for col in ("area_m2", "unchecked_m2", "available_m2", "constrained_m2"):
            assert row[col] == pytest.approx(want[col], rel=1e-6, abs=0.05), (name, col)
        assert row["lines:生态保护红线"] == pytest.approx(want["red"], rel=1e-6, abs=0.05)
        assert row["lines:永久基本农田"] == pytest.approx(want["farm"], rel=1e-6, abs=0.05)
        total = row["available_m2"] + row["constrained_m2"] + row["unchecked_m2"]
        assert total == pytest.approx(row["area_m2"], rel=1e-9)
    assert result.loc["inside", "unchecked_m2"] == 0.0
    # east_red's outside part lies partly on the red line, which the pack holds out there too
    outside = ring_area(PARCELS["east_red"].difference(box(*EXTENT)))
    assert result.loc["east_red", "unchecked_m2"] < 0.8 * outside
    # Only the red line makes a conflict: the unchecked part outside the boundary does not.
    assert bool(result.loc["east_red", "conflict"])
    assert not bool(result.loc["north", "conflict"])
    if boundary:
        assert result.loc["north", "inside_boundary"] == pytest.approx(1.0, abs=1e-9)
    else:
        assert np.isnan(result.loc["north", "inside_boundary"])
    # The warning for each straddling parcel travels with the result.
    warnings = ctx["report"]["repairs"]["warnings"]
    warned = [w for w in warnings if "partly outside" in w and "parcels.gpkg: feature" in w]
    assert len(warned) == 3


@pytest.mark.parametrize("chunk_rows", [None, 2])
def test_summary_has_the_unchecked_total(tmp_path: Path, chunk_rows: int | None) -> None:
    # chunk_rows=2: the streamed path (chunks of 2 parcels) gives the same columns and totals
    result, ctx = analyze(tmp_path, boundary=True, crs="EPSG:4524", chunk_rows=chunk_rows)
    assert ctx["report"]["unchecked_ha"] == pytest.approx(result["unchecked_m2"].sum() / 1e4)
    ha = result["unchecked_m2"].sum() / 1e4
    printed = f"{ha:.2f} 公顷 ({ha * 15:.1f} 亩) unchecked (outside the pack's extent)"
    assert printed in ctx["line"]  # printed last
    summary = pd.read_csv(tmp_path / "out" / "internal" / "parcels_summary.csv")
    total = summary[summary["分区图层"] == "合计"].iloc[0]
    # the file holds 公顷 to 6 decimals (0.01 m²): each figure within half of that
    assert total["未核查_公顷"] == pytest.approx(result["unchecked_m2"].sum() / 1e4, abs=5e-7)
    assert total["未核查_公顷"] > 0
    parts = total["可用_公顷"] + total["受约束_公顷"] + total["未核查_公顷"]
    assert parts == pytest.approx(total["面积_公顷"], abs=2e-6)


def test_a_geos_error_cutting_the_extent_is_retried_not_raised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Near-coincident edges can make GEOS raise on the cut: the 1 mm retry, as in the engine."""
    from pyproj import CRS

    from qzgeo.analysis import parcel_extent

    real = shapely.difference

    def flaky(a: object, b: object, **kw: object) -> object:
        if isinstance(a, np.ndarray) and "grid_size" not in kw:
            raise shapely.errors.GEOSException("TopologyException: side location conflict")
        return real(a, b, **kw)

    monkeypatch.setattr(parcel_extent.shapely, "difference", flaky)
    crs = CRS.from_epsg(4524)
    parcel = gpd.GeoSeries([PARCELS["north"]], crs=4490).to_crs(crs).to_numpy()
    pos, pieces = parcel_extent.outside_parts(np.asarray(parcel, dtype=object), crs, EXTENT)
    assert pos.tolist() == [0]
    lonlat = gpd.GeoSeries(pieces, crs=crs).to_crs(4490).iloc[0]
    assert ring_area(lonlat) == pytest.approx(
        ring_area(PARCELS["north"].difference(box(*EXTENT))), rel=1e-6
    )
