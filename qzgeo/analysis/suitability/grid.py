"""One grid for a suitability run: snapped to the resolution in the pack's planar (GK) CRS.

Everything is read and written window by window, so a county at 10 m (10⁸ cells) runs in
bounded memory. Rasters the user brings (any CRS GDAL reads) are resampled onto the grid on the
fly by a ``WarpedVRT``. Cell areas are ellipsoidal (CGCS2000/GRS80): the grid area of a cell
divided by the projection's areal scale at the cell.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import rasterio
import shapely
from pyproj import CRS, Proj, Transformer
from rasterio.enums import ColorInterp, MaskFlags, Resampling
from rasterio.features import rasterize
from rasterio.transform import Affine
from rasterio.windows import Window

from qzgeo._errors import CRSError, InputError
from qzgeo.analysis.suitability.source import (
    DEEPEST_M,
    HeightRange,
    fill_value,
    height_range,
    height_unit,
    open_admitted,
    source_vrt,
)
from qzgeo.analysis.suitability.warp import GridWarp, source_cell_m
from qzgeo.geo.crs_twin import prefix_twin
from qzgeo.io.guard import admit_raster

BLOCK = 512  # window and tile size in cells
#: A DEM whose cells are more than this many times the grid's gets a note (see GridRaster).
COARSE_RATIO = 4.0
MAX_CELLS = 4_000_000_000
#: Cells a side of the grid needs at the least: a cell's slope and distances come from its
#: neighbours, and a study area of one or two cells is no evaluation.
MIN_SIDE = 3
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Grid:
    """A north-up grid of ``width`` x ``height`` square cells of ``res`` metres in ``crs``."""

    crs: CRS
    transform: Affine
    width: int
    height: int
    res: float

    @classmethod
    def snapped(cls, bounds: Sequence[float], res: float, crs: CRS) -> Grid:
        """The grid covering ``bounds`` (planar, metres) with its origin on multiples of ``res``."""
        if not (math.isfinite(res) and res > 0):
            msg = f"resolution {res!r} is not a positive number of metres; use e.g. 30"
            raise InputError(msg)
        minx, miny, maxx, maxy = bounds
        minx, miny = math.floor(minx / res) * res, math.floor(miny / res) * res
        width = max(1, math.ceil(maxx / res - minx / res - 1e-9))
        height = max(1, math.ceil(maxy / res - miny / res - 1e-9))
        if width < MIN_SIDE or height < MIN_SIDE:
            w_km, h_km = (maxx - bounds[0]) / 1000, (maxy - bounds[1]) / 1000
            finest = math.floor(min(maxx - bounds[0], maxy - bounds[1]) / MIN_SIDE)
            msg = (
                f"at {res:g} m the study area ({w_km:.1f} x {h_km:.1f} km) is a {width} x "
                f"{height} grid; a grid needs at least {MIN_SIDE} x {MIN_SIDE} cells (a cell's "
                f"slope is taken from its neighbours): use a --resolution (or the model's "
                f"resolution_m) of at most {finest:g} m"
            )
            raise InputError(msg)
        if width * height > MAX_CELLS:
            msg = (
                f"a {width} x {height} grid at {res:g} m is too large; "
                "use a coarser --resolution or a smaller study area"
            )
            raise InputError(msg)
        top = miny + height * res
        return cls(crs, Affine(res, 0.0, minx, 0.0, -res, top), width, height, float(res))

    @property
    def cells(self) -> int:
        return self.width * self.height

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        t = self.transform
        return (t.c, t.f - self.height * self.res, t.c + self.width * self.res, t.f)

    def windows(self, block: int = BLOCK) -> Iterator[Window]:
        """Tile-aligned windows, row-major; together they cover the grid once."""
        for r in range(0, self.height, block):
            for c in range(0, self.width, block):
                yield Window(c, r, min(block, self.width - c), min(block, self.height - r))

    def window_transform(self, win: Window) -> Affine:
        return self.transform @ Affine.translation(win.col_off, win.row_off)

    def window_bounds(self, win: Window, pad: float = 0.0) -> tuple[float, float, float, float]:
        t = self.window_transform(win)
        return (
            t.c - pad,
            t.f - win.height * self.res - pad,
            t.c + win.width * self.res + pad,
            t.f + pad,
        )

    def centres(self, win: Window) -> tuple[FloatArray, FloatArray]:
        """Planar x (columns) and y (rows) of the cell centres of ``win``."""
        t = self.window_transform(win)
        x = t.c + self.res * (np.arange(win.width) + 0.5)
        y = t.f - self.res * (np.arange(win.height) + 0.5)
        return x, y


class Scale:
    """Areal and linear scale of the grid's projection, interpolated from a coarse lattice."""

    def __init__(self, grid: Grid) -> None:
        self.grid = grid
        if not grid.crs.is_projected or grid.crs.axis_info[0].unit_name != "metre":
            msg = f"the grid CRS {grid.crs.name!r} is not planar in metres; use a GK CRS"
            raise CRSError(msg)
        self.proj = Proj(grid.crs)
        self.to_ll = Transformer.from_crs(grid.crs, grid.crs.geodetic_crs, always_xy=True)

    def areal(self, win: Window) -> FloatArray:
        """Areal scale factor per cell of ``win``: smooth, so a 5 x 5 lattice is exact to 1e-9."""
        x, y = self.grid.centres(win)
        ci = np.unique(np.linspace(0, len(x) - 1, min(len(x), 5)).round().astype(int))
        ri = np.unique(np.linspace(0, len(y) - 1, min(len(y), 5)).round().astype(int))
        lon, lat = self.to_ll.transform(*np.meshgrid(x[ci], y[ri]))
        lattice = np.asarray(self.proj.get_factors(lon, lat).areal_scale, dtype=float)
        cols = np.arange(len(x))
        along = np.vstack([np.interp(cols, ci, row) for row in lattice])  # (len(ri), width)
        rows = np.arange(len(y))
        return np.vstack([np.interp(rows, ri, along[:, j]) for j in range(len(x))]).T

    def cell_area(self, win: Window) -> FloatArray:
        """Ellipsoidal m² of each cell of ``win``."""
        return self.grid.res**2 / self.areal(win)

    def ground_spacing(self, win: Window) -> FloatArray:
        """Ground distance in metres between neighbouring cell centres (GK is conformal)."""
        return self.grid.res / np.sqrt(self.areal(win))


