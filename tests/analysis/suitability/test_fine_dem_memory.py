"""A DEM far finer than the grid (1 m LiDAR on a 100 m grid) is read in bounded memory.

GDAL's warped VRT warps one block of 512 x 128 grid cells at a time and loads the whole
source window of the block: an 8 km DEM of 1 m cells on a 100 m grid held 8000 x 8000 source
cells (float32 warp buffer + the float64 band) at once, a peak RSS near 1 GB; 20 km at 50 m,
1.6 GB; a county-wide 1 m DEM several GB.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.windows import Window

# The peak of this process's own memory: VmHWM, which starts afresh with the program.
# ru_maxrss would not: Linux carries the forking process's peak across exec, so under a
# pytest session of ~900 MB it read ~900 MB whatever the command did.
RUN = """
import sys
from pathlib import Path
from click.testing import CliRunner
from qzgeo.cli.main import cli
res = CliRunner().invoke(cli, sys.argv[1:])
print(res.output)
hwm = [l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmHWM:")]
print("RC", res.exit_code, "RSS_MB", int(hwm[0].split()[1]) // 1024)
"""


def _fine_plane(path: Path, h, *, res: float, n: int, degrees: float) -> Path:
    """A float32 plane of ``degrees`` rising eastwards: ``n`` x ``n`` cells of ``res`` m from
    (X0 - 1 km, top Y0 + SIZE + 1 km)."""
    row = (math.tan(math.radians(degrees)) * res * (np.arange(n) + 0.5)).astype(np.float32)
    prof = h.study_profile(
        res, n, nodata=-9999.0, tiled=True, blockxsize=512, blockysize=512,
        compress="deflate", predictor=3,
    )  # fmt: skip
    with rasterio.open(path, "w", **prof) as dst:
        for r in range(0, n, 1024):
            k = min(1024, n - r)
            dst.write(np.broadcast_to(row, (k, n)), 1, window=Window(0, r, n, k))
    return path


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="VmHWM is Linux's")
def test_a_1m_dem_on_a_100m_grid_stays_in_bounded_memory(make_pack, h, tmp_path):
    dem = _fine_plane(tmp_path / "lidar.tif", h, res=1.0, n=8_000, degrees=5.0)
    pack = make_pack({"m": h.SLOPE_DEM_MODEL})
    args = ["suitability", "--pack", str(pack), "--out", str(tmp_path / "out"), "--no-progress"]
    proc = subprocess.run(
        [sys.executable, "-c", RUN, *args, "--dem", str(dem)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "GDAL_CACHEMAX": "64"},
        cwd=Path(__file__).parents[3],
    )
    tail = proc.stdout.strip().splitlines()[-1]
    assert tail.startswith("RC 0"), proc.stdout + proc.stderr
    rss = int(tail.split()[-1])
    assert rss < 550, f"peak RSS {rss} MB for an 8000 x 8000 DEM on a 60 x 60 grid"
    # and the plane is still graded right: 5° -> grade 4 wherever the DEM reaches
    with rasterio.open(tmp_path / "out/public/suitability/m/factor_slope.tif") as src:
        g = src.read(1)
    assert set(np.unique(g)) <= {0, 4} and (g == 4).sum() > 0.5 * g.size
