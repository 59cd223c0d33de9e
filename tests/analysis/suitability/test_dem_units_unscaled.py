"""A DEM stored in decimetres or centimetres with no band scale declared (an int DEM of
0.1 m units, say): its heights pass 9000 as many different values, not one fill value, and
the fix to offer is the scale, not declaring one real height as nodata.

Oracle: a plane of known slope (plain geometry), no qzgeo code.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from rasterio.transform import Affine

from qzgeo.cli.main import cli


def unscaled_dem(h: object, path: Path, per_metre: float) -> Path:
    """A 10° plane rising east from 1000 m, written in 1 / ``per_metre`` m units, int32."""
    res = 20.0
    n = int((h.SIZE + 2_000) / res)  # type: ignore[attr-defined]
    x = h.X0 - 1_000 + res * (np.arange(n) + 0.5)  # type: ignore[attr-defined]
    z = np.tile(math.tan(math.radians(10.0)) * (x - h.X0) + 1_000.0, (n, 1))  # type: ignore[attr-defined]
    t = Affine(res, 0, h.X0 - 1_000, 0, -res, h.Y0 + h.SIZE + 1_000)  # type: ignore[attr-defined]
    profile = {"driver": "GTiff", "width": n, "height": n, "count": 1, "dtype": "int32"}
    with rasterio.open(path, "w", crs=h.GK, transform=t, **profile) as dst:  # type: ignore[attr-defined]
        dst.write(np.round(z * per_metre).astype(np.int32), 1)
    return path


def run(pack: Path, out: Path, *args: str) -> tuple[int, str]:
    cmd = ["suitability", "--pack", str(pack), "--out", str(out), "--no-progress", *args]
    res = CliRunner().invoke(cli, cmd)
    assert "Traceback" not in res.output, res.output
    return res.exit_code, res.output


@pytest.mark.parametrize(("per_metre", "scale"), [(10.0, "0.1"), (100.0, "0.01")])
def test_unscaled_decimetres_name_the_scale_fix_which_works(
    make_pack, h, tmp_path, per_metre, scale
):
    pack = make_pack({"p": h.one_factor_model(kind="slope", breaks=[9.7, 9.95, 10.05, 10.3])})
    dem = unscaled_dem(h, tmp_path / "dem_dm.tif", per_metre)
    code, out = run(pack, tmp_path / "out", "--dem", str(dem))
    assert code == 2, out
    assert "dem_dm.tif" in out and "gdal_edit.py -scale" in out, out
    assert f"-scale {scale}" in out, out
    assert "Declare it: gdal_edit.py -a_nodata" not in out  # not one real height as nodata
    with rasterio.open(dem, "r+") as dst:  # the fix offered, as a user would apply it
        dst.scales = (1 / per_metre,)
    code, out = run(pack, tmp_path / "out", "--dem", str(dem))
    assert code == 0, out
    with rasterio.open(tmp_path / "out/public/suitability/p/factor_slope.tif") as src:
        grades = src.read(1)
    assert set(np.unique(grades[grades > 0])) == {3}  # 10° ± 0.05° on every cell
