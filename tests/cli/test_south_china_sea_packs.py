"""Packs and sites in the South China Sea (西沙 ~16.8°N, 南沙 ~9.5°N) are neither refused nor
clipped: China reaches 3.8°N (曾母暗沙), where a default map box used to stop at 18°N."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner
from pyproj import Geod

from qzgeo.cli.main import cli
from qzgeo.pack.catalog import load_pack
from qzgeo.publish.maps import _bounds

# 永兴岛 (西沙) and 永暑礁 (南沙), roughly
CENTRES = [(112.34, 16.83), (112.9, 9.55)]


def _run(*args: str | Path) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli, [str(a) for a in args])
    assert not (r.exception and not isinstance(r.exception, SystemExit)), r.exception
    return r.exit_code, r.stdout, r.stderr


@pytest.mark.parametrize(("lon", "lat"), CENTRES)
def test_a_pack_and_a_site_in_the_south_china_sea(tmp_path: Path, lon: float, lat: float) -> None:
    pack = tmp_path / "nanhai"
    code, _, err = _run("new-pack", pack, "--center", f"{lon},{lat}")
    assert code == 0, err
    code, out, err = _run("validate", "--pack", pack)
    assert code == 0 and "warning" not in err, (out, err)
    # a 200 m x 200 m-ish site beside the skeleton's zone centre
    box = shapely.box(lon - 0.001, lat - 0.001, lon + 0.001, lat + 0.001)
    site = tmp_path / "site.geojson"
    gpd.GeoDataFrame({"名称": ["岛上地块"]}, geometry=[box], crs="EPSG:4490").to_file(site)
    code, out, err = _run("check", site, "--pack", pack, "--format", "json")
    assert code in (0, 1), err
    (d,) = json.loads(out)
    assert d["verdict"] != "incomplete" and not d["warnings"], d
    expect = abs(Geod(ellps="GRS80").geometry_area_perimeter(box)[0])
    assert d["area_m2"] == pytest.approx(expect, abs=0.01)
    code, _, err = _run("publish", "--pack", pack, "--out", tmp_path / "out")
    assert code == 0, err
    page = (tmp_path / "out" / "public" / "overview.html").read_text(encoding="utf-8")
    m = re.search(r'"bounds":\[\[([-\d.]+),([-\d.]+)\],\[([-\d.]+),([-\d.]+)\]\]', page)
    assert m, "no bounds in the page"
    south, west, north, east = map(float, m.groups())
    assert south <= lat <= north and west <= lon <= east  # the map opens on the pack


@pytest.mark.parametrize("lat", [16.0, 9.0, 3.9])
def test_an_empty_map_without_extent_opens_on_all_of_china(tmp_path: Path, lat: float) -> None:
    # the box a map with no data and no [pack] extent falls back on reaches the south seas
    pack = tmp_path / "p"
    assert _run("new-pack", pack, "--center", "112.9,9.55")[0] == 0
    bare = dataclasses.replace(load_pack(pack), extent=None)
    west, south, east, north = _bounds([], bare)
    assert south <= lat <= north and west <= 112.9 <= east
