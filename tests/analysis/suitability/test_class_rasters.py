"""Class rasters as producers write them: a colour table, nodata, a code of -1, float cells."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
import shapely
from click.testing import CliRunner
from rasterio.transform import Affine

from qzgeo.cli.main import cli

MODEL = """
title = "地类"
resolution_m = 100
area = ["study"]
zones = ["zones"]
basemap = "none"
[[factors]]
id = "lc"
kind = "class"
raster = "landcover"
classes = {{ {classes} }}
weight = 1
"""


def run(pack: Path, out: Path, *args: str) -> tuple[int, str]:
    res = CliRunner().invoke(
        cli, ["suitability", "--pack", str(pack), "--out", str(out), "--no-progress", *args]
    )
    assert "Traceback" not in res.output, res.output
    return res.exit_code, res.output


def land_cover(path: Path, h: object, dtype: str, nodata: float, offset: float = 0.0) -> Path:
    """10 west of X0 + 3 km, 20 east of it; the southern 500 m nodata; 50 m cells."""
    res, n = 50.0, int(h.SIZE / 50.0)  # type: ignore[attr-defined]
    codes = np.full((n, n), 10.0)
    codes[:, n // 2 :] = 20.0
    codes += offset
    codes[-10:, :] = nodata
    t = Affine(res, 0, h.X0, 0, -res, h.Y0 + h.SIZE)  # type: ignore[attr-defined]
    profile = {
        "driver": "GTiff",
        "width": n,
        "height": n,
        "count": 1,
        "dtype": dtype,
        "crs": "EPSG:4545",
        "transform": t,
        "nodata": nodata,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(codes.astype(dtype), 1)
        if dtype == "uint8":
            dst.write_colormap(1, {10: (0, 128, 0, 255), 20: (255, 255, 0, 255)})
    return path


def grades(out: Path, h: object) -> tuple[np.ndarray, np.ndarray]:
    with rasterio.open(out / "public/suitability/lc/factor_lc.tif") as src:
        g, t = src.read(1), src.transform
    rows, cols = np.indices(g.shape)
    x, y = t.c + t.a * (cols + 0.5), t.f + t.e * (rows + 0.5)
    inside = shapely.contains_xy(h.STUDY, x, y)  # type: ignore[attr-defined]
    return g[inside], y[inside]


def test_nodata_cells_have_no_grade_even_when_code_minus_one_is_mapped(make_pack, h, tmp_path):
    # Some products use -1 for a class; qzgeo used -1 for "no value" and graded the voids.
    pack = make_pack({"lc": MODEL.format(classes='"10" = 5, "20" = 3, "-1" = 2') + h.FIVE_CLASSES})
    lc = land_cover(tmp_path / "lc.tif", h, "uint8", 0)
    code, out = run(pack, tmp_path / "out", "--raster", f"landcover={lc}")
    assert code == 0, out
    g, y = grades(tmp_path / "out", h)
    assert set(np.unique(g[y < h.Y0 + 500])) == {0}
    assert set(np.unique(g[y > h.Y0 + 500])) == {3, 5}


def test_a_float_raster_with_fractions_is_not_a_class_raster(make_pack, h, tmp_path):
    # 10.7 was cut to code 10 and graded 5, with no word; a DEM given as land cover, say.
    pack = make_pack({"lc": MODEL.format(classes='"10" = 5, "20" = 3') + h.FIVE_CLASSES})
    lc = land_cover(tmp_path / "heights.tif", h, "float32", -9999.0, offset=0.7)
    code, out = run(pack, tmp_path / "out", "--raster", f"landcover={lc}")
    assert code == 2, out
    assert "heights.tif" in out and "10.7" in out and "whole" in out
