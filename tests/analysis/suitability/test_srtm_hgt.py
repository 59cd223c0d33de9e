"""An SRTM tile (N21E108.hgt) is a DEM `qzgeo suitability` reads, through GDAL's SRTMHGT driver
only; it was refused by its suffix.

The tile is made here: 1201 x 1201 big-endian int16 heights (3 arc-seconds), no header, placed
by its name. The heights rise northwards by a fixed ground slope (tan(s) x the GRS80 meridian
arc from pyproj.Geod), so every cell of the study area falls in one slope class.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import rasterio
import shapely
from click.testing import CliRunner
from pyproj import Geod

from qzgeo.cli.main import cli

N = 1201  # SRTM3: 3 arc-second posts, the tile's edges shared with its neighbours


def _hgt(path: Path, degrees: float, lat_from: float, lat_to: float) -> Path:
    """N21E108-style tile: ``degrees`` of ground slope northwards between two latitudes, flat
    outside them; row 0 is the northern edge (22°N), posts on whole arc-seconds."""
    south = int(path.name[1:3])
    lat = south + 1 - np.arange(N) / (N - 1)
    geod = Geod(ellps="GRS80")
    arc = np.array(
        [geod.inv(108.5, lat_from, 108.5, la)[2] for la in np.clip(lat, lat_from, lat_to)]
    )
    z = np.rint(math.tan(math.radians(degrees)) * arc) + 10.0
    path.write_bytes(np.tile(z[:, None], (1, N)).astype(">i2").tobytes())
    return path


def _run(pack: Path, out: Path, dem: Path) -> tuple[int, str]:
    res = CliRunner().invoke(
        cli, ["suitability", "--pack", str(pack), "--out", str(out), "--no-progress",
              "--dem", str(dem)],
    )  # fmt: skip
    assert "Traceback" not in res.output, res.output
    return res.exit_code, res.output


def test_an_srtm_tile_is_read_and_graded(make_pack, h, tmp_path):
    # the study area lies near 108.03E 21.72N; 10° slope from 21.6 to 21.85N: grade 3 (8-15°)
    dem = _hgt(tmp_path / "N21E108.hgt", 10.0, 21.6, 21.85)
    with rasterio.open(dem) as src:  # the oracle's own reading: GDAL places it by its name
        assert src.driver == "SRTMHGT" and src.crs.to_epsg() == 4326
    pack = make_pack({"slope": h.SLOPE_ONLY + h.FIVE_CLASSES})
    code, out = _run(pack, tmp_path / "out", dem)
    assert code == 0, out
    with rasterio.open(
        tmp_path / "out" / "public" / "suitability" / "slope" / "factor_slope.tif"
    ) as src:
        grades, t = src.read(1), src.transform
    rows, cols = np.indices(grades.shape)
    x, y = t.c + t.a * (cols + 0.5), t.f + t.e * (rows + 0.5)
    inside = shapely.contains_xy(h.STUDY, x, y)
    assert set(np.unique(grades[inside])) == {3}


def test_a_tile_that_is_not_one_is_exit_2_saying_what_a_tile_is(make_pack, h, tmp_path):
    # a truncated download, and a whole tile renamed dem.hgt (GDAL places a tile by its name)
    pack = make_pack({"slope": h.SLOPE_ONLY + h.FIVE_CLASSES})
    for name, size in (("N21E108.hgt", 2_000), ("dem.hgt", 2 * N * N)):
        bad = tmp_path / name
        bad.write_bytes(b"\x00\x0a" * (size // 2))
        code, out = _run(pack, tmp_path / "out", bad)
        assert code == 2, out
        assert name in out and f"{size:,} bytes" in out and "N31E117.hgt" in out, out
        assert "1201 x 1201" in out
