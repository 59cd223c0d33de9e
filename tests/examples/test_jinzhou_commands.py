"""Every command on the 锦州 example pack, exactly as on the bundled pack, and nothing of 钦州.

validate, publish, check, analyze and convert run through the CLI on ``examples/jinzhou``;
every byte they print or write (text files; the CRS of binary ones) is searched for 钦州,
平陆, Qinzhou and the 钦州 Gauss-Krüger zones (EPSG:4545 / EPSG:4524). Area conservation of the
published zones is checked against the summary (available + constrained = zone).
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner, Result
from pyproj import Geod
from shapely.geometry.polygon import orient

from qzgeo.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
PACK = ROOT / "examples" / "jinzhou"
GPKG = PACK / "layers" / "jinzhou.gpkg"
# 4545/4524 as codes, not inside a coordinate such as 38.864545
FORBIDDEN = re.compile(r"钦州|平陆|qinzhou|(?<![\d.])45(?:45|24)(?![\d])", re.IGNORECASE)
TEXT_SUFFIXES = {".html", ".json", ".csv", ".txt", ".geojson", ".svg", ".xml", ".qmd", ".prj"}


def _run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _assert_clean(result: Result, out: Path | None = None) -> None:
    assert not FORBIDDEN.search(result.stdout), FORBIDDEN.search(result.stdout)
    assert not FORBIDDEN.search(result.stderr), FORBIDDEN.search(result.stderr)
    if out is None:
        return
    for path in sorted(out.rglob("*")):
        if path.suffix.lower() in TEXT_SUFFIXES:
            hit = FORBIDDEN.search(path.read_text(encoding="utf-8", errors="replace"))
            assert hit is None, f"{path.name}: {hit}"
        elif path.suffix.lower() in (".gpkg", ".shp", ".fgb"):
            for layer, _ in pyogrio.list_layers(path):
                crs = pyogrio.read_info(path, layer=layer)["crs"] or ""
                assert not FORBIDDEN.search(crs), f"{path.name}:{layer} in {crs}"


@pytest.fixture(scope="module")
def port_point() -> shapely.Point:
    port = gpd.read_file(GPKG, layer="port")
    return port.geometry.iloc[0].representative_point()


def _boundary_past_districts_ha() -> float:
    """公顷 of the 城镇开发边界 outside the districts within the extent: shapely's difference and
    pyproj's geodesic area on oriented rings, no qzgeo code."""
    extent = tomllib.loads((PACK / "layers" / "catalog.toml").read_text("utf-8"))["pack"]["extent"]
    districts = gpd.read_file(GPKG, layer="districts").to_crs(4490)
    coverage = shapely.intersection(
        shapely.union_all(districts.geometry.values), shapely.box(*extent)
    )
    lines = gpd.read_file(GPKG, layer="control_lines").to_crs(4490)
    geod = Geod(ellps="GRS80")
    m2 = 0.0
    for geom in lines.geometry[lines["类别"] == "城镇开发边界"]:
        for part in shapely.get_parts(shapely.difference(geom, coverage)):
            m2 += abs(geod.geometry_area_perimeter(orient(part))[0])
    return m2 / 1e4


def test_validate(tmp_path: Path) -> None:
    r = _run("validate", "--pack", PACK)
    assert r.exit_code == 0, r.stderr
    assert "OK (9 layers" in r.stdout
    assert "pack: jinzhou" in r.stderr
    warned = [line for line in r.stderr.splitlines() if line.startswith("warning")]
    # its planar_crs (zone 40) is near its data; the one warning is the schematic 城镇开发边界 of
    # 锦州港 drawn into the sea, past the districts (pack/coverage.coverage_reach_warnings)
    assert len(warned) == 1 and "outside the coverage layer 'districts'" in warned[0], warned
    _assert_clean(r)


