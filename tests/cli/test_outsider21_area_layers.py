"""Round 21, outsider: a zone or constraint layer of lines or points is a problem, not a result.

The analysis takes zones and red lines as areas and left other geometries out without a word:
a pack author who digitised the 城镇开发边界 as a boundary line (a common drawing) got
``validate`` OK, ``publish`` "0.0 公顷 available, 1 conflict patch" (every zone wholly
outside the boundary) and ``check`` a CONFLICT verdict (exit 1); zone centroids in place of
the zones gave "0 zones". Each is now exit 2 naming the layer, its file, the geometry kind
and the fix, in validate, publish and check alike.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from packs import all_output, assert_no_traceback, new_pack, run_cli


def _redraw(pack: Path, name: str, how: str) -> None:
    path = pack / "layers" / f"{name}.geojson"
    gdf = gpd.read_file(path)
    gdf["geometry"] = gdf.geometry.boundary if how == "lines" else gdf.geometry.centroid
    path.unlink()
    gdf.to_file(path, driver="GeoJSON")


@pytest.mark.parametrize(
    ("name", "how", "kind"),
    [("control_lines", "lines", "LineString"), ("zones", "points", "Point")],
)
def test_an_area_layer_of_other_geometries_is_refused(
    tmp_path: Path, name: str, how: str, kind: str
) -> None:
    pack = new_pack(tmp_path / "pack", "121.1,41.1")
    _redraw(pack, name, how)
    site = tmp_path / "site.geojson"
    square = shapely.box(121.095, 41.095, 121.097, 41.097)
    gpd.GeoDataFrame({"名称": ["试验"]}, geometry=[square], crs=4490).to_file(site)
    runs = {
        "validate": run_cli("validate", "--pack", pack),
        "publish": run_cli("publish", "--pack", pack, "--out", tmp_path / "out"),
        "check": run_cli("check", site, "--pack", pack),
    }
    for what, result in runs.items():
        assert_no_traceback(result)
        said = all_output(result)
        assert result.exit_code == 2, (what, said)
        assert f"layer {name!r} ({name}.geojson)" in said and kind in said, (what, said)
        assert "polygons" in said, (what, said)
