"""Round 21, outsider: a layer none of whose features has a geometry is a warning, not a crash.

A pack author's zones file whose one feature lost its shape (a row kept after the polygon
was deleted, a null or empty geometry) made `validate`, `publish` and `check` end in a
traceback (ValueError: zero-size array to reduction operation fmin, from the extent check's
box of no geometry). Each feature without geometry is said and left out, as with one such
feature among others.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from packs import all_output, assert_no_traceback, new_pack, run_cli


@pytest.mark.parametrize("geometry", [None, shapely.Polygon()], ids=["null", "empty"])
def test_a_zone_layer_without_any_geometry(tmp_path: Path, geometry: object) -> None:
    pack = new_pack(tmp_path / "pack", "121.1,41.1")
    path = pack / "layers" / "zones.geojson"
    zones = gpd.read_file(path)
    zones["geometry"] = [geometry] * len(zones)
    path.unlink()
    zones.to_file(path, driver="GeoJSON")

    checked = run_cli("validate", "--pack", pack)
    assert_no_traceback(checked)
    assert checked.exit_code == 0, all_output(checked)
    assert "null or empty geometry" in all_output(checked)

    published = run_cli("publish", "--pack", pack, "--out", tmp_path / "out")
    assert_no_traceback(published)
    assert published.exit_code == 0, all_output(published)

    site = tmp_path / "site.geojson"
    square = shapely.box(121.095, 41.095, 121.097, 41.097)
    gpd.GeoDataFrame({"名称": ["试验"]}, geometry=[square], crs=4490).to_file(site)
    result = run_cli("check", site, "--pack", pack)
    assert_no_traceback(result)
    assert result.exit_code in (0, 1), all_output(result)
