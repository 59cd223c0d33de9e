"""A user raster warped onto the suitability grid (one cell of margin), read in bounded memory.

GDAL's warped VRT warps one of its blocks (512 x 128 grid cells) at a time and loads the
whole source window of the block, whatever the warp memory limit: a 1 m DEM read onto a 50 m
grid loaded 25 600 x 6 400 source cells (float32, plus the float64 band they are read
through) per block, 1.6 GB for a 20 km DEM, and more at a coarser grid. When the source
window of a block would be large, each read is made through small warped VRTs instead, each
its own block, so that at most about :data:`TILE_SOURCE_CELLS` ² source cells are held.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from pyproj import CRS, Transformer
from rasterio.enums import Resampling
from rasterio.io import DatasetReader
from rasterio.transform import Affine
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

__all__ = ["TILE_SOURCE_CELLS", "GridWarp", "source_cell_m"]

#: Source cells a side of one warp at the most (2048² float32 + float64: 50 MB).
TILE_SOURCE_CELLS = 2048
_VRT_BLOCK = 512  # GDAL's warped VRT block, cells a side at the most


def source_cell_m(src: DatasetReader, crs: CRS) -> float:
    """Side in ``crs`` metres of a cell at the middle of ``src`` (NaN if it cannot be placed)."""
    c, r = src.width // 2, src.height // 2
    pts = [src.transform @ (c + dc, r + dr) for dc, dr in ((0, 0), (1, 0), (0, 1))]
    to_grid = Transformer.from_crs(CRS.from_wkt(src.crs.to_wkt()), crs, always_xy=True)
    x, y = to_grid.transform([q[0] for q in pts], [q[1] for q in pts])
    return math.sqrt(abs((x[1] - x[0]) * (y[2] - y[0]) - (y[1] - y[0]) * (x[2] - x[0])))


class GridWarp:
    """``band`` (the file's band 1 as :func:`~qzgeo.analysis.suitability.source.source_vrt`
    gives it) on ``transform`` (the grid grown by one cell), ``width`` x ``height`` cells."""

    def __init__(
        self,
        band: DatasetReader,
        crs: CRS,
        transform: Affine,
        shape: tuple[int, int],
        *,
        res: float,
        cell_m: float,
        nearest: bool,
    ) -> None:
        self.band, self.transform = band, transform
        self.height, self.width = shape
        self.options: dict[str, Any] = {
            "crs": crs.to_wkt(),
            "dtype": "float32",
            "nodata": np.nan,
            "src_nodata": None,  # NaN (the file's nodata) spreads to every cell it touches
            "resampling": Resampling.nearest if nearest else Resampling.bilinear,
            # Bilinear at the cell centre, also when the grid is coarser than the raster:
            # GDAL's downsampling kernel (radius from the ratio of the part of the grid
            # the raster covers) does not keep a plane a plane unless that ratio is whole;
            # a 10° plane of 20 m read at 30 m had slopes from 9.55° to 10.45°.
            "XSCALE": 1,
            "YSCALE": 1,
        }
        ratio = res / cell_m if math.isfinite(cell_m) and cell_m > 0 else 1.0
        #: Grid cells a side of one warp when a whole block's source would be too large.
        self.tile = max(8, int(TILE_SOURCE_CELLS / ratio))
        self.tiled = self.tile < _VRT_BLOCK
        self.vrt = WarpedVRT(
            band, transform=transform, width=self.width, height=self.height, **self.options
        )

    def read(self, win: Window) -> npt.NDArray[np.float64]:
        """Values of ``win`` (rows and columns of the grown grid), NaN where none."""
        if not self.tiled:
            data = self.vrt.read(1, window=win, masked=True)
            return np.ma.filled(data.astype(np.float64), np.nan)
        h, w, k = int(win.height), int(win.width), self.tile
        out = np.full((h, w), np.nan, dtype=np.float64)
        for r in range(0, h, k):
            for c in range(0, w, k):
                t = self.transform @ Affine.translation(win.col_off + c, win.row_off + r)
                hh, ww = min(k, h - r), min(k, w - c)
                with WarpedVRT(self.band, transform=t, width=ww, height=hh, **self.options) as v:
                    data = v.read(1, masked=True)
                out[r : r + hh, c : c + ww] = np.ma.filled(data.astype(np.float64), np.nan)
        return out

    def close(self) -> None:
        self.vrt.close()
