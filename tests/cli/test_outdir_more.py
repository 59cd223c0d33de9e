"""Issue 10, phase 2: cases the outsider tests left open.

- a raster (DEM) that is a GDAL VRT is refused like a vector one;
- commands share one OUT: publish keeps the outputs of analyze and check, and a second
  analyze into a publish folder keeps the maps;
- the public manifest names no file that an internal layer is read from;
- a refused run into a new folder leaves no folder behind it.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
from packs import all_output, assert_no_traceback, run_cli
from shapely.geometry import box

X0, Y0 = 36_564_000.0, 2_399_000.0


def _parcels(path: Path) -> Path:
    gdf = gpd.GeoDataFrame(
        {"地块编号": ["P1"]},
        geometry=[box(X0 + 100, Y0 + 100, X0 + 400, Y0 + 400)],
        crs="EPSG:4524",
    )
    gdf.to_file(path, driver="GPKG")
    return path


def test_vrt_dem_is_refused(tmp_path: Path) -> None:
    vrt = tmp_path / "dem.vrt"
    vrt.write_text(
        '<VRTDataset rasterXSize="1" rasterYSize="1"><VRTRasterBand dataType="Byte" band="1">'
        "<SimpleSource><SourceFilename>/vsicurl/http://127.0.0.1:1/x.tif</SourceFilename>"
        "</SimpleSource></VRTRasterBand></VRTDataset>",
        encoding="utf-8",
    )
    result = run_cli("suitability", "--dem", vrt, "--out", tmp_path / "o")
    assert_no_traceback(result)
    assert result.exit_code == 2, result.output
    text = all_output(result)
    assert "dem.vrt" in text and ("not accepted" in text or "allow" in text), text


def test_commands_share_one_out_folder(mini: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    parcels = _parcels(tmp_path / "parcels.gpkg")
    assert run_cli("analyze", "--parcels", parcels, "--pack", mini, "--out", out).exit_code == 0
    assert (out / "internal" / "parcels.gpkg").is_file()
    assert run_cli("publish", "--pack", mini, "--out", out).exit_code == 0
    assert (out / "internal" / "parcels.gpkg").is_file()  # carried over the swap
    assert (out / "public" / "zones.html").is_file()
    again = run_cli("analyze", "--parcels", parcels, "--pack", mini, "--out", out)
    assert again.exit_code == 0, again.output
    assert (out / "public" / "zones.html").is_file()  # analyze does not drop the maps


def test_public_manifest_names_no_internal_file(mini: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_cli("publish", "--pack", mini, "--out", out).exit_code == 0
    public = json.loads((out / "public" / "manifest.json").read_text(encoding="utf-8"))
    full = json.loads((out / "internal" / "manifest.json").read_text(encoding="utf-8"))
    # mini.gpkg holds the internal control lines too: its hash is internal-only
    assert "layers/mini.gpkg" in full["inputs"]["inputs"]
    assert public["inputs"]["inputs"] == {}


def test_refused_run_leaves_no_new_folder(mini: Path, tmp_path: Path) -> None:
    out = tmp_path / "new"
    (mini / "maps" / "index.toml").write_text(
        'title = "x"\naudience = "public"\nlayers = ["zones"]\n', encoding="utf-8"
    )
    result = run_cli("publish", "--pack", mini, "--out", out)
    assert result.exit_code == 2
    assert "maps/index.toml" in all_output(result)
    assert not out.exists()
