"""Factors of a suitability model, graded 1..5 window by window (0 = no value).

- **slope**: degrees from a DEM resampled onto the GK grid, central differences over the true
  ground spacing of the cells (the grid spacing divided by the GK linear scale), never degrees
  of longitude;
- **elevation**: the resampled DEM;
- **distance**: Euclidean distance in metres in the planar CRS from each cell centre to the
  nearest feature of the named layers. Each break is decided exactly: cells inside an inner
  buffer are nearer than the break, cells outside an outer (circumscribed) buffer farther, and
  the thin band between is measured with shapely;
- **class**: codes of a class raster mapped to grades (unmapped codes have no grade).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import shapely
from rasterio.windows import Window

from qzgeo._errors import InputError
from qzgeo.analysis.suitability.grid import BoolArray, FloatArray, Grid, GridRaster, Scale, burn
from qzgeo.analysis.suitability.model import Factor

GradeArray = npt.NDArray[np.uint8]
QUAD_SEGS = 16  # buffer vertices per quarter circle


def grade_values(values: FloatArray, breaks: Sequence[float], grades: Sequence[int]) -> GradeArray:
    """Grade by breaks: ``v <= breaks[0]`` -> ``grades[0]``, ``breaks[0] < v <= breaks[1]`` -> ...

    NaN values get grade 0 (no value).

    Examples
    --------
    >>> grade_values(np.array([0.0, 3.0, 3.1, 30.0, np.nan]), [3, 8, 15, 25], [5, 4, 3, 2, 1])
    array([5, 5, 4, 1, 0], dtype=uint8)
    """
    idx = np.searchsorted(np.asarray(breaks, dtype=float), values, side="left")
    lut = np.asarray(grades, dtype=np.uint8)
    out = lut[np.minimum(idx, len(lut) - 1)]
    out[~np.isfinite(values)] = 0
    return out


def slope_degrees(z: FloatArray, spacing: FloatArray) -> FloatArray:
    """Slope in degrees of the core of ``z`` (which has a one-cell halo).

    ``spacing`` is the ground distance between cell centres (metres) for the core cells. Where
    one neighbour on an axis is NaN (a void, the raster's edge; the halo past the grid's edge
    is read from the raster) the difference on that axis is one-sided; a cell with a NaN
    centre, or NaN on both sides of an axis, has no slope.
    """
    core = z[1:-1, 1:-1]
    left, right = z[1:-1, :-2], z[1:-1, 2:]
    up, down = z[:-2, 1:-1], z[2:, 1:-1]
    # One-sided next to a NaN neighbour, where the centre has a value.
    dx_n = np.where(np.isnan(left) | np.isnan(right), 1.0, 2.0)
    dzx = np.where(
        np.isnan(left), right - core, np.where(np.isnan(right), core - left, right - left)
    )
    dy_n = np.where(np.isnan(up) | np.isnan(down), 1.0, 2.0)
    dzy = np.where(np.isnan(up), core - down, np.where(np.isnan(down), up - core, up - down))
    gx = dzx / (dx_n * spacing)
    gy = dzy / (dy_n * spacing)
    with np.errstate(invalid="ignore"):
        out = np.degrees(np.arctan(np.hypot(gx, gy)))
    # A centre cell with no value, or with no neighbour on both sides of an axis, has no slope.
    out[np.isnan(core)] = np.nan
    return out


class DistanceFactor:
    """Grades of the distance to a set of planar geometries, exact at every break."""

    def __init__(self, factor: Factor, geoms: npt.ArrayLike) -> None:
        self.factor = factor
        parts = shapely.get_parts(np.asarray(geoms, dtype=object))
        self.parts = parts[~shapely.is_empty(parts)]
        self.tree = shapely.STRtree(self.parts)
        merged = shapely.union_all(self.parts)
        # Half the widest angle between buffer vertices: GEOS rounds a corner's turn / quantum
        # to the nearest whole number of fillet segments, so one segment spans up to 1.5
        # quanta (90° / QUAD_SEGS each); the chord sags by R(1 - cos(half)) inside the circle.
        half = 0.75 * math.pi / (2 * QUAD_SEGS)
        self.inner, self.outer = [], []
        for b in factor.breaks:
            eps = 1e-6 + 1e-9 * b
            if b - eps > 0:
                self.inner.append(shapely.buffer(merged, b - eps, quad_segs=QUAD_SEGS))
            else:  # a break of 0 (on the features): nothing is surely nearer
                self.inner.append(shapely.Polygon())
            self.outer.append(shapely.buffer(merged, b / math.cos(half) + eps, quad_segs=QUAD_SEGS))
        for g in (*self.inner, *self.outer):
            shapely.prepare(g)

    def distances(self, x: FloatArray, y: FloatArray) -> FloatArray:
        """Exact planar distance (metres) from points to the nearest feature."""
        pts = shapely.points(x, y)
        _, dist = self.tree.query_nearest(pts, return_distance=True, all_matches=False)
        return np.asarray(dist, dtype=float)

    def grades(self, grid: Grid, win: Window) -> GradeArray:
        shape = (int(win.height), int(win.width))
        beyond = np.zeros(shape, dtype=np.int64)  # number of breaks the distance exceeds
        xs, ys = grid.centres(win)
        for inner, outer, b in zip(self.inner, self.outer, self.factor.breaks, strict=True):
            near = burn([inner], grid, win)
            maybe = burn([outer], grid, win)
            band = maybe & ~near
            far = ~maybe
            if band.any():
                rows, cols = np.nonzero(band)
                d = self.distances(xs[cols], ys[rows])
                far[rows[d > b], cols[d > b]] = True
            beyond += far
        lut = np.asarray(self.factor.grades, dtype=np.uint8)
        return lut[beyond]


def raster_grades(
    factor: Factor, raster: GridRaster, scale: Scale, grid: Grid, win: Window
) -> tuple[GradeArray, BoolArray]:
    """Grades of a raster factor, and the cells where the raster had no value."""
    if factor.kind == "slope":
        z = raster.read(win, halo=1)
        values = slope_degrees(z, scale.ground_spacing(win))
    else:
        values = raster.read(win)
    missing = ~np.isfinite(values)
    if factor.kind == "class":
        _whole_codes(values[~missing], raster)
        out = np.zeros(values.shape, dtype=np.uint8)
        codes = np.where(missing, 0, values).astype(np.int64)
        for code, g in factor.class_grades.items():
            out[(codes == code) & ~missing] = g  # any code may be mapped, -1 and 0 too
        return out, missing
    return grade_values(values, factor.breaks, factor.grades), missing


def _whole_codes(values: FloatArray, raster: GridRaster) -> None:
    """Refuse a class raster with fractional values: cutting 10.7 to code 10 is a guess."""
    frac = values[values != np.round(values)]
    if frac.size:
        p = str(raster.path)
        msg = (
            f"{raster.what}: raster {p!r} holds {float(frac[0]):.6g}, not a whole class code "
            "(a DEM or another continuous raster given as classes?); give the raster of "
            "integer class codes the model's `classes` name"
        )
        raise InputError(msg)
