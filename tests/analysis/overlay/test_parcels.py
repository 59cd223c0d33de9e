"""Parcel analysis on the minipack, and the `qzgeo analyze` command."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely as shp
import shapely.affinity
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from qzgeo.analysis.overlay import OverlayReport
from qzgeo.analysis.parcels import analyze_parcels
from qzgeo.cli.main import cli

from .conftest import MINIPACK, X0, Y0, boxes

# Minipack (see tests/data/make_minipack.py): zone 甲 = [X0, X0+1000], zone 乙 = [X0+1000,
# X0+2000]; 生态保护红线 covers x < X0+250; 永久基本农田 the SE quarter of 乙; the 城镇开发边界
# ends at X0+1800.


def parcels_frame() -> gpd.GeoDataFrame:
    return boxes(
        (X0, Y0, X0 + 100, Y0 + 100),  # in 甲, in the red line
        (X0 + 300, Y0 + 300, X0 + 400, Y0 + 400),  # in 甲, free
        (X0 + 1850, Y0 + 100, X0 + 1950, Y0 + 200),  # in 乙, farmland, outside the boundary
        (X0 + 200, Y0 + 500, X0 + 300, Y0 + 600),  # half in the red line
        (X0 + 950, Y0 + 500, X0 + 1150, Y0 + 600),  # 5 in 甲, 15 in 乙 -> 乙
        (X0 + 5000, Y0, X0 + 5100, Y0 + 100),  # outside every zone and the boundary
    )


def test_analyze_parcels_on_the_minipack(loaded_minipack) -> None:  # type: ignore[no-untyped-def]
    rep = OverlayReport()
    parcels = parcels_frame()
    out = analyze_parcels(parcels, loaded_minipack, report=rep)
    # the parcels' own CRS and vertices come back, untouched
    assert out.crs.to_epsg() == 4524
    assert shp.equals_exact(out.geometry.values, parcels.geometry.values, tolerance=0).all()
    assert out["name"].tolist() == [f"p{k}" for k in range(6)]
    assert out["zone_name"].tolist() == ["甲区", "甲区", "乙区", "甲区", "乙区", ""]
    assert out["zone_layer"].tolist() == ["zones"] * 5 + [""]
    area = out["area_m2"].to_numpy()
    # GK zone 36 at 108.6E: the ellipsoidal area is ~1e-4 below the planar 10 000 m².
    assert area[0] == pytest.approx(10_000.0, rel=2e-4)
    red = out["control_lines:生态保护红线"].to_numpy()
    # The constraints are stored in lon/lat: their edges move by micrometres in GK.
    assert red[:4] / area[:4] == pytest.approx([1.0, 0.0, 0.0, 0.5], abs=1e-6)
    assert out["inside_boundary"].tolist() == pytest.approx([1, 1, 0, 1, 1, 0], abs=1e-6)
    assert (out["available_m2"] / area).tolist() == pytest.approx([0, 1, 0, 0.5, 1, 0], abs=1e-6)
    assert out["conflict"].tolist() == [True, False, True, True, False, True]
    assert out["zone_m2"].iloc[4] == pytest.approx(0.75 * area[4], rel=1e-6)
    assert (out["available_ha"] * 10_000).tolist() == pytest.approx(out["available_m2"].tolist())
    assert not rep.conservation_failures


def _write_parcels(path: Path) -> Path:
    parcels_frame().to_file(path, layer="parcels", driver="GPKG")
    return path


def test_cli_analyze_writes_outputs_deterministically(tmp_path: Path) -> None:
    src = _write_parcels(tmp_path / "parcels.gpkg")
    before = src.read_bytes()
    runner = CliRunner()
    args = ["analyze", "--parcels", str(src), "--pack", str(MINIPACK), "--workers", "1"]
    res = runner.invoke(cli, [*args, "--out", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    assert "6 parcels, 4 in conflict" in res.output
    for name in (
        "parcels.gpkg",
        "parcels_summary.csv",
        "parcels_summary.xlsx",
        "parcels_report.json",
    ):
        assert (tmp_path / "a" / "internal" / name).stat().st_size > 0
    csv = (tmp_path / "a" / "internal" / "parcels_summary.csv").read_bytes()
    assert csv.startswith(b"\xef\xbb\xbf")
    summary = pd.read_csv(tmp_path / "a" / "internal" / "parcels_summary.csv", encoding="utf-8-sig")
    assert summary["分区"].tolist()[:2] == ["甲区", "乙区"]
    assert summary.iloc[-1]["分区图层"] == "合计" and summary.iloc[-1]["地块数"] == 6
    got = gpd.read_file(tmp_path / "a" / "internal" / "parcels.gpkg", layer="parcels")
    assert len(got) == 6 and got["conflict"].sum() == 4
    res2 = runner.invoke(cli, [*args, "--out", str(tmp_path / "b"), "--progress"])
    assert res2.exit_code == 0, res2.output
    for name in (
        "parcels.gpkg",
        "parcels_summary.csv",
        "parcels_summary.xlsx",
        "parcels_report.json",
    ):
        a, b = (tmp_path / d / "internal" / name for d in "ab")
        assert a.read_bytes() == b.read_bytes(), name
    assert src.read_bytes() == before  # inputs are never modified


def test_cli_analyze_bad_parcels_file(tmp_path: Path) -> None:
    bad = tmp_path / "parcels.gpkg"
    bad.write_text("not a geopackage")
    res = CliRunner().invoke(
        cli,
        ["analyze", "--parcels", str(bad), "--pack", str(MINIPACK), "--out", str(tmp_path / "o")],
    )
    assert res.exit_code == 2
    assert "parcels.gpkg" in res.output
    assert "cannot" in res.output or "not a .gpkg file" in res.output
    assert not list(tmp_path.rglob("parcels_summary.csv"))


def test_cli_analyze_point_layer_and_missing_file(tmp_path: Path) -> None:
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy([X0], [Y0]), crs="EPSG:4524")
    pts.to_file(tmp_path / "pts.gpkg")
    runner = CliRunner()
    res = runner.invoke(
        cli,
        [
            "analyze",
            "--parcels",
            str(tmp_path / "pts.gpkg"),
            "--pack",
            str(MINIPACK),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert res.exit_code == 2 and "polygon" in res.output
    res = runner.invoke(
        cli, ["analyze", "--parcels", str(tmp_path / "nope.gpkg"), "--pack", str(MINIPACK)]
    )
    assert res.exit_code == 2 and "does not exist" in res.output
    res = runner.invoke(
        cli, ["analyze", "--parcels", str(tmp_path / "pts.gpkg"), "--scheduler", "localhost:8786"]
    )
    assert res.exit_code == 2 and "tcp://" in res.output


@pytest.mark.parametrize("other", ["EPSG:4545", "EPSG:4490"])
def test_overlay_in_the_parcels_zone_gives_the_same_areas(loaded_minipack, other) -> None:  # type: ignore[no-untyped-def]
    """Parcels in a GK zone are overlaid in that zone (the plan is moved, not the parcels).

    The same parcels given in the pack's planar CRS (EPSG:4545, the former path) or in lon/lat
    (falls back to the pack's planar CRS) must give the same areas to 1e-9 relative, and the
    parcel area must match pyproj.Geod on the parcel's lon/lat ring (independent oracle).
    """
    from pyproj import Geod

    from qzgeo.analysis.parcels import build_parcel_plan, overlay_crs

    parcels = parcels_frame()
    assert overlay_crs(parcels.crs, loaded_minipack.planar_crs).to_epsg() == 4524
    assert build_parcel_plan(loaded_minipack, planar_crs=parcels.crs).planar_crs.to_epsg() == 4524
    own = analyze_parcels(parcels, loaded_minipack)
    ref = analyze_parcels(parcels.to_crs(other), loaded_minipack)
    cols = [c for c in own.columns if c.endswith(("_m2", "_ha", "_mu")) or ":" in c]
    scale = own["area_m2"].to_numpy()[:, None]
    diff = (own[cols].to_numpy(float) - ref[cols].to_numpy(float)) / scale
    assert abs(diff).max() < 1e-9
    assert own["conflict"].tolist() == ref["conflict"].tolist()
    assert own["zone_name"].tolist() == ref["zone_name"].tolist()
    geod = Geod(ellps="GRS80")
    lonlat = parcels.to_crs("EPSG:4490").geometry
    oracle = [abs(geod.geometry_area_perimeter(g)[0]) for g in lonlat]
    assert own["area_m2"].tolist() == pytest.approx(oracle, rel=1e-7)


def test_parcel_summary_matches_a_plain_loop(loaded_minipack) -> None:  # type: ignore[no-untyped-def]
    """The grouped summary against totals summed parcel by parcel in the test."""
    from qzgeo.analysis.parcels import build_parcel_plan, parcel_summary

    plan = build_parcel_plan(loaded_minipack, planar_crs=parcels_frame().crs)
    out = analyze_parcels(parcels_frame(), loaded_minipack, plan=plan)
    summary = parcel_summary(out, plan)
    expected: dict[str, list[float]] = {}
    for _, p in out.iterrows():
        t = expected.setdefault(p["zone_name"] or "(不在分区内)", [0, 0.0, 0.0, 0])
        t[0] += 1
        t[1] += p["area_m2"] / 10_000
        t[2] += p["available_m2"] / 10_000
        t[3] += int(p["conflict"])
    assert summary["分区"].tolist() == ["甲区", "乙区", "(不在分区内)", ""]
    for name, (n, area, avail, conf) in expected.items():
        row = summary[summary["分区"] == name].iloc[0]
        assert row["地块数"] == n and row["冲突地块数"] == conf
        assert row["面积_公顷"] == pytest.approx(area, rel=1e-12)
        assert row["可用_公顷"] == pytest.approx(avail, rel=1e-12, abs=1e-12)
    total = summary.iloc[-1]
    assert total["地块数"] == len(out)
    assert total["面积_公顷"] == pytest.approx(out["area_m2"].sum() / 10_000, rel=1e-12)


def test_one_pass_equals_the_two_overlays(loaded_minipack) -> None:  # type: ignore[no-untyped-def]
    """Classes and zones in one engine pass give exactly what two separate calls give."""
    from qzgeo.analysis.overlay import overlay_areas, overlay_areas_and_groups, overlay_groups
    from qzgeo.analysis.parcels import build_parcel_plan, zone_target

    parcels = parcels_frame()
    plan = build_parcel_plan(loaded_minipack, planar_crs=parcels.crs)
    one, pairs, _ = overlay_areas_and_groups(
        parcels, plan.overlay, zone_target(plan.zone_geoms), workers=2, chunk_size=2
    )
    two, _ = overlay_areas(parcels, plan.overlay, workers=1)
    groups, _ = overlay_groups(parcels, list(plan.zone_geoms), workers=1)
    pd.testing.assert_frame_equal(one, two)
    pd.testing.assert_frame_equal(pairs.reset_index(drop=True), groups.reset_index(drop=True))


def test_cli_analyze_in_chunks_gives_the_same_rows(tmp_path: Path) -> None:
    """--chunk-rows streams the file; every parcel row is the one of the in-memory run."""
    import shapely as shp

    frame = parcels_frame()
    bad = frame.iloc[[0]].copy()  # a bow-tie in the second chunk: repaired and reported
    bad.geometry = [shp.Polygon([(X0, Y0), (X0 + 10, Y0 + 10), (X0 + 10, Y0), (X0, Y0 + 10)])]
    bad["name"] = "bowtie"
    frame = pd.concat([frame, bad], ignore_index=True)
    src = tmp_path / "parcels.gpkg"
    frame.to_file(src, layer="parcels", driver="GPKG")
    runner = CliRunner()
    args = ["analyze", "--parcels", str(src), "--pack", str(MINIPACK), "--workers", "1"]
    mem = runner.invoke(cli, [*args, "--out", str(tmp_path / "mem")])
    chunked = runner.invoke(cli, [*args, "--out", str(tmp_path / "chunks"), "--chunk-rows", "3"])
    assert mem.exit_code == 0 and chunked.exit_code == 0, chunked.output
    assert "3 chunks of 3 parcels" in chunked.output
    a = gpd.read_file(tmp_path / "mem" / "internal" / "parcels.gpkg")
    b = gpd.read_file(tmp_path / "chunks" / "internal" / "parcels.gpkg")
    pd.testing.assert_frame_equal(a.drop(columns="geometry"), b.drop(columns="geometry"))
    # Chunks are written as MultiPolygons (a later chunk may hold some): same shapes.
    assert a.geometry.geom_equals(b.geometry).all() and set(b.geom_type) == {"MultiPolygon"}
    sa = pd.read_csv(tmp_path / "mem" / "internal" / "parcels_summary.csv", encoding="utf-8-sig")
    sb = pd.read_csv(tmp_path / "chunks" / "internal" / "parcels_summary.csv", encoding="utf-8-sig")
    pd.testing.assert_frame_equal(sa, sb, rtol=1e-12)
    import json

    ra = json.loads(
        (tmp_path / "mem" / "internal" / "parcels_report.json").read_text(encoding="utf-8")
    )
    rb = json.loads(
        (tmp_path / "chunks" / "internal" / "parcels_report.json").read_text(encoding="utf-8")
    )
    assert ra == rb and ra["repairs"]["repairs"][0]["feature_id"] == "7"


def test_cli_chunk_rows_refuses_the_map(tmp_path: Path) -> None:
    src = _write_parcels(tmp_path / "parcels.gpkg")
    res = CliRunner().invoke(
        cli,
        [
            *("analyze", "--parcels", str(src), "--pack", str(MINIPACK)),
            *("--out", str(tmp_path / "o"), "--chunk-rows", "2", "--map"),
        ],
    )
    assert res.exit_code == 2 and "--chunk-rows" in res.output


def test_cli_analyze_in_chunks_from_a_shapefile(tmp_path: Path) -> None:
    """A Shapefile is chunked by feature position (GDAL skips to it): same rows."""
    src = tmp_path / "parcels.shp"
    parcels_frame().to_file(src, driver="ESRI Shapefile", encoding="utf-8")
    runner = CliRunner()
    args = ["analyze", "--parcels", str(src), "--pack", str(MINIPACK), "--workers", "1"]
    mem = runner.invoke(cli, [*args, "--out", str(tmp_path / "mem")])
    chunked = runner.invoke(cli, [*args, "--out", str(tmp_path / "chunks"), "--chunk-rows", "4"])
    assert mem.exit_code == 0 and chunked.exit_code == 0, chunked.output
    a = gpd.read_file(tmp_path / "mem" / "internal" / "parcels.gpkg")
    b = gpd.read_file(tmp_path / "chunks" / "internal" / "parcels.gpkg")
    pd.testing.assert_frame_equal(a.drop(columns="geometry"), b.drop(columns="geometry"))
    assert b["name"].tolist() == [f"p{k}" for k in range(6)]


def test_cli_chunk_rows_on_a_corrupt_file_names_it(tmp_path: Path) -> None:
    bad = tmp_path / "parcels.gpkg"
    bad.write_text("not a geopackage")
    res = CliRunner().invoke(
        cli,
        [
            *("analyze", "--parcels", str(bad), "--pack", str(MINIPACK)),
            *("--out", str(tmp_path / "o"), "--chunk-rows", "2"),
        ],
    )
    assert res.exit_code == 2 and "parcels.gpkg" in res.output and "Error" in res.output
    assert not (tmp_path / "o" / "internal" / "parcels.gpkg").exists()


@pytest.mark.parametrize("outside", [False, True])
def test_fast_extent_test_changes_nothing(outside: bool) -> None:
    """clean_parcels skips the exact extent check only for parcels surely inside: the notices
    and the refusal are those of enforce_extent on every parcel (the oracle here)."""
    import numpy as np
    import shapely as shp

    from qzgeo.analysis.parcels import clean_parcels, surely_inside
    from qzgeo.geo.repair import RepairReport
    from qzgeo.io.input_checks import enforce_extent

    extent = (108.5, 21.6, 108.7, 21.8)
    rng = np.random.default_rng(3)
    lon = rng.uniform(108.49, 108.71, 400)
    lat = rng.uniform(21.59, 21.81, 400)
    size = rng.choice([1e-4, 1e-3, 3e-2], 400)  # ~10 m, ~100 m and ~3 km parcels
    boxes_ll = shp.box(lon, lat, lon + size, lat + size)
    frame = gpd.GeoDataFrame(geometry=boxes_ll, crs="EPSG:4490").to_crs("EPSG:4524")
    if not outside:
        frame = frame[[shp.intersects(g, shp.box(*extent)) for g in boxes_ll]]
    sure = surely_inside(frame, extent)
    assert 0 < sure.sum() < len(frame)
    assert frame.to_crs("EPSG:4490").geometry[sure].within(shp.box(*extent)).all()
    try:
        expected = enforce_extent(frame, extent, source="p.gpkg").messages()
    except Exception as exc:
        assert outside
        with pytest.raises(type(exc)) as got:
            clean_parcels(frame, extent=extent, source="p.gpkg", repairs=RepairReport())
        assert str(got.value) == str(exc)
        return
    assert not outside
    rep = RepairReport()
    clean_parcels(frame, extent=extent, source="p.gpkg", repairs=rep)
    assert rep.warnings == expected and expected


@settings(max_examples=60, deadline=None)
@given(
    zone=st.integers(25, 45),
    lon=st.floats(-1.4, 1.4),
    lat0=st.floats(18.0, 50.0),
    w=st.floats(0.01, 3.0),
    h=st.floats(0.01, 3.0),
)
def test_inner_box_lies_inside_the_extent(
    zone: int, lon: float, lat0: float, w: float, h: float
) -> None:
    """Every point of the projected inner box maps back inside the lon/lat extent (pyproj)."""
    import numpy as np
    from pyproj import CRS, Transformer

    from qzgeo.analysis.parcels import inner_box

    lon0 = zone * 3 + lon - w / 2
    extent = (lon0, lat0, lon0 + w, lat0 + h)
    epsg = 4513 + zone - 25  # CGCS2000 3-degree GK zones 25..45, zone-prefixed
    rect = inner_box(CRS.from_epsg(epsg).to_wkt(), extent)
    if rect is None:  # a thin strip whose image holds no rectangle: the corner test decides
        assert min(w, h) < 0.5
        return
    rng = np.random.default_rng(zone)
    x = np.concatenate([rng.uniform(rect[0], rect[2], 500), [rect[0], rect[2], rect[0], rect[2]]])
    y = np.concatenate([rng.uniform(rect[1], rect[3], 500), [rect[1], rect[1], rect[3], rect[3]]])
    lonv, latv = Transformer.from_crs(epsg, 4490, always_xy=True).transform(x, y)
    assert (lonv > extent[0]).all() and (lonv < extent[2]).all()
    assert (latv > extent[1]).all() and (latv < extent[3]).all()


@pytest.mark.parametrize("nulls_in", ["first", "last"])
def test_integer_column_keeps_its_type_whatever_chunk_holds_the_nulls(
    tmp_path: Path, nulls_in: str
) -> None:
    """An Integer64 field with nulls: in memory, in chunks whose first or last one holds the
    nulls, parcels.gpkg declares it Integer64 and keeps the values and nulls (pyogrio reads
    the output back: an independent reader)."""
    import numpy as np
    import pyogrio

    n = 30
    values = pd.array(np.arange(n) * 1000, dtype="Int64")
    at = slice(0, 3) if nulls_in == "first" else slice(n - 3, n)
    values[at] = pd.NA
    src = tmp_path / "p.gpkg"
    gpd.GeoDataFrame(
        {"地籍号": values},
        geometry=[shp.box(X0 + 20 * i, Y0, X0 + 20 * i + 10, Y0 + 10) for i in range(n)],
        crs="EPSG:4524",
    ).to_file(src, layer="parcels", driver="GPKG")
    for name, extra in (("mem", []), ("chunks", ["--chunk-rows", "10"])):
        out = tmp_path / name
        res = CliRunner().invoke(
            cli,
            ["analyze", "--parcels", str(src), "--pack", str(MINIPACK), "--out", str(out), *extra],
        )
        assert res.exit_code == 0, res.output
        gpkg = out / "internal" / "parcels.gpkg"
        info = pyogrio.read_info(gpkg)
        assert dict(zip(info["fields"], info["ogr_types"], strict=True))["地籍号"] == "OFTInteger64"
        back = pyogrio.read_dataframe(gpkg, use_arrow=True, columns=["地籍号"], read_geometry=False)
        got = back["地籍号"].to_numpy(dtype=float, na_value=np.nan)
        want = values.to_numpy(dtype=float, na_value=np.nan)
        np.testing.assert_array_equal(np.sort(got), np.sort(want))  # NaN sorts last in both


def test_zones_along_the_same_line_tie_to_the_first_listed(loaded_minipack) -> None:  # type: ignore[no-untyped-def]
    """A zone and the district holding it, drawn along the same line with other vertices:
    a parcel across that line overlaps both by the same area but for rounding, and goes to
    the zone listed first, whichever rounding came out larger."""
    from dataclasses import replace

    import numpy as np

    from qzgeo.analysis.parcels import build_parcel_plan, measure_parcels, zone_target

    x0, y0 = X0 + 10_000.0, Y0 + 10_000.0
    zone = shp.Polygon([(x0, y0), (x0 + 900, y0 + 40), (x0 + 870, y0 + 760), (x0 + 20, y0 + 700)])
    # The district: the zone's edges with extra vertices along them, started elsewhere, and
    # an extension beyond the zone's first edge.
    ring = np.asarray(zone.exterior.coords)
    dense = np.asarray(shp.segmentize(shp.LineString(ring), 37.0).coords)[:-1]
    dense = np.roll(dense, -7, axis=0)
    district = shp.union(shp.Polygon(dense), shp.box(x0 - 100, y0 - 500, x0 + 1000, y0 + 10))
    rng = np.random.default_rng(3)
    xs, ys = rng.uniform(x0 + 50, x0 + 850, 200), rng.uniform(y0 + 650, y0 + 800, 200)
    cells = [
        shp.affinity.rotate(shp.box(cx - 15, cy - 15, cx + 15, cy + 15), a)
        for cx, cy, a in zip(xs, ys, rng.uniform(0, 90, 200), strict=True)
    ]
    parcels = gpd.GeoDataFrame(geometry=cells, crs="EPSG:4524")
    plan = build_parcel_plan(loaded_minipack)
    for order in ((zone, district), (district, zone)):
        plan = replace(
            plan,
            zone_geoms=order,
            zone_layers=("a", "b"),
            zone_fids=(1, 1),
            zone_names=("first", "second"),
            zone_target=zone_target(order),
        )
        df, _ = measure_parcels(parcels, plan, workers=1)
        inside = df["zone"].to_numpy() >= 0
        assert inside.sum() > 100
        assert (df["zone"].to_numpy()[inside] == 0).all()