def burn(
    geoms: Sequence[Any] | npt.NDArray[Any], grid: Grid, win: Window, *, touched: bool = False
) -> BoolArray:
    """Cells of ``win`` whose centre lies in any of the (planar) polygons ``geoms``, or with
    ``touched`` every cell they touch."""
    return burn_each(geoms, grid, win, (touched,))[0]


def burn_each(
    geoms: Sequence[Any] | npt.NDArray[Any], grid: Grid, win: Window, touched: Sequence[bool]
) -> list[BoolArray]:
    """:func:`burn` once for each ``touched`` flag, the polygons cut to the window once."""
    shape = (int(win.height), int(win.width))
    arr = np.asarray(geoms, dtype=object)
    if not len(arr):
        return [np.zeros(shape, dtype=bool) for _ in touched]
    box = grid.window_bounds(win, pad=grid.res)
    # An exact cut, not GEOS's rectangle clip: that can return wrong pieces for a polygon
    # whose hole meets the rectangle's edge (see overlay_plan.subdivide).
    clipped = shapely.intersection(arr, shapely.box(*box))
    keep = [g for g in clipped if not g.is_empty]
    if not keep:
        return [np.zeros(shape, dtype=bool) for _ in touched]
    transform = grid.window_transform(win)
    shapes = [(g, 1) for g in keep]
    return [
        rasterize(
            shapes, out_shape=shape, transform=transform, fill=0, dtype="uint8", all_touched=t
        ).astype(bool)
        for t in touched
    ]


