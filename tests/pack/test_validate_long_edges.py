"""A lon/lat layer with edges over 1 km: `validate` and `publish` warn, naming the fix.

The maps draw an edge straight in lon/lat, the analysis straight in the planar CRS. Oracle for
the numbers in the warning: ``pyproj.Geod`` — the edge's geodesic length, and for an edge along
a parallel the distance from the parallel's midpoint to the geodesic's midpoint.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner
from pyproj import Geod
from shapely.geometry.base import BaseGeometry

from qzgeo.cli.main import cli
from qzgeo.pack.catalog import load_pack
from qzgeo.pack.load import load_pack_layers
from qzgeo.pipeline import run_publish

GEOD = Geod(ellps="GRS80")
WEST, EAST, LAT = 108.60, 108.72, 21.70  # 12.4 km along the parallel, near the minipack
ROAD = shapely.LineString([(WEST, LAT), (EAST, LAT)])


def _add_road(pack: Path, geom: BaseGeometry, *, crs: str = "EPSG:4490") -> None:
    gdf = gpd.GeoDataFrame({"名称": ["示例道路"]}, geometry=[geom], crs="EPSG:4490").to_crs(crs)
    gdf.to_file(pack / "layers" / "road.gpkg", layer="road")
    cat = pack / "layers" / "catalog.toml"
    cat.write_text(
        cat.read_text(encoding="utf-8")
        + '\n[[layers]]\nid = "road"\ntitle = "道路"\nrole = "corridor"\npath = "road.gpkg"\n'
        'layer = "road"\nsensitivity = "public"\nname_field = "名称"\n'
        'publish_fields = ["名称"]\nsource = "test"\n'
        'licence = "CC0-1.0"\nprecision = "schematic"\n',
        encoding="utf-8",
    )


def _gap_m() -> float:
    az, _, dist = GEOD.inv(WEST, LAT, EAST, LAT)
    lon, lat, _ = GEOD.fwd(WEST, LAT, az, dist / 2.0)
    return float(GEOD.inv(lon, lat, (WEST + EAST) / 2.0, LAT)[2])


def _load_warnings(pack: Path) -> list[str]:
    return list(load_pack_layers(load_pack(pack)).report.warnings)


def _road_warning(lines: list[str]) -> str:
    (w,) = [w for w in lines if "layer 'road'" in w]
    return w


def test_validate_warns_naming_the_edge_the_gap_and_the_fix(minipack: Path) -> None:
    _add_road(minipack, ROAD)
    r = CliRunner().invoke(cli, ["validate", "--pack", str(minipack)])
    assert r.exit_code == 0, r.output  # a warning, not a problem
    w = _road_warning([ln for ln in r.stderr.splitlines() if ln.startswith("warning: ")])
    assert "(road.gpkg): 1 edge(s) longer than 1 km in lon/lat" in w
    km = float(re.search(r"the longest ([\d.]+) km", w).group(1))
    assert km == pytest.approx(GEOD.inv(WEST, LAT, EAST, LAT)[2] / 1000.0, abs=0.05)
    assert "示例道路 (fid 1), 108.60000°E 21.70000°N – 108.72000°E 21.70000°N" in w
    gap = float(re.search(r"up to ([\d.]+) m apart", w).group(1))
    assert gap == pytest.approx(_gap_m(), abs=0.01)  # 1.20 m at 21.7°N
    assert "EPSG:4545" in w  # the planar CRS the analysis uses (chosen from the data)
    assert "ogr2ogr -segmentize 0.0018" in w and "shapely.segmentize" in w


def test_publish_carries_the_warning_into_its_report(minipack: Path, tmp_path: Path) -> None:
    _add_road(minipack, ROAD)
    summary = run_publish(minipack, tmp_path / "out", maps=False)
    w = _road_warning(summary.warnings)
    report = json.loads((tmp_path / "out" / "internal" / "report.json").read_text("utf-8"))
    assert w in report["warnings"]


def test_densified_or_projected_layers_are_quiet(minipack: Path) -> None:
    _add_road(minipack, shapely.segmentize(ROAD, 0.0018))
    assert not [w for w in _load_warnings(minipack) if "'road'" in w]
    # the minipack's zones are 2 km squares in a GK CRS: straight there, as the analysis draws
    (minipack / "layers" / "road.gpkg").unlink()
    cat = minipack / "layers" / "catalog.toml"
    cat.write_text(cat.read_text(encoding="utf-8").split('\n[[layers]]\nid = "road"')[0])
    _add_road(minipack, ROAD, crs="EPSG:4545")
    warned = _load_warnings(minipack)
    assert not [w for w in warned if "'road'" in w or "'zones'" in w]
