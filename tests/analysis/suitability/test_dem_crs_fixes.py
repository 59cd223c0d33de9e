"""A DEM whose CRS is missing or wrong is refused with a fix that works on that file.

- An ASCII grid (.asc) keeps its CRS only in a ``.prj`` beside it: ``gdal_edit.py -a_srs``
  writes the CRS to ``.asc.aux.xml``, which GDAL's AAIGrid driver does not read, so the file
  still had no CRS after the fix qzgeo named.
- Gauss-Krüger eastings with the zone number in front (36 5xx xxx) labelled with the CRS
  without it (or the other way round) are placed hundreds of kilometres away: the refusal
  names the CRS that fits the eastings, not only "check its CRS".
"""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import Affine


def _asc(path: Path, h) -> Path:
    """The synthetic study area in lon/lat as an ASCII grid (no .prj): a 5° slope northwards."""
    w, s, e, n = 107.99, 21.67, 108.07, 21.75
    step = 0.001
    nx, ny = round((e - w) / step), round((n - s) / step)
    z = np.tile((math.tan(math.radians(5)) * 111_000 * step * np.arange(ny)[::-1])[:, None], nx)
    prof = {
        "driver": "AAIGrid",
        "width": nx,
        "height": ny,
        "count": 1,
        "dtype": "float32",
        "transform": Affine(step, 0, w, 0, -step, n),
        "nodata": -9999.0,
    }
    with rasterio.open(path, "w", **prof) as dst:
        dst.write(z.astype(np.float32), 1)
    for side in path.parent.glob(path.name.removesuffix(".asc") + ".prj"):
        side.unlink()
    return path


def test_ascii_grid_without_crs_names_a_fix_that_gives_it_one(make_pack, h, tmp_path):
    dem = _asc(tmp_path / "dem.asc", h)
    pack = make_pack({"m": h.SLOPE_DEM_MODEL})
    code, out = h.run_suitability(pack, tmp_path / "out", "--dem", str(dem))
    assert code == 2 and "dem.asc" in out and "has no CRS" in out
    fix = " ".join(out.split())  # the message may wrap
    cmd = fix[fix.index("gdal_") :].split(";")[0].split(" (")[0].split(")")[0]
    # Run the fix it names (with the real CRS), then the same run must work.
    argv = [a.strip("'") for a in cmd.split()]
    assert "EPSG:4490" in argv
    subprocess.run(argv, check=True, cwd=tmp_path, capture_output=True)
    fixed = Path(argv[-1]) if argv[-1].endswith(".tif") else dem
    fixed = fixed if fixed.is_absolute() else tmp_path / fixed
    code, out = h.run_suitability(pack, tmp_path / "out2", "--dem", str(fixed))
    assert code == 0, out


def _gk(path: Path, h, crs: str, shift: float) -> Path:
    """A plane over the study area in EPSG:4545 metres, eastings + ``shift``, labelled ``crs``."""
    res = 50.0
    n = int((h.SIZE + 2_000) / res)
    z = np.tile(0.05 * res * np.arange(n), (n, 1)) + 10.0
    t = Affine(res, 0, h.X0 - 1_000 + shift, 0, -res, h.Y0 + h.SIZE + 1_000)
    return h.write_dem(path, z, t, crs)


@pytest.mark.parametrize(
    ("name", "labelled", "shift", "word", "fits"),
    [
        # zone 36 (central meridian 108E) with the prefix is EPSG:4524. The words are the
        # message's own: the tests these replace matched "prefix" in their temporary folder's name
        ("prefixed.tif", "EPSG:4545", 36_000_000.0, "carry the zone number in front", "EPSG:4524"),
        ("bare.tif", "EPSG:4524", 0.0, "carry no zone number", "EPSG:4545"),
    ],
    ids=["prefixed-eastings-in-a-cm-crs", "bare-eastings-in-a-zone-crs"],
)
def test_eastings_and_crs_disagreeing_on_the_zone_prefix_name_the_crs_that_fits(
    make_pack, h, tmp_path, name, labelled, shift, word, fits
):
    dem = _gk(tmp_path / name, h, labelled, shift)
    code, out = h.run_suitability(
        make_pack({"m": h.SLOPE_DEM_MODEL}), tmp_path / "out", "--dem", str(dem)
    )
    flat = " ".join(out.split())
    assert code == 2 and name in flat and word in flat
    assert f"gdal_edit.py -a_srs {fits}" in flat, out


def test_metres_labelled_lon_lat_say_so(make_pack, h, tmp_path):
    """GK metres with a lon/lat CRS (a CRS set by hand to the wrong one): not "check its CRS"
    only, but that the coordinates are metres, not degrees."""
    dem = _gk(tmp_path / "metres.tif", h, "EPSG:4490", 0.0)
    code, out = h.run_suitability(
        make_pack({"m": h.SLOPE_DEM_MODEL}), tmp_path / "out", "--dem", str(dem)
    )
    flat = " ".join(out.split())
    assert code == 2 and "metres.tif" in flat
    assert "metres, not degrees" in flat and "gdal_edit.py -a_srs" in flat, out