def test_publish_conserves_area_and_names_no_other_city(tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = _run("publish", "--pack", PACK, "--out", out)
    assert r.exit_code == 0, r.stderr
    assert "planar CRS EPSG:4549" in r.stdout
    report = json.loads((out / "internal" / "report.json").read_text(encoding="utf-8"))
    assert report["pack"] == "jinzhou"
    assert report["summary"]["planar_crs"].startswith("EPSG:4549")
    # the wind farm lies wholly outside the 城镇开发边界: no available land to draw, and the
    # warning says which zone that is (it said only "1 feature(s) without geometry")
    (empty,) = [w for w in report["warnings"] if w.startswith("layer 'available_land'")]
    # the land of the 城镇开发边界 past the districts is unchecked in every zone's numbers:
    # said with them, not by validate alone
    (reach,) = [w for w in report["warnings"] if "outside the coverage layer" in w]
    assert f"{_boundary_past_districts_ha():,.1f} 公顷" in reach, reach  # 867.8
    assert "control_lines" in reach, reach
    assert "黑山400兆瓦风电项目（示意）" in empty, empty
    summary = gpd.read_file(out / "internal" / "analysis.gpkg", layer="zone_summary")
    assert len(summary) == 6
    gap = (summary["available_m2"] + summary["constrained_m2"] - summary["zone_m2"]).abs()
    assert gap.max() <= 0.01  # m², the 黑山 wind farm 2° from the central meridian included
    assert {p.name for p in out.rglob("*.html")} >= {"overview.html", "port.html", "index.html"}
    _assert_clean(r, out)


def test_check_reports_the_declared_distances(tmp_path: Path, port_point: shapely.Point) -> None:
    site = tmp_path / "site.geojson"
    box = shapely.box(port_point.x - 0.002, port_point.y - 0.002, port_point.x, port_point.y)
    gpd.GeoDataFrame({"名称": ["港区地块"]}, geometry=[box], crs="EPSG:4490").to_file(site)
    out = tmp_path / "out"
    for fmt in ("json", "text", "html"):
        r = _run("check", "--pack", PACK, "--format", fmt, "--out", out, site)
        assert r.exit_code in (0, 1), r.stderr
        _assert_clean(r, out)
    part = out / "internal"  # the pack's control lines are internal
    (d,) = json.loads((part / "check.json").read_text(encoding="utf-8"))
    assert [x["layer"] for x in d["distances"]] == ["corridor", "corridor_nodes"]
    assert d["distances"][0]["label"] == "距东北陆海新通道"
    assert all(x["distance_m"] is not None for x in d["distances"])
    assert "距东北陆海新通道 Distance to the Northeast land-sea corridor" in (
        part / "check.txt"
    ).read_text(encoding="utf-8")
    page = (part / "check.html").read_text(encoding="utf-8")
    assert "锦州市产业功能区与控制线" in page  # the pack's title


def test_analyze_and_convert(tmp_path: Path, port_point: shapely.Point) -> None:
    x, y = port_point.x, port_point.y
    cells = [shapely.box(x + i * 0.003, y, x + (i + 1) * 0.003, y + 0.003) for i in range(-3, 3)]
    parcels = tmp_path / "parcels.gpkg"
    names = [f"地块{i}" for i in range(len(cells))]
    gpd.GeoDataFrame({"名称": names}, geometry=cells, crs="EPSG:4490").to_file(parcels)
    out = tmp_path / "out"
    r = _run("analyze", "--pack", PACK, "--parcels", parcels, "--out", out, "--no-progress")
    assert r.exit_code == 0, r.stderr
    assert "6 parcels" in r.stdout
    _assert_clean(r, out)
    report = json.loads((out / "internal" / "parcels_report.json").read_text(encoding="utf-8"))
    said = json.dumps(report, ensure_ascii=False)
    assert "lie outside the coverage layer 'districts'" in said, said[:2000]
    conv = tmp_path / "conv"
    conv.mkdir()
    for target in ("port.geojson", "port.fgb", "port.txt"):
        r = _run("convert", GPKG, conv / target, "--layer", "port")
        assert r.exit_code == 0, r.stderr
        _assert_clean(r, conv)
    txt = (conv / "port.txt").read_text(encoding="gbk")
    assert "带号=40" in txt  # 锦州港 at ~121.1E: CGCS2000 3-degree zone 40
