"""A pack whose coverage is a polygon layer (``[pack] coverage_layer``), not only its box.

A 锦州 tester's parcel in a neighbouring city, inside the pack's box but outside every layer
of the pack, was "城镇开发边界外" (a conflict): a verdict about land the pack holds no data
for. With the districts declared as the coverage, the part of a parcel outside them is
未核查 (``unchecked_m2``), exactly as the part outside the box was; a red line the pack
holds out there still counts. The pack is made here: two districts sharing an edge, with a
hole (another city's enclave) and an island that reaches past the box's east edge.

Oracle: shapely in lon/lat (the coverage's and the box's edges are straight in lon/lat),
the pieces densified to ≈ 10 m, and ``pyproj.Geod`` on oriented rings (``support``).
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import Polygon, box
from shapely.geometry.base import BaseGeometry
from support import geod_ring_area

from qzgeo.pipeline import run_analyze

EXTENT = (108.50, 21.60, 108.70, 21.80)
STEP = 0.0001
# Two districts sharing the line (108.535, 21.70)-(108.67, 21.69): their union is one shape
WEST, EAST = (108.52, 21.62), (108.66, 21.63)
NE, NW = (108.68, 21.75), (108.55, 21.78)
MID_W, MID_E = (108.535, 21.70), (108.67, 21.69)
HOLE = box(108.58, 21.72, 108.60, 21.74)  # an enclave: not the pack's land
SOUTH = Polygon([WEST, EAST, MID_E, MID_W])
NORTH = Polygon([MID_W, MID_E, NE, NW], holes=[HOLE.exterior.coords])
ISLAND = box(108.69, 21.61, 108.75, 21.64)  # reaches past the east edge of the box
COVERAGE = shapely.union_all([SOUTH, NORTH, ISLAND]).intersection(box(*EXTENT))

RED = box(108.64, 21.645, 108.72, 21.66)  # across the east edge of the districts
FARM = box(108.655, 21.64, 108.69, 21.65)  # overlaps the red line, in and out of them
UDB = box(108.53, 21.62, 108.70, 21.80)

PARCELS = {
    # a neighbouring city (inside the box, outside the districts), outside the boundary: it
    # was a conflict (城镇开发边界外)
    "neighbour": box(108.505, 21.70, 108.515, 21.71),
    # outside the districts, inside the boundary: it was available
    "neighbour_udb": box(108.62, 21.785, 108.63, 21.795),
    "across_west": box(108.52, 21.65, 108.535, 21.66),  # across the west edge and the UDB's
    "across_north": box(108.60, 21.76, 108.61, 21.775),  # across the districts' north edge
    "hole": box(108.585, 21.725, 108.59, 21.73),  # in the enclave
    "across_hole": box(108.595, 21.735, 108.605, 21.745),
    "red_out": box(108.69, 21.647, 108.695, 21.655),  # on the red line, outside the districts
    "island": box(108.692, 21.612, 108.698, 21.618),  # checked: outside the UDB, a conflict
    # on the island, along the coverage's edge (the box's east edge): checked, no sliver
    "island_edge": box(108.695, 21.625, 108.70, 21.63),
    "inside": box(108.60, 21.65, 108.61, 21.66),
    "across_border": box(108.60, 21.69, 108.61, 21.70),  # across the two districts' border
}


def ring_area(geom: BaseGeometry) -> float:
    return geod_ring_area(geom, densify_deg=STEP)


def write_pack(root: Path, *, coverage: bool = True) -> None:
    """The pack: districts (base, public) and control lines; ``coverage``: declared."""
    (root / "layers").mkdir(parents=True)
    (root / "styles").mkdir()
    (root / "maps").mkdir()
    gpd.GeoDataFrame(
        {"名称": ["南区", "北区", "岛"], "来源": "made by this test", "精度": "示意"},
        geometry=[shapely.segmentize(g, STEP) for g in (SOUTH, NORTH, ISLAND)],
        crs="EPSG:4490",
    ).to_file(root / "layers" / "pack.gpkg", layer="districts")
    gpd.GeoDataFrame(
        {"类别": ["生态保护红线", "永久基本农田", "城镇开发边界"], "来源": "test", "精度": "示意"},
        geometry=[shapely.segmentize(g, STEP) for g in (RED, FARM, UDB)],
        crs="EPSG:4490",
    ).to_file(root / "layers" / "pack.gpkg", layer="lines")
    kinds = (
        '"生态保护红线" = "exclusion", "永久基本农田" = "exclusion", "城镇开发边界" = "boundary"'
    )
    (root / "layers" / "catalog.toml").write_text(
        f"""[pack]
name = "cover"
title = "覆盖范围测试"
planar_crs = "EPSG:4524"
extent = [{", ".join(str(v) for v in EXTENT)}]
{'coverage_layer = "districts"' if coverage else ""}

[[layers]]
id = "districts"
title = "行政区"
role = "base"
path = "pack.gpkg"
layer = "districts"
sensitivity = "public"
name_field = "名称"
source = "made by this test"
licence = "CC0"
precision = "schematic"

