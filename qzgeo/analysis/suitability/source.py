"""A user raster as the suitability grid reads it, before any resampling.

Band 1 of the file is wrapped in a small in-memory VRT that

- turns the declared nodata (or the cells under a mask or alpha band) into NaN *before* the
  warp, so that a cell whose resampling kernel touches a void has no value (GDAL's warper
  would otherwise average the valid part of the kernel, which moves the cell's height and
  biases the slope next to every void);
- applies the band's scale and offset (an int16 DEM of decimetres with scale 0.1);
- for heights, converts the declared vertical unit (band unit or vertical CRS) to metres,
  and refuses a unit it does not know.

The VRT names only the file that :func:`qzgeo.io.guard.admit_raster` let through.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import rasterio
from pyproj import CRS
from rasterio.enums import MaskFlags, Resampling
from rasterio.io import DatasetReader
from rasterio.transform import Affine

from qzgeo._errors import InputError
from qzgeo.io.guard import raster_drivers

__all__ = [
    "DEEPEST_M",
    "HIGHEST_M",
    "LOWEST_M",
    "HeightRange",
    "fill_value",
    "height_range",
    "height_unit",
    "open_admitted",
    "source_vrt",
]

US_FOOT = 1200 / 3937
_METRES = frozenset({"", "m", "metre", "metres", "meter", "meters", "米", "公尺"})
#: Band units converted to metres, by their lower-case name (Chinese ones as Chinese DEMs
#: write them: 米 is in _METRES).
_UNITS = {
    "dm": 0.1,
    "decimetre": 0.1,
    "decimetres": 0.1,
    "decimeter": 0.1,
    "decimeters": 0.1,
    "分米": 0.1,
    "cm": 0.01,
    "centimetre": 0.01,
    "centimetres": 0.01,
    "centimeter": 0.01,
    "centimeters": 0.01,
    "厘米": 0.01,
    "mm": 0.001,
    "millimetre": 0.001,
    "millimetres": 0.001,
    "millimeter": 0.001,
    "millimeters": 0.001,
    "毫米": 0.001,
    "英尺": 0.3048,
    "ft": 0.3048,
    "foot": 0.3048,
    "feet": 0.3048,
    "international foot": 0.3048,
    "us survey foot": US_FOOT,
    "us-ft": US_FOOT,
    "ftus": US_FOOT,
    "foot_us": US_FOOT,
    "us_survey_foot": US_FOOT,
}
#: No height on Earth's land is below the Dead Sea shore (-430 m) or above Everest (8849 m).
LOWEST_M, HIGHEST_M = -1000.0, 9000.0
#: No sea floor is deeper than the Challenger Deep (about -10 935 m): a declared range that
#: reaches below this would let a fill value such as -32768 through as a height.
DEEPEST_M = -12000.0
#: Valid heights in metres, lowest and highest (see :func:`height_range`).
HeightRange = tuple[float, float]


def _vertical_crs_unit(src: DatasetReader) -> tuple[str, float] | None:
    if src.crs is None:
        return None
    crs = CRS.from_wkt(src.crs.to_wkt())
    for sub in crs.sub_crs_list or [crs]:
        for axis in sub.axis_info:
            if axis.direction == "up":
                return axis.unit_name, float(axis.unit_conversion_factor)
    return None


def height_unit(src: DatasetReader, shown: str, what: str) -> tuple[float, str | None]:
    """Metres per unit of the band's heights, and a note when they are not metres."""
    declared = (src.units[0] or "").strip() if src.units else ""
    vertical = _vertical_crs_unit(src)
    if declared.lower() in _METRES and vertical is not None:
        name, factor = vertical
        if math.isclose(factor, 1.0):
            return 1.0, None
        return factor, f"{what}: heights of {shown!r} are in {name} (vertical CRS), x {factor:g}"
    if declared.lower() in _METRES:
        return 1.0, None
    if declared.lower() in _UNITS:
        factor = _UNITS[declared.lower()]
        note = (
            f"{what}: heights of {shown!r} are in {declared!r} (band unit); "
            f"converted to metres x {factor:.10g}"
        )
        return factor, note
    msg = (
        f"{what}: raster {shown!r} declares its heights in {declared!r}, a unit qzgeo does not "
        "convert; give heights in metres (or feet, dm, cm, mm), e.g. gdal_calc.py -A FILE "
        '--calc "A*FACTOR" --outfile dem_m.tif, then clear the unit'
    )
    raise InputError(msg)


