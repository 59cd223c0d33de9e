"""Raster files that are not what their name says: damaged downloads, data sources in disguise."""

from __future__ import annotations

from pathlib import Path

import rasterio
from click.testing import CliRunner

from qzgeo.cli.main import cli

SLOPE = """
title = "t"
resolution_m = 100
area = ["study"]
basemap = "none"
[[factors]]
id = "slope"
kind = "slope"
weight = 1
"""


def run(pack: Path, out: Path, *args: str) -> tuple[int, str]:
    res = CliRunner().invoke(
        cli, ["suitability", "--pack", str(pack), "--out", str(out), "--no-progress", *args]
    )
    assert "Traceback" not in res.output
    return res.exit_code, res.output


def test_damaged_dem_names_the_file_not_the_output_folder(make_pack, h, tmp_path):
    # A partly downloaded tile: the header reads, its compressed tiles do not.
    plane = h.gk_plane(tmp_path / "plane.tif", 10.0)
    with rasterio.open(plane) as src:
        profile, z = src.profile, src.read(1)
    profile.update(tiled=True, blockxsize=256, blockysize=256, compress="deflate")
    whole = tmp_path / "whole.tif"
    with rasterio.open(whole, "w", **profile) as dst:
        dst.write(z, 1)
    data = whole.read_bytes()
    damaged = tmp_path / "damaged.tif"
    damaged.write_bytes(data[: len(data) // 2])
    code, out = run(
        make_pack({"m": SLOPE + h.FIVE_CLASSES}), tmp_path / "out", "--dem", str(damaged)
    )
    assert code == 2
    assert "damaged.tif" in out and "Download it again" in out
    assert "could not write" not in out and "Free some space" not in out


def test_a_data_source_named_tif_is_refused(make_pack, h, tmp_path):
    # An XML data source GDAL opens by content, whatever the name: a web map service here.
    wms = tmp_path / "dem.tif"
    wms.write_text(
        '<GDAL_WMS><Service name="TMS"><ServerUrl>http://127.0.0.1:9/${z}/${x}/${y}.png'
        "</ServerUrl></Service><DataWindow><UpperLeftX>-20037508.34</UpperLeftX>"
        "<UpperLeftY>20037508.34</UpperLeftY><LowerRightX>20037508.34</LowerRightX>"
        "<LowerRightY>-20037508.34</LowerRightY><TileLevel>18</TileLevel>"
        "<TileCountX>1</TileCountX><TileCountY>1</TileCountY><YOrigin>top</YOrigin>"
        "</DataWindow><Projection>EPSG:3857</Projection><BandsCount>1</BandsCount>"
        "<DataType>Float32</DataType></GDAL_WMS>",
        encoding="utf-8",
    )
    code, out = run(make_pack({"m": SLOPE + h.FIVE_CLASSES}), tmp_path / "out", "--dem", str(wms))
    assert code == 2
    assert "dem.tif" in out and "GeoTIFF" in out
    assert "could not write" not in out


def test_a_dem_placed_by_ground_control_points_names_gdalwarp(make_pack, h, tmp_path):
    # The fix said was gdal_edit.py -a_srs, which leaves the raster without a geotransform.
    import numpy as np
    from rasterio.control import GroundControlPoint as Gcp

    n, x0, y0, size = 60, h.X0 - 500, h.Y0 - 500, h.SIZE + 1_000
    gcps = [Gcp(r, c, x0 + size * c / n, y0 + size * (1 - r / n)) for r in (0, n) for c in (0, n)]
    dem = tmp_path / "scanned.tif"
    profile = {"driver": "GTiff", "width": n, "height": n, "count": 1, "dtype": "float32"}
    with rasterio.open(dem, "w", **profile) as dst:
        dst.write(np.full((n, n), 100.0, dtype="float32"), 1)
        dst.gcps = (gcps, rasterio.crs.CRS.from_string("EPSG:4545"))
    code, out = run(make_pack({"m": SLOPE + h.FIVE_CLASSES}), tmp_path / "out", "--dem", str(dem))
    assert code == 2, out
    assert "scanned.tif" in out and "ground control points" in out and "gdalwarp" in out


CLASSES = """
title = "t"
resolution_m = 100
area = ["study"]
basemap = "none"
[[factors]]
id = "lc"
kind = "class"
raster = "landcover"
classes = { "10" = 5, "20" = 3 }
weight = 1
"""


def _image(path: Path, h: object, *, bands: int, palette: bool = False) -> Path:
    import numpy as np
    from rasterio.enums import ColorInterp
    from rasterio.transform import Affine

    n = 60
    t = Affine(100.0, 0, h.X0, 0, -100.0, h.Y0 + h.SIZE)  # type: ignore[attr-defined]
    profile = {"driver": "GTiff", "width": n, "height": n, "count": bands, "dtype": "uint8"}
    if bands == 3:
        profile["photometric"] = "RGB"
    with rasterio.open(path, "w", crs="EPSG:4545", transform=t, **profile) as dst:
        dst.write(np.full((bands, n, n), 10, dtype="uint8"))
        if palette:
            dst.write_colormap(1, {10: (0, 128, 0, 255)})
        if bands == 3:
            dst.colorinterp = [ColorInterp.red, ColorInterp.green, ColorInterp.blue]
    return path


def test_a_rendered_rgb_map_is_not_heights_nor_classes(make_pack, h, tmp_path):
    # Band 1 (red) was read as heights or class codes without a word.
    rgb = _image(tmp_path / "styled.tif", h, bands=3)
    pack = make_pack({"m": SLOPE + h.FIVE_CLASSES, "c": CLASSES + h.FIVE_CLASSES})
    code, out = run(pack, tmp_path / "o1", "--model", "m", "--dem", str(rgb))
    assert code == 2 and "styled.tif" in out and "RGB image" in out, out
    code, out = run(pack, tmp_path / "o2", "--model", "c", "--raster", f"landcover={rgb}")
    assert code == 2 and "styled.tif" in out and "RGB image" in out, out


def test_a_paletted_raster_is_not_heights(make_pack, h, tmp_path):
    lc = _image(tmp_path / "landcover.tif", h, bands=1, palette=True)
    pack = make_pack({"m": SLOPE + h.FIVE_CLASSES})
    code, out = run(pack, tmp_path / "out", "--dem", str(lc))
    assert code == 2 and "landcover.tif" in out and "colour table" in out, out
