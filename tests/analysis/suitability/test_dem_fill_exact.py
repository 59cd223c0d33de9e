"""The nodata fix named for a fill value works when run: its value is written in full.

ArcGIS and ENVI fill float32 DEMs with the lowest float32, -3.4028234663852886e+38. The
refusal named ``gdal_edit.py -a_nodata -3.40282e+38 FILE`` (six digits): run, it declared a
value no cell holds, and the same refusal came again.
"""

from __future__ import annotations

import shlex
import subprocess

import numpy as np
import rasterio


def test_float32_lowest_fill_fix_declares_the_value_the_cells_hold(make_pack, h, tmp_path):
    res, n = 50.0, 160
    z = np.tile(0.05 * res * np.arange(n, dtype=np.float32), (n, 1)) + 10.0
    z[60:80, 60:90] = np.finfo(np.float32).min  # a void, no nodata declared
    prof = h.study_profile(res, n)
    dem = tmp_path / "arcgis.tif"
    with rasterio.open(dem, "w", **prof) as dst:
        dst.write(z, 1)
    pack = make_pack({"m": h.SLOPE_DEM_MODEL})
    code, out = h.run_suitability(pack, tmp_path / "out", "--dem", str(dem))
    flat = " ".join(out.split())
    assert code == 2 and "arcgis.tif" in flat and "gdal_edit.py -a_nodata" in flat, out
    cmd = flat[flat.index("gdal_edit.py") :].split(";")[0]
    subprocess.run(shlex.split(cmd), check=True, capture_output=True)
    code, out = h.run_suitability(pack, tmp_path / "out2", "--dem", str(dem))
    assert code == 0, out
    assert "no value over" in out  # the void is 未评价, said