[[layers]]
id = "lines"
title = "控制线"
role = "constraint"
path = "pack.gpkg"
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


def oracle(geom: BaseGeometry) -> dict[str, float]:
    inside, outside = geom.intersection(COVERAGE), geom.difference(COVERAGE)
    excluded = RED.union(FARM)
    kept = inside.difference(excluded).intersection(UDB)
    known = ring_area(outside.intersection(excluded))  # the pack's exclusions, outside too
    return {
        "area_m2": ring_area(geom),
        "unchecked_m2": ring_area(outside) - known,
        "available_m2": ring_area(kept),
        "constrained_m2": ring_area(inside) - ring_area(kept) + known,
    }


def write_parcels(path: Path, crs: str) -> Path:
    dense = [shapely.segmentize(p, STEP) for p in PARCELS.values()]
    gdf = gpd.GeoDataFrame({"name": list(PARCELS)}, geometry=dense, crs="EPSG:4490")
    gdf.to_crs(crs).to_file(path)
    return path


def analyze(
    tmp_path: Path, *, crs: str = "EPSG:4524", coverage: bool = True, **kw: object
) -> tuple[gpd.GeoDataFrame, dict, str]:
    pack, out = tmp_path / "pack", tmp_path / "out"
    if not pack.exists():
        write_pack(pack, coverage=coverage)
    parcels = write_parcels(tmp_path / "parcels.gpkg", crs)
    summary = run_analyze(parcels, out, pack_dir=pack, **kw)  # type: ignore[arg-type]
    result = gpd.read_file(out / "internal" / "parcels.gpkg").set_index("name")
    report = json.loads((out / "internal" / "parcels_report.json").read_text("utf-8"))
    return result, report, summary.one_line()


@pytest.mark.parametrize("crs", ["EPSG:4490", "EPSG:4524"])
def test_parts_outside_the_coverage_are_unchecked(tmp_path: Path, crs: str) -> None:
    result, report, line = analyze(tmp_path, crs=crs)
    for name, geom in PARCELS.items():
        row = result.loc[name]
        want = oracle(shapely.segmentize(geom, STEP))
        for col, value in want.items():
            assert row[col] == pytest.approx(value, rel=1e-6, abs=0.05), (name, col)
        total = row["available_m2"] + row["constrained_m2"] + row["unchecked_m2"]
        assert total == pytest.approx(row["area_m2"], rel=1e-8)  # the engine: at centroids
    # the tester's parcel: no longer a conflict, all of it unchecked
    assert not bool(result.loc["neighbour", "conflict"])
    assert result.loc["neighbour", "unchecked_m2"] == pytest.approx(
        result.loc["neighbour", "area_m2"], rel=1e-12
    )
    assert result.loc["neighbour_udb", "available_m2"] == 0.0
    assert result.loc["hole", "unchecked_m2"] == result.loc["hole", "area_m2"]
    # a red line the pack holds outside the coverage still counts, as outside the box
    assert bool(result.loc["red_out", "conflict"])
    assert result.loc["red_out", "unchecked_m2"] == pytest.approx(0.0, abs=0.05)
    # the island is checked: outside the boundary there
    assert bool(result.loc["island", "conflict"]) and result.loc["island", "unchecked_m2"] == 0
    for name in ("inside", "across_border", "island", "island_edge"):
        assert result.loc[name, "unchecked_m2"] == 0.0, name
    ha = result["unchecked_m2"].sum() / 1e4
    assert f"{ha:.2f} 公顷 ({ha * 15:.1f} 亩) unchecked (outside the pack's coverage)" in line
    assert report["unchecked_ha"] == pytest.approx(result["unchecked_m2"].sum() / 1e4)
    assert report["coverage"] == {"layer": "districts", "extent": list(EXTENT)}
    # one warning, counting them (a coverage hugs the land: thousands of parcels may cross
    # it); "red_out" lies on a red line the pack holds (nothing of it unchecked), "island_edge"
    # only touches the coverage's edge
    warnings = report["repairs"]["warnings"]
    (told,) = [w for w in warnings if "outside the pack coverage (layer 'districts'" in w]
    assert "6 feature(s) lie outside" in told, told
    assert "(3 partly, 3 wholly; feature 1, 2, 3, 4, 5, 6)" in told, told
    assert any("reaches outside the extent" in w for w in report["repairs"]["warnings"])


def test_without_a_coverage_the_box_rules_as_before(tmp_path: Path) -> None:
    """The same pack without `coverage_layer`: the neighbour is a conflict (the old answer),
    nothing inside the box is unchecked, and parcels_report.json has no `coverage`."""
    result, report, line = analyze(tmp_path, coverage=False)
    assert bool(result.loc["neighbour", "conflict"])
    assert result.loc["neighbour_udb", "available_m2"] > 0
    # (a parcel along the box's edge keeps a sliver of 1e-6 m² outside, as it did)
    assert (result["unchecked_m2"] < 1e-3).all()
    assert "coverage" not in report and "unchecked (outside the pack's coverage)" not in line


