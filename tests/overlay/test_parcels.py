"""Parcel analysis on the minipack, and the `qzgeo analyze` command."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner

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
    out = analyze_parcels(parcels_frame(), loaded_minipack, report=rep)
    assert out.crs.to_epsg() == 4490
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
    for name in ("parcels.gpkg", "parcels_summary.csv", "parcels_summary.xlsx", "report.json"):
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
    for name in ("parcels.gpkg", "parcels_summary.csv", "parcels_summary.xlsx", "report.json"):
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
