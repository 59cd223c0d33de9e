"""The nodata fix named for a fill value works when run: its value is written in full.

ArcGIS and ENVI fill float32 DEMs with the lowest float32, -3.4028234663852886e+38. The
refusal named ``gdal_edit.py -a_nodata -3.40282e+38 FILE`` (six digits): run, it declared a
value no cell holds, and the same refusal came again.
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import numpy as np
import rasterio
from click.testing import CliRunner
from rasterio.transform import Affine

from qzgeo.cli.main import cli


def run(pack: Path, out: Path, dem: Path) -> tuple[int, str]:
    res = CliRunner().invoke(
        cli,
        ["suitability", "--pack", str(pack), "--out", str(out), "--no-progress", "--dem", str(dem)],
    )
    assert "Traceback" not in res.output
    return res.exit_code, res.output


def test_float32_lowest_fill_fix_declares_the_value_the_cells_hold(make_pack, h, tmp_path):
    res, n = 50.0, 160
    z = np.tile(0.05 * res * np.arange(n, dtype=np.float32), (n, 1)) + 10.0
    z[60:80, 60:90] = np.finfo(np.float32).min  # a void, no nodata declared
    prof = {
        "driver": "GTiff",
        "width": n,
        "height": n,
        "count": 1,
        "dtype": "float32",
        "crs": h.GK,
        "transform": Affine(res, 0, h.X0 - 1_000, 0, -res, h.Y0 + h.SIZE + 1_000),
    }
    dem = tmp_path / "arcgis.tif"
    with rasterio.open(dem, "w", **prof) as dst:
        dst.write(z, 1)
    pack = make_pack({"m": h.SLOPE_DEM_MODEL})
    code, out = run(pack, tmp_path / "out", dem)
    flat = " ".join(out.split())
    assert code == 2 and "arcgis.tif" in flat and "gdal_edit.py -a_nodata" in flat, out
    cmd = flat[flat.index("gdal_edit.py") :].split(";")[0]
    subprocess.run(shlex.split(cmd), check=True, capture_output=True)
    code, out = run(pack, tmp_path / "out2", dem)
    assert code == 0, out
    assert "no value over" in out  # the void is 未评价, said
