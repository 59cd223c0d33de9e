"""Parcels and sites with long lon/lat edges get the warning the pack's layers get.

A parcel or site with a 20 km straight edge in lon/lat was read by ``analyze`` straight in the
pack's Gauss-Krüger plane and by ``check`` along the geodesic, while the maps draw it straight
in lon/lat: no warning said so (the pack's own layers get one, pack.validate). The figures
are checked against an oracle of pyproj and shapely only.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import pytest
from packs import all_output, run_cli
from pyproj import Geod, Transformer
from shapely.geometry import LineString, Point, Polygon, box

# 20 km east-west and 11 km north-south, on the bundled pack's shore
CORNERS = [(108.50, 21.62), (108.693, 21.62), (108.693, 21.72), (108.50, 21.72)]
BIG = Polygon(CORNERS)
SMALL = box(108.600, 21.700, 108.605, 21.705)


def _oracle(planar: str) -> tuple[float, float]:
    """(geodesic to planar chord, map drawing to planar chord): the widest over the edges (m)."""
    to_gk = Transformer.from_crs("EPSG:4490", planar, always_xy=True)
    to_merc = Transformer.from_crs("EPSG:4490", "EPSG:3857", always_xy=True)
    from_merc = Transformer.from_crs("EPSG:3857", "EPSG:4490", always_xy=True)
    geod = Geod(ellps="GRS80")
    geo, drawn = 0.0, 0.0
    for a, b in zip(CORNERS, [*CORNERS[1:], CORNERS[0]], strict=True):
        chord = LineString([to_gk.transform(*a), to_gk.transform(*b)])
        (mid_geod,) = geod.npts(a[0], a[1], b[0], b[1], 1)
        geo = max(geo, chord.distance(Point(to_gk.transform(*mid_geod))))
        mid_ll = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
        ma, mb = to_merc.transform(*a), to_merc.transform(*b)
        mid_merc = from_merc.transform((ma[0] + mb[0]) / 2, (ma[1] + mb[1]) / 2)
        for m in (mid_ll, mid_merc):
            drawn = max(drawn, chord.distance(Point(to_gk.transform(*m))))
    return geo, drawn


def _figures(text: str) -> tuple[str, float, float]:
    m = re.search(r"straight in (EPSG:\d+) .*?up to ([\d.]+) m apart.*?up to ([\d.]+) m from", text)
    assert m, text
    return m.group(1), float(m.group(2)), float(m.group(3))


def test_check_warns_of_a_site_with_a_20_km_edge(tmp_path: Path) -> None:
    sites = tmp_path / "sites.geojson"
    gpd.GeoDataFrame({"名称": ["大", "小"]}, geometry=[BIG, SMALL], crs=4490).to_file(sites)
    result = run_cli("check", sites, "--format", "json")
    assert result.exit_code in (0, 1), all_output(result)
    big, small = json.loads(result.stdout)
    (said,) = [w for w in big["warnings"] if "edge(s) longer than" in w]
    assert said.startswith("site '大': 4 edge(s) longer than 1 km"), said
    assert "the longest 20.0 km" in said and "segmentize" in said, said
    planar, geo, drawn = _figures(said)
    want_geo, want_drawn = _oracle(planar)
    assert geo == pytest.approx(want_geo, abs=1e-3)
    assert drawn == pytest.approx(want_drawn, abs=0.01) and drawn > 3.0
    assert not [w for w in small["warnings"] if "edge(s) longer than" in w]


@pytest.mark.parametrize("chunks", [[], ["--chunk-rows", "1"]])
def test_analyze_warns_of_parcels_with_a_20_km_edge(tmp_path: Path, chunks: list[str]) -> None:
    parcels = tmp_path / "parcels.gpkg"
    gpd.GeoDataFrame({"名称": ["小", "大"]}, geometry=[SMALL, BIG], crs=4490).to_file(parcels)
    result = run_cli("analyze", "--parcels", parcels, "--out", tmp_path / "out", *chunks)
    assert result.exit_code == 0, all_output(result)
    report = json.loads((tmp_path / "out" / "internal" / "parcels_report.json").read_text())
    (said,) = [w for w in report["repairs"]["warnings"] if "edge(s) longer than" in w]
    assert said.startswith(f"{parcels}: 4 edge(s) longer than 1 km"), said
    assert "the longest 20.0 km (fid 2," in said, said  # the GeoPackage's fid of 大
    planar, geo, drawn = _figures(said)
    want_geo, want_drawn = _oracle(planar)
    assert geo == pytest.approx(want_geo, abs=1e-3)
    assert drawn == pytest.approx(want_drawn, abs=0.01)


def test_parcels_drawn_in_the_plane_get_no_warning(tmp_path: Path) -> None:
    """Straight in Gauss-Krüger they are read as drawn (and densified for the maps)."""
    parcels = tmp_path / "gk.gpkg"
    gpd.GeoDataFrame(geometry=[BIG], crs=4490).to_crs(4545).to_file(parcels)
    result = run_cli("analyze", "--parcels", parcels, "--out", tmp_path / "out")
    assert result.exit_code == 0, all_output(result)
    report = (tmp_path / "out" / "internal" / "parcels_report.json").read_text()
    assert "edge(s) longer than" not in report
