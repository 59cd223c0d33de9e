"""A void declared by a mask, not a nodata value, has no height.

GDAL writes voids as a mask when asked (an internal or ``.msk`` mask, ``gdalwarp -dstalpha``'s
alpha band); the cells under it hold 0 or anything. They were read as heights of 0 m: cliffs
around every void, graded > 25° (不适宜 by the 木桶 rule), and no 未评价 said.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from click.testing import CliRunner

from qzgeo.cli.main import cli


def _dem(path: Path, h, *, masked: bool) -> Path:
    """A 5° plane (20 m cells) with a void: under a mask holding 0, or NaN as nodata."""
    res, n = 20.0, 400
    z = np.tile(np.tan(np.radians(5.0)) * res * np.arange(n, dtype=np.float32), (n, 1)) + 10.0
    void = (slice(150, 200), slice(120, 220))
    prof = h.study_profile(res, n)
    if masked:
        z[void] = 0.0
        mask = np.full(z.shape, 255, dtype=np.uint8)
        mask[void] = 0
        with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True), rasterio.open(path, "w", **prof) as dst:
            dst.write(z, 1)
            dst.write_mask(mask)
    else:
        z[void] = np.nan
        with rasterio.open(path, "w", nodata=float("nan"), **prof) as dst:
            dst.write(z, 1)
    return path


def _grades(pack: Path, out: Path, dem: Path) -> tuple[np.ndarray, str]:
    res = CliRunner().invoke(
        cli,
        ["suitability", "--pack", str(pack), "--out", str(out), "--no-progress", "--dem", str(dem)],
    )
    assert res.exit_code == 0, res.output
    with rasterio.open(out / "public/suitability/m/factor_slope.tif") as src:
        return src.read(1), res.output


def test_masked_void_is_no_value_like_a_nodata_void(make_pack, h, tmp_path):
    pack = make_pack({"m": h.SLOPE_DEM_MODEL})
    got, said = _grades(pack, tmp_path / "a", _dem(tmp_path / "masked.tif", h, masked=True))
    want, _ = _grades(pack, tmp_path / "b", _dem(tmp_path / "nan.tif", h, masked=False))
    assert set(np.unique(want)) == {0, 4}  # 5°, or no value in and next to the void
    assert (got == want).all(), f"{int((got != want).sum())} cells differ; grades {np.unique(got)}"
    assert "no value over" in said


def test_an_alpha_band_gdal_does_not_read_as_a_mask_is_refused_with_the_fix(make_pack, h, tmp_path):
    """``gdalwarp -dstalpha`` on a float32 DEM writes a float32 alpha band, which GDAL does
    not take for a mask (only a Byte or UInt16 one): its voids (alpha 0) were heights of 0 m.
    """
    import shlex
    import subprocess

    masked = _dem(tmp_path / "masked.tif", h, masked=True)
    dem = tmp_path / "alpha.tif"
    subprocess.run(
        ["gdalwarp", "-q", "-dstalpha", str(masked), str(dem)], check=True, capture_output=True
    )
    pack = make_pack({"m": h.SLOPE_DEM_MODEL})
    res = CliRunner().invoke(
        cli,
        [
            "suitability",
            "--pack",
            str(pack),
            "--out",
            str(tmp_path / "a"),
            "--no-progress",
            "--dem",
            str(dem),
        ],
    )
    flat = " ".join(res.output.split())
    assert res.exit_code == 2 and "alpha.tif" in flat and "alpha" in flat, res.output
    cmd = flat[flat.index("gdalwarp ") :].split(";")[0].rstrip(".")
    subprocess.run(shlex.split(cmd), check=True, capture_output=True, cwd=tmp_path)
    fixed = Path(shlex.split(cmd)[-1])
    got, said = _grades(pack, tmp_path / "b", fixed if fixed.is_absolute() else tmp_path / fixed)
    want, _ = _grades(pack, tmp_path / "c", _dem(tmp_path / "nan.tif", h, masked=False))
    assert (got == want).all() and "no value over" in said