class GridRaster:
    """A user raster resampled onto the grid (nodata and cells outside it are NaN).

    ``heights`` (a DEM): values are converted to metres (band scale/offset, declared unit) and a
    value outside ``valid`` (:func:`~qzgeo.analysis.suitability.source.height_range`; default
    land's heights) is refused as a fill value with no nodata declared.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        grid: Grid,
        *,
        what: str,
        nearest: bool,
        heights: bool = False,
        valid: HeightRange | None = None,
    ):
        p = Path(path)
        if not p.is_file():
            msg = f"{what}: raster {str(p)!r} does not exist; check the path"
            raise InputError(msg)
        admit_raster(p)  # driver allow-list: no VRT, no /vsi* (qzgeo.io.guard)
        try:
            self.src = open_admitted(p)
        except rasterio.errors.RasterioIOError as exc:
            msg = f"{what}: cannot read {str(p)!r} as a raster ({exc}); give a GeoTIFF"
            raise InputError(msg) from exc
        self.path, self.what, self.grid, self.heights = p, what, grid, heights
        self.valid, self.declared = height_range(valid), valid is not None
        self.notes: list[str] = []
        try:
            self._check()
            factor = 1.0
            if heights:
                factor, note = height_unit(self.src, str(p), what)
                self.notes += [note] if note else []
                self.notes += self._coarseness()
                if self.declared:  # the report says which heights were let through
                    lo, hi = self.valid
                    self.notes.append(
                        f"{what}: heights of {str(p)!r} accepted from {lo:g} to {hi:g} m "
                        "(--height-range), not only land's"
                    )
            self.band = rasterio.open(source_vrt(self.src, str(p), heights=heights, factor=factor))
            self.vrt = GridWarp(
                self.band,
                grid.crs,
                # One cell more on every side: the slope of an edge cell takes its neighbour
                # beyond the grid from the raster, not a one-sided difference.
                grid.transform * Affine.translation(-1, -1),
                (grid.height + 2, grid.width + 2),
                res=grid.res,
                cell_m=source_cell_m(self.src, grid.crs),
                nearest=nearest,
            )
        except BaseException:
            self.src.close()
            raise

    def _check(self) -> None:
        src, p = self.src, str(self.path)
        gcps, gcp_crs = src.gcps
        if src.crs is None and gcps:  # a scanned map, say: the fix is to rectify it
            to = f"-t_srs {gcp_crs.to_string()} " if gcp_crs else ""
            msg = (
                f"{self.what}: raster {p!r} is placed by {len(gcps)} ground control points, "
                f"not by a geotransform; rectify it first: gdalwarp {to}{p!r} rectified.tif"
            )
            raise CRSError(msg)
        if src.crs is None:
            msg = (
                f"{self.what}: raster {p!r} has no CRS; set the real one, e.g. "
                f"{self._set_crs('EPSG:4490')} (never guessed)"
            )
            raise CRSError(msg)
        if src.count < 1:
            msg = f"{self.what}: raster {p!r} has no band"
            raise InputError(msg)
        self._not_an_image()
        crs = CRS.from_wkt(src.crs.to_wkt())
        to_grid = Transformer.from_crs(crs, self.grid.crs, always_xy=True)
        self.notes += self._ballpark(crs, to_grid.description)
        # From the four corners: a north-down or rotated geotransform has no (left, bottom,
        # right, top) in that order.
        xs, ys = zip(
            *(
                src.transform @ c
                for c in ((0, 0), (src.width, 0), (0, src.height), (src.width, src.height))
            ),
            strict=True,
        )
        try:
            box = to_grid.transform_bounds(min(xs), min(ys), max(xs), max(ys), densify_pts=21)
        except Exception as exc:  # pyproj raises ProjError for impossible transforms
            msg = f"{self.what}: raster {p!r} in {crs.name} cannot be placed on the grid ({exc})"
            raise CRSError(msg) from exc
        g = self.grid.bounds
        if not all(map(math.isfinite, box)) or (
            box[0] >= g[2] or box[2] <= g[0] or box[1] >= g[3] or box[3] <= g[1]
        ):
            self._zone_prefix(crs, (min(xs) + max(xs)) / 2)
            ll = Transformer.from_crs(self.grid.crs, "EPSG:4490", always_xy=True)
            area = ll.transform_bounds(*g)
            msg = (
                f"{self.what}: raster {p!r} (bounds {tuple(round(v, 4) for v in src.bounds)} in "
                f"{crs.name}) does not overlap the study area (lon/lat "
                f"{tuple(round(v, 4) for v in area)}); give a raster of the study area or "
                "check its CRS"
            )
            raise InputError(msg)

    def _set_crs(self, crs: str) -> str:
        """The command that gives the file ``crs``: an ASCII grid keeps its CRS only in a
        ``.prj`` beside it (``gdal_edit.py`` writes an ``.aux.xml`` its driver does not read)."""
        p = str(self.path)
        if self.src.driver == "AAIGrid":
            return f"gdal_translate -a_srs {crs} {p!r} {str(self.path.with_suffix('.tif'))!r}"
        return f"gdal_edit.py -a_srs {crs} {p!r}"

    def _zone_prefix(self, crs: CRS, easting: float) -> None:
        """Refuse GK eastings that carry the zone number in front in a CRS without it (or the
        other way round), naming the CRS that fits, and metres in a lon/lat CRS: the file
        lies far away."""
        twin = prefix_twin(crs, easting)
        if twin is None and crs.is_geographic and not abs(easting) <= 360:
            msg = (
                f"{self.what}: raster {str(self.path)!r} has x of about {easting:.0f}, metres, "
                f"not degrees, but its CRS is {crs.name} (lon/lat); set the projected CRS it "
                f"was made in, e.g. {self._set_crs('EPSG:CODE')}"
            )
            raise CRSError(msg)
        if twin is None:
            return
        has = "carry the zone number in front" if easting >= 1e7 else "carry no zone number"
        msg = (
            f"{self.what}: raster {str(self.path)!r} has eastings of about {easting:.0f}, which "
            f"{has}, but its CRS is {crs.name}; set the CRS that fits them: "
            f"{self._set_crs(f'EPSG:{twin}')}"
        )
        raise CRSError(msg)

    def _not_an_image(self) -> None:
        """Refuse a rendering of the data: band 1 of an RGB map is a red channel, and a band
        with a colour table holds class codes, not heights."""
        src, p = self.src, str(self.path)
        wanted = "heights (a DEM)" if self.heights else "class codes"
        rgb = (ColorInterp.red, ColorInterp.green, ColorInterp.blue)
        if src.count >= 3 and tuple(src.colorinterp[:3]) == rgb:
            msg = (
                f"{self.what}: raster {p!r} is an RGB image (a rendered map?), not "
                f"{wanted}; give the data the map was drawn from"
            )
            raise InputError(msg)
        alpha = [i + 1 for i, c in enumerate(src.colorinterp) if c == ColorInterp.alpha]
        if alpha and src.nodata is None and MaskFlags.alpha not in src.mask_flag_enums[0]:
            # GDAL reads only a Byte or UInt16 alpha band as a mask: under a float or Int16
            # one (gdalwarp -dstalpha on such a DEM) the voids would be values of 0.
            fixed = str(self.path.with_name(f"{self.path.stem}_nodata.tif"))
            msg = (
                f"{self.what}: raster {p!r} marks its voids with band {alpha[0]}, an alpha "
                f"band of {src.dtypes[alpha[0] - 1]} that GDAL does not read as a mask; turn "
                f"it into nodata: gdalwarp -srcalpha -dstnodata -9999 {p!r} {fixed!r}"
            )
            raise InputError(msg)
        if self.heights and src.colorinterp[0] == ColorInterp.palette:
            msg = (
                f"{self.what}: raster {p!r} has a colour table: class codes, not heights; "
                "give the DEM (or name this raster in a class factor)"
            )
            raise InputError(msg)

    def _ballpark(self, crs: CRS, how: str) -> list[str]:
        """A note when the raster reaches the grid only by PROJ's ballpark transformation from
        another ellipsoid (Beijing 1954, Xian 1980): same latitude and longitude assumed, tens
        of metres off. WGS 84 is not said: its ellipsoid is the grid's within millimetres."""
        here, there = crs.ellipsoid, self.grid.crs.ellipsoid
        if "Ballpark" not in how or here is None or there is None:
            return []
        if abs(here.semi_major_metre - there.semi_major_metre) < 0.5:
            return []
        return [
            f"{self.what}: raster {str(self.path)!r} is in {crs.name} ({here.name}), placed on "
            f"the grid's {self.grid.crs.name} by PROJ's ballpark transformation (no datum "
            "parameters: positions may be off by tens of metres); reproject it with the "
            "local 转换参数 first if that matters"
        ]

    def _coarseness(self) -> list[str]:
        """Refuse heights with fewer than 2 x 2 cells (no slope); a note for cells far coarser
        than the grid's (the slope is interpolated across them: steep ground inside is lost)."""
        src, p, res = self.src, str(self.path), self.grid.res
        if src.width < 2 or src.height < 2:
            msg = (
                f"{self.what}: raster {p!r} has {src.width} x {src.height} cell(s); a slope needs "
                f"at least 2 x 2. Give a DEM of the study area near the grid's {res:g} m"
            )
            raise InputError(msg)
        cell = source_cell_m(src, self.grid.crs)
        if not math.isfinite(cell) or cell <= COARSE_RATIO * res:
            return []
        return [
            f"{self.what}: raster {p!r} has cells of about {cell:,.0f} m, {cell / res:.0f}x "
            f"coarser than the grid's {res:g} m: the slope is interpolated across them, so "
            "steep ground inside a cell is missed; give a finer DEM or a coarser --resolution"
        ]

    def read(self, win: Window, halo: int = 0) -> FloatArray:
        """Values of ``win`` grown by ``halo`` cells (NaN outside the raster, and beyond the
        grid's one-cell margin)."""
        grid = self.grid
        r0, c0 = win.row_off - halo + 1, win.col_off - halo + 1  # rows, cols of the margin VRT
        h, w = win.height + 2 * halo, win.width + 2 * halo
        out = np.full((h, w), np.nan, dtype=np.float64)
        rr0, cc0 = max(0, r0), max(0, c0)
        rr1, cc1 = min(grid.height + 2, r0 + h), min(grid.width + 2, c0 + w)
        try:
            vals = self.vrt.read(Window(cc0, rr0, cc1 - cc0, rr1 - rr0))
        except rasterio.errors.RasterioIOError as exc:  # else taken for a failed write
            p = str(self.path)
            msg = (
                f"{self.what}: cannot read the cells of {p!r} ({exc}): a damaged or partly "
                f"downloaded file? Download it again; gdalinfo -checksum {p!r} shows the error"
            )
            raise InputError(msg) from exc
        out[rr0 - r0 : rr1 - r0, cc0 - c0 : cc1 - c0] = vals
        if self.heights:
            self._no_fill(out)
        return out

    def _no_fill(self, z: FloatArray) -> None:
        """Refuse heights outside the valid range: a fill value with no nodata declared, or
        (default range) sea-floor depths, which need ``--height-range``."""
        lo, hi = self.valid
        with np.errstate(invalid="ignore"):
            bad = z[(z < lo) | (z > hi)]
        if not bad.size:
            return
        value, repeated = fill_value(self.src, bad.tolist(), self.valid)
        p, deepest = str(self.path), self._lowest(float(bad.min()))
        # In full when 6 digits are not the value: -3.40282e+38 declared for the float32 fill
        # -3.4028234663852886e+38 matches no cell.
        exact = f"{value:g}" if float(f"{value:g}") == value else repr(value)
        fill = f"gdal_edit.py -a_nodata {exact} {p!r}"
        nodata = f"nodata declared: {self.src.nodata!r}"
        if self.declared:
            msg = (
                f"{self.what}: raster {p!r} holds {value:g} over the study area, outside the "
                f"declared --height-range ({lo:g} to {hi:g} m; {nodata}): a fill value? "
                f"Declare it: {fill}; if it is a real height, widen --height-range"
            )
        elif not repeated and deepest >= lo and math.isfinite(float(bad.max())):
            # Many different heights above any land, none below: not one fill value but
            # heights in smaller units (an int DEM of decimetres) with no scale declared.
            msg = (
                f"{self.what}: raster {p!r} holds heights up to {float(bad.max()):g} over the "
                f"study area, above any land ({lo:g} to {hi:g} m; {nodata}), as many different "
                "values, not one fill value: heights in decimetres or centimetres with no "
                f"scale declared? Declare it: gdal_edit.py -scale 0.1 {p!r} (decimetres; "
                f"-scale 0.01 for centimetres); if {value:g} is a fill value instead, declare "
                f"it: {fill}"
            )
        elif repeated or deepest < DEEPEST_M or deepest >= lo:
            msg = (
                f"{self.what}: raster {p!r} holds {value:g} over the study area, a height no "
                f"land has ({lo:g} to {hi:g} m; {nodata}): a fill value? Declare it: {fill}; "
                "if the file holds real depths (a sea-floor DEM), declare its heights: "
                "--height-range LOWEST HIGHEST (metres)"
            )
        else:  # many values below land's: depths, it seems
            floor = max(DEEPEST_M, 1000.0 * math.floor(deepest / 1000.0))
            msg = (
                f"{self.what}: raster {p!r} holds heights down to {deepest:g} m, below any "
                f"land ({lo:g} to {hi:g} m): a sea-floor DEM? Declare its "
                f"heights: --height-range {floor:g} {hi:g}; if {value:g} is a fill value "
                f"instead ({nodata}), declare it: {fill}"
            )
        raise InputError(msg)

    def _lowest(self, found: float) -> float:
        """The lowest height (m) of the whole file, sampled on at most 1024 x 1024 cells, or
        ``found`` if lower: the range to suggest must hold every window, not the first."""
        h, w = min(self.src.height, 1024), min(self.src.width, 1024)
        sample = self.band.read(1, out_shape=(h, w), resampling=Resampling.nearest)
        finite = sample[np.isfinite(sample)]
        return min(found, float(finite.min())) if finite.size else found

    def close(self) -> None:
        self.vrt.close()
        self.band.close()
        self.src.close()