def test_in_memory_streamed_and_dask_give_the_same_table(tmp_path: Path) -> None:
    """One plan, three paths: in memory, streamed in chunks of 3 parcels, and Dask."""
    first, _, _ = analyze(tmp_path / "a")
    streamed, _, _ = analyze(tmp_path / "b", chunk_rows=3)
    pd.testing.assert_frame_equal(
        pd.DataFrame(streamed.drop(columns=["geometry", "source_fid"])),
        pd.DataFrame(first.drop(columns=["geometry", "source_fid"])),
        check_exact=True,
    )
    pytest.importorskip("dask_geopandas")
    distributed = pytest.importorskip("distributed")
    from qzgeo.analysis.distributed import analyze_parcels_dask
    from qzgeo.analysis.parcels import analyze_parcels
    from qzgeo.pack.catalog import load_pack
    from qzgeo.pack.load import load_pack_layers

    loaded = load_pack_layers(load_pack(tmp_path / "a" / "pack"))
    parcels = gpd.read_file(tmp_path / "a" / "parcels.gpkg")
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        got = analyze_parcels_dask(parcels, loaded, client=client, npartitions=3)
    single = analyze_parcels(parcels, loaded)
    assert single["unchecked_m2"].sum() > 0
    pd.testing.assert_frame_equal(
        pd.DataFrame(got.drop(columns="geometry")),
        pd.DataFrame(single.drop(columns="geometry")),
        check_exact=True,
    )
    np.testing.assert_array_equal(
        single.set_index("name")["unchecked_m2"].to_numpy(),
        first.loc[single["name"], "unchecked_m2"].to_numpy(),
    )


def test_the_parcels_map_names_the_coverage(tmp_path: Path) -> None:
    """部分未核查 on the map: parts outside the coverage, and its legend says so."""
    result, _, _ = analyze(tmp_path, make_map=True)
    page = (tmp_path / "out" / "internal" / "parcels.html").read_text(encoding="utf-8")
    assert "部分未核查 Partly outside the plan's coverage" in page
    assert "Partly outside the plan's extent" not in page
    assert (result["unchecked_m2"] > 0).sum() == 6


def test_the_parcels_map_shows_the_unchecked_area(tmp_path: Path) -> None:
    """A parcel's tooltip adds up where some of it is 未核查.

    It showed 面积 and 可用面积 only: the neighbour (wholly outside the districts, no conflict)
    read 面积 114.6 公顷, 可用 0, 冲突 否, as if its land were lost to a constraint that is no
    conflict. The page now gives 未核查面积 too, per parcel, equal to the oracle's.
    """
    _, _, _ = analyze(tmp_path, make_map=True)
    page = (tmp_path / "out" / "internal" / "parcels.html").read_text(encoding="utf-8")
    start = page.index("new L.QzgeoBigLayer(") + len("new L.QzgeoBigLayer(")
    tooltip = json.JSONDecoder().raw_decode(page, start)[0]["tooltip"]
    assert "unchecked_ha" in tooltip["fields"]
    labels = dict(zip(tooltip["fields"], tooltip["aliases"], strict=True))
    assert labels["unchecked_ha"] == "未核查面积（公顷）"
    cols = {
        f: [tooltip["dict"][j] for j in c]
        for f, c in zip(tooltip["fields"], tooltip["columns"], strict=True)
    }
    for k, (name, geom) in enumerate(PARCELS.items()):  # rows in the file's order
        want = oracle(shapely.segmentize(geom, STEP))["unchecked_m2"] / 10_000
        assert float(cols["unchecked_ha"][k]) == pytest.approx(want, abs=0.6e-4), name


def test_the_map_tells_unchecked_from_partly_unchecked(tmp_path: Path) -> None:
    """A parcel none of which the pack covers is "未核查" on the map, not "部分未核查"
    (partly): its tooltip shows 可用 0 beside 未核查面积 = 面积, and "partly" would say that
    some of it was checked."""
    from qzgeo.publish.parcels_map import parcel_states

    result, _, _ = analyze(tmp_path, make_map=True)
    states = dict(zip(result.index, parcel_states(result), strict=True))
    for name in ("neighbour", "neighbour_udb", "hole"):  # wholly outside the districts
        assert states[name] == "未核查", (name, states[name])
    for name in ("across_north", "across_hole"):
        assert result.loc[name, "available_m2"] > 0, name  # so partly checked
        assert states[name] == "部分未核查", (name, states[name])
    # a conflict stays one, wholly outside (on a red line the pack holds) or partly
    assert states["red_out"] == states["island"] == states["across_west"] == "冲突"
    assert states["inside"] == states["island_edge"] == "可用"
    page = (tmp_path / "out" / "internal" / "parcels.html").read_text("utf-8")
    assert "未核查 Outside the plan&#x27;s coverage" in page or (
        "未核查 Outside the plan's coverage" in page
    )
    assert "部分未核查 Partly outside the plan" in page