def source_vrt(src: DatasetReader, path: str, *, heights: bool, factor: float = 1.0) -> str:
    """VRT XML of band 1: nodata -> NaN, scale/offset (and ``factor`` for heights) applied."""
    scale = float(src.scales[0]) if src.scales and src.scales[0] is not None else 1.0
    offset = float(src.offsets[0]) if src.offsets and src.offsets[0] is not None else 0.0
    if not heights:
        scale, offset, factor = 1.0, 0.0, 1.0
    nodata = "" if src.nodata is None else f"<NODATA>{src.nodata!r}</NODATA>"
    # A void declared by a mask (an internal or .msk mask, an alpha band: gdalwarp -dstalpha)
    # rather than a nodata value: masked cells hold 0 or anything, and were read as heights.
    # Masked source cells are not copied, so they keep the VRT's NaN.
    flags = set(src.mask_flag_enums[0])
    if MaskFlags.per_dataset in flags or MaskFlags.alpha in flags:
        nodata += "<UseMaskBand>true</UseMaskBand>"
    # One NaN cell around the file: a cell centre beyond its edge took the edge heights
    # (GDAL's bilinear clamps there), as if the ground were flat outside the DEM.
    gt = ", ".join(repr(float(v)) for v in (src.transform * Affine.translation(-1, -1)).to_gdal())
    w, h = src.width, src.height
    rects = f'xOff="0" yOff="0" xSize="{w}" ySize="{h}"'
    return (
        f'<VRTDataset rasterXSize="{w + 2}" rasterYSize="{h + 2}">'
        f"<SRS>{escape(src.crs.to_wkt())}</SRS><GeoTransform>{gt}</GeoTransform>"
        '<VRTRasterBand dataType="Float64" band="1"><NoDataValue>nan</NoDataValue>'
        f'<ComplexSource><SourceFilename relativeToVRT="0">{escape(path)}</SourceFilename>'
        f"<SourceBand>1</SourceBand><SrcRect {rects}/>"
        f'<DstRect xOff="1" yOff="1" xSize="{w}" ySize="{h}"/>{nodata}'
        f"<ScaleOffset>{offset * factor!r}</ScaleOffset><ScaleRatio>{scale * factor!r}</ScaleRatio>"
        "</ComplexSource></VRTRasterBand></VRTDataset>"
    )


def height_range(value: Sequence[float] | None) -> HeightRange:
    """The heights a DEM may hold, in metres: ``value`` (``(lowest, highest)``) checked once,
    else land's (:data:`LOWEST_M` to :data:`HIGHEST_M`).

    A height outside it is taken for a fill value and refused. A bathymetric DEM (sea floor)
    declares its depths, e.g. ``(-9000, 100)``; the range may not reach below
    :data:`DEEPEST_M` (no sea is deeper) nor above :data:`HIGHEST_M` (no mountain is higher),
    so that a fill value such as -32768 or 32767 is never accepted as a height.

    Examples
    --------
    >>> height_range(None), height_range((-9000, 100))
    ((-1000.0, 9000.0), (-9000.0, 100.0))
    """
    if value is None:
        return LOWEST_M, HIGHEST_M
    lo, hi = (float(v) for v in value)
    shown = f"--height-range {lo:g} {hi:g}"
    fix = "e.g. --height-range -9000 100 for a sea-floor DEM"
    if not (math.isfinite(lo) and math.isfinite(hi)):
        msg = f"{shown}: both heights must be finite numbers of metres; {fix}"
        raise InputError(msg)
    if lo >= hi:
        msg = f"{shown}: the lowest height must be below the highest; {fix}"
        raise InputError(msg)
    if lo < DEEPEST_M or hi > HIGHEST_M:
        msg = (
            f"{shown}: heights on Earth lie between {DEEPEST_M:g} m (below the deepest sea "
            f"floor) and {HIGHEST_M:g} m (above Everest), and a wider range would take fill "
            f"values such as -32768 for heights; {fix}"
        )
        raise InputError(msg)
    return lo, hi


def fill_value(
    src: DatasetReader, found: Sequence[float], valid: HeightRange = (LOWEST_M, HIGHEST_M)
) -> tuple[float, bool]:
    """The height outside ``valid`` the file holds most often (a fill value), else one found,
    and whether it is most of them (a fill value is one value; real depths are many)."""
    h, w = min(src.height, 1024), min(src.width, 1024)
    sample = src.read(1, out_shape=(h, w), resampling=Resampling.nearest).astype(np.float64)
    if src.nodata is not None:
        sample = sample[sample != src.nodata]
    bad = sample[np.isfinite(sample) & ((sample < valid[0]) | (sample > valid[1]))]
    if bad.size:
        values, counts = np.unique(bad, return_counts=True)
        top = int(np.argmax(counts))
        return float(values[top]), 2 * int(counts[top]) >= bad.size
    return float(found[0]), True


def open_admitted(path: Path) -> DatasetReader:
    """``path`` opened with only the GDAL drivers of its suffix (:mod:`qzgeo.io.guard`): GDAL
    picks a driver by content, so a ``.tif`` of ``<GDAL_WMS>`` XML would fetch a URL."""
    drivers = raster_drivers(path)
    for driver in drivers[:-1]:
        try:
            return rasterio.open(path, driver=driver)
        except rasterio.errors.RasterioIOError:
            continue
    try:
        return rasterio.open(path, driver=drivers[-1])
    except rasterio.errors.RasterioIOError as exc:
        if drivers[-1] != "SRTMHGT":
            raise
        # GDAL only says "not recognized": say what an SRTM tile must be
        size = path.stat().st_size if path.is_file() else 0
        msg = (
            f"an SRTM .hgt tile is placed by its name, like N31E117.hgt or S04W061.hgt, and "
            "holds 1201 x 1201 or 3601 x 3601 big-endian 16-bit heights (2,884,802 or "
            f"25,934,402 bytes); {path.name} has {size:,} bytes. Download the tile again, or "
            "name it after its south-west corner"
        )
        raise rasterio.errors.RasterioIOError(msg) from exc
