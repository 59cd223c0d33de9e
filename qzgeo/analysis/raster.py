"""Rasters: burn polygon layers into class GeoTIFFs; zonal statistics and slope with true areas.

Every area is ellipsoidal (CGCS2000/GRS80) whatever the raster's CRS. A geographic cell's area
depends on its row's latitude, so it is measured per row; a planar cell's ground area is its grid
area divided by the projection's areal scale at the cell (about 1 + 1e-4 at 64 km from a GK
central meridian). Zones are read one at a time in strips of rows, so memory stays bounded.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyproj
import rasterio
import shapely
from pyproj import CRS, Proj, Transformer
from rasterio.features import geometry_mask, rasterize
from rasterio.transform import Affine
from rasterio.windows import Window

from qzgeo._errors import CRSError, GeometryError, InputError, QzgeoError
from qzgeo.analysis.suitability.source import open_admitted
from qzgeo.geo.area import GEOD, m2_to_ha, m2_to_mu
from qzgeo.geo.crs import STORAGE_CRS, planar_crs_for_bounds
from qzgeo.io.atomic import atomic_path
from qzgeo.io.guard import admit_raster
from qzgeo.pack.class_values import class_texts

CLASSES_TAG = "QZGEO_CLASSES"  # JSON {"code": "class name"} in the GeoTIFF metadata
OVERLAP_RULE = "lowest code wins (first class of the class table)"
DEFAULT_CLASS = "present"  # the single class of a layer rasterized without class_field
STRIP_ROWS = 512  # rasterize strip height: two rows of 256x256 tiles
STRIP_CELLS = 4_000_000  # cells per zonal read strip, which bounds memory
MAX_CELLS = 4_000_000_000

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class RasterInfo:
    """What :func:`rasterize_layer` wrote: grid, CRS and the class code -> class name table."""

    path: Path
    crs: str
    transform: tuple[float, float, float, float, float, float]  # GDAL order: c, a, b, f, d, e
    width: int
    height: int
    resolution_m: float
    dtype: str
    classes: dict[int, str]
    overlap_rule: str = OVERLAP_RULE


def rasterize_layer(
    gdf: gpd.GeoDataFrame,
    out_path: str | os.PathLike[str],
    *,
    resolution_m: float = 10.0,
    class_field: str | None = None,
    crs: Any = None,
    bounds: tuple[float, float, float, float] | None = None,
    all_touched: bool = False,
    priority: Sequence[str] | None = None,
) -> RasterInfo:
    """Burn a polygon layer into a tiled, DEFLATE-compressed class GeoTIFF (0 = nodata).

    Codes 1..n follow the class table: ``priority`` if given (it may list classes absent from the
    layer, which keeps codes stable across layers), else the sorted class names. Where features
    of different classes overlap, the class with the lowest code wins. The grid is snapped to
    multiples of ``resolution_m``, so layers rasterized at one resolution and CRS align.

    Parameters
    ----------
    gdf : Polygon layer with a CRS; inputs are never modified.
    out_path : GeoTIFF to write (atomically; re-runs are byte-identical).
    resolution_m : Cell size in metres.
    class_field : Column naming each feature's class; ``None`` burns one class, ``"present"``.
    crs : Planar CRS in metres; default the CGCS2000 3° GK (CM) zone of the data's extent.
    bounds : (minx, miny, maxx, maxy) in the output CRS; default the layer's extent. Snapped out.
    all_touched : Burn every cell a polygon touches, not only cells whose centre is inside.
    priority : Class names, highest priority first.

    Examples
    --------
    >>> import tempfile, geopandas as gpd
    >>> from shapely import box
    >>> g = gpd.GeoDataFrame({"类别": ["耕地"]}, geometry=[box(120.1, 30.2, 120.11, 30.21)],
    ...                      crs="EPSG:4490")
    >>> info = rasterize_layer(g, tempfile.mkdtemp() + "/a.tif", class_field="类别")
    >>> info.crs, info.classes
    ('EPSG:4549', {1: '耕地'})
    """
    _check_layer(gdf, resolution_m)
    names = _class_names(gdf, class_field)
    codes, dtype = _class_codes(names, priority)
    target = _planar_crs(gdf, crs)
    proj = gdf.geometry.to_crs(target)
    res = float(resolution_m)
    width, height, transform = _grid(bounds if bounds is not None else proj.total_bounds, res)

    # Burn in decreasing code order so that the lowest code (highest priority) lands last.
    code_of = np.array([codes[n] for n in names])
    order = np.lexsort((np.arange(len(names)), -code_of))
    profile = {
        "driver": "GTiff", "width": width, "height": height, "count": 1, "dtype": dtype,
        "crs": target.to_wkt(), "transform": transform, "nodata": 0, "tiled": True,
        "blockxsize": 256, "blockysize": 256, "compress": "deflate", "predictor": 2,
        "BIGTIFF": "IF_SAFER",
    }  # fmt: skip
    with atomic_path(out_path) as tmp, rasterio.open(tmp, "w", **profile) as dst:
        _burn_strips(dst, proj.values[order], code_of[order], transform, all_touched)
        tags = {str(c): n for n, c in codes.items()}
        dst.update_tags(**{CLASSES_TAG: json.dumps(tags, ensure_ascii=False)})
        dst.update_tags(QZGEO_OVERLAP=OVERLAP_RULE)
        dst.set_band_description(1, class_field or DEFAULT_CLASS)
    return RasterInfo(
        path=Path(out_path), crs=_crs_name(target), transform=tuple(transform.to_gdal()),
        width=width, height=height, resolution_m=res, dtype=dtype,
        classes={c: n for n, c in codes.items()},
    )  # fmt: skip


def _check_layer(gdf: gpd.GeoDataFrame, resolution_m: float) -> None:
    """Refuse what cannot be rasterized: bad resolution, no CRS, no features, non-polygons."""
    if not (math.isfinite(resolution_m) and resolution_m > 0):
        msg = f"resolution_m must be a positive number of metres, got {resolution_m!r}"
        raise InputError(msg)
    if gdf.crs is None:
        msg = "the layer has no CRS; set it with gdf.set_crs('EPSG:4490') (or its real CRS)"
        raise CRSError(msg)
    if gdf.empty:
        msg = "the layer has no features; nothing to rasterize"
        raise InputError(msg)
    kinds = shapely.get_type_id(gdf.geometry.values)
    bad = gdf.index[~np.isin(kinds, (3, 6)) | gdf.geometry.is_empty.to_numpy()]
    if len(bad):
        msg = (
            f"{len(bad)} feature(s) are not (non-empty) polygons, first index {bad[0]!r}; "
            "keep polygons only: gdf[gdf.geom_type.isin(['Polygon', 'MultiPolygon'])]"
        )
        raise GeometryError(msg)


def _class_codes(names: list[str], priority: Sequence[str] | None) -> tuple[dict[str, int], str]:
    """Code of each class (1..n in priority order) and the raster dtype that holds them."""
    table = list(priority) if priority is not None else sorted(set(names))
    missing = sorted(set(names) - set(table))
    if missing or len(set(table)) != len(table):
        msg = f"priority must list every class once; missing {missing!r}, got {table!r}"
        raise InputError(msg)
    if len(table) > 65535:
        msg = f"{len(table)} classes do not fit a uint16 raster; group them (at most 65535)"
        raise InputError(msg)
    codes = {name: i for i, name in enumerate(table, start=1)}
    return codes, "uint8" if len(table) <= 255 else "uint16"


def _grid(bounds: Any, res: float) -> tuple[int, int, Affine]:
    """Width, height and transform of the grid snapped to multiples of ``res``."""
    minx, miny, maxx, maxy = bounds
    minx, miny = math.floor(minx / res) * res, math.floor(miny / res) * res
    width = max(1, math.ceil(maxx / res - minx / res - 1e-9))
    height = max(1, math.ceil(maxy / res - miny / res - 1e-9))
    if width * height > MAX_CELLS:
        msg = f"a {width} x {height} grid is too large; use a coarser resolution_m or bounds"
        raise InputError(msg)
    top = miny + height * res
    return width, height, Affine(res, 0.0, minx, 0.0, -res, top)


def _burn_strips(dst: Any, geoms: Any, code_of: Any, transform: Affine, all_touched: bool) -> None:
    """Rasterize strips of :data:`STRIP_ROWS` rows, each from the polygons that reach it."""
    width, height, dtype = dst.width, dst.height, dst.dtypes[0]
    res, minx, top = transform.a, transform.c, transform.f
    tree = shapely.STRtree(geoms)
    for row0 in range(0, height, STRIP_ROWS):
        h = min(STRIP_ROWS, height - row0)
        strip = shapely.box(minx, top - (row0 + h) * res, minx + width * res, top - row0 * res)
        hits = np.sort(tree.query(strip))
        arr = np.zeros((h, width), dtype=dtype)
        if len(hits):
            shapes = zip(geoms[hits], code_of[hits].tolist(), strict=True)
            arr = rasterize(
                shapes, out_shape=(h, width), transform=transform @ Affine.translation(0, row0),
                fill=0, all_touched=all_touched, dtype=dtype,
            )  # fmt: skip
        dst.write(arr, 1, window=Window(0, row0, width, h))


def _class_names(gdf: gpd.GeoDataFrame, class_field: str | None) -> list[str]:
    if class_field is None:
        return [DEFAULT_CLASS] * len(gdf)
    if class_field not in gdf.columns:
        msg = f"class_field {class_field!r} is not a column; columns are {list(gdf.columns)!r}"
        raise InputError(msg)
    values = gdf[class_field]
    if values.isna().any():
        msg = (
            f"{int(values.isna().sum())} feature(s) have no {class_field!r}, first index "
            f"{values.index[values.isna()][0]!r}; fill it (e.g. fillna('未分类')) or drop them"
        )
        raise InputError(msg)
    return [str(v) for v in class_texts(values)]  # a REAL code 1.0 is the class "1"


def _planar_crs(gdf: gpd.GeoDataFrame, crs: Any) -> CRS:
    if crs is None:
        try:
            return planar_crs_for_bounds(tuple(gdf.geometry.to_crs(STORAGE_CRS).total_bounds))
        except ValueError as exc:
            msg = f"{exc}; pass crs= a planar CRS in metres"
            raise CRSError(msg) from exc
    try:
        c = CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        msg = f"cannot understand crs={crs!r}; use a CGCS2000 GK zone, e.g. 'EPSG:4549' (CM 120E)"
        raise CRSError(msg) from exc
    if not c.is_projected or c.axis_info[0].unit_name != "metre":
        msg = f"crs={crs!r} is not planar in metres; use a GK CRS (EPSG:4534-4554) or None"
        raise CRSError(msg)
    return c


def _crs_name(c: CRS) -> str:
    epsg = c.to_epsg()
    return f"EPSG:{epsg}" if epsg else c.to_wkt()


# --- reading -------------------------------------------------------------------------------


def _open(path: str | os.PathLike[str], band: int) -> rasterio.DatasetReader:
    p = Path(path)
    if not p.is_file():
        msg = f"raster {str(p)!r} does not exist; check the path"
        raise InputError(msg)
    admit_raster(p)  # driver allow-list: no VRT, no /vsi* (qzgeo.io.guard)
    try:
        src = open_admitted(p)
    except rasterio.errors.RasterioIOError as exc:
        msg = f"cannot read raster {str(p)!r} ({exc}); expected a GeoTIFF or other GDAL raster"
        raise InputError(msg) from exc
    t = src.transform
    problem: QzgeoError | None = None
    if src.crs is None:
        problem = CRSError(f"raster {str(p)!r} has no CRS; set one: gdal_edit.py -a_srs EPSG:...")
    elif t.b != 0 or t.d != 0 or t.a <= 0 or t.e >= 0:
        problem = InputError(f"raster {str(p)!r} is not north-up; gdalwarp it to a north-up grid")
    elif not 1 <= band <= src.count:
        problem = InputError(f"band={band!r} is not in 1..{src.count} of {str(p)!r}")
    if problem is not None:
        src.close()
        raise problem
    return src


def _zones_in(src: rasterio.DatasetReader, zones: gpd.GeoDataFrame) -> npt.NDArray[Any]:
    if zones.crs is None:
        msg = "the zones have no CRS; set it with zones.set_crs('EPSG:4490') (or their real CRS)"
        raise CRSError(msg)
    return np.asarray(zones.geometry.to_crs(src.crs.to_wkt()).values, dtype=object)


class _Cells:
    """Ellipsoidal cell areas and true cell spacing (metres) of a north-up raster's windows."""

    def __init__(self, src: rasterio.DatasetReader) -> None:
        self.t = src.transform
        crs = CRS.from_wkt(src.crs.to_wkt())
        self.geographic = crs.is_geographic
        if not self.geographic:
            if crs.axis_info[0].unit_name != "metre":
                msg = f"raster CRS {crs.name!r} is not in metres; gdalwarp it to a GK zone"
                raise CRSError(msg)
            self.proj = Proj(crs)
            self.to_ll = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)

    def _rows_lat(self, win: Window) -> tuple[FloatArray, FloatArray]:
        top = self.t.f + self.t.e * (win.row_off + np.arange(win.height))
        return top, top + self.t.e

    def _areal_scale(self, win: Window) -> FloatArray:
        # The areal scale is smooth, so a 9x9 lattice with bilinear interpolation is exact to
        # ~1e-9 over a strip and costs nothing next to the read.
        r = np.unique(np.linspace(0, win.height - 1, min(win.height, 9)).round())
        c = np.unique(np.linspace(0, win.width - 1, min(win.width, 9)).round())
        x = self.t.c + self.t.a * (win.col_off + c + 0.5)
        y = self.t.f + self.t.e * (win.row_off + r + 0.5)
        lon, lat = self.to_ll.transform(*np.meshgrid(x, y))
        lattice = np.asarray(self.proj.get_factors(lon, lat).areal_scale, dtype=float)
        return _hat(win.height, r) @ lattice @ _hat(win.width, c).T

    def area(self, win: Window) -> FloatArray:
        """Ellipsoidal m² of each cell of ``win``, shape (height, width) or (height, 1)."""
        if self.geographic:
            top, bottom = self._rows_lat(win)
            lon0, lon1 = self.t.c, self.t.c + self.t.a
            rows = [
                abs(GEOD.polygon_area_perimeter([lon0, lon1, lon1, lon0], [t, t, b, b])[0])
                for t, b in zip(top.tolist(), bottom.tolist(), strict=True)
            ]
            return np.asarray(rows, dtype=float)[:, None]
        return abs(self.t.a * self.t.e) / self._areal_scale(win)

    def spacing(self, win: Window) -> tuple[FloatArray, FloatArray]:
        """Ground distance in metres between cell centres along x and y."""
        if self.geographic:
            top, bottom = self._rows_lat(win)
            mid = (top + bottom) / 2
            lon0 = np.full_like(mid, self.t.c)
            dx = GEOD.inv(lon0, mid, lon0 + self.t.a, mid)[2]
            dy = GEOD.inv(lon0, bottom, lon0, top)[2]
            return np.asarray(dx)[:, None], np.asarray(dy)[:, None]
        # GK is conformal: the linear scale is the square root of the areal scale.
        k = np.sqrt(self._areal_scale(win))
        return self.t.a / k, -self.t.e / k


def _hat(n: int, knots: FloatArray) -> FloatArray:
    """Matrix of linear interpolation from values at ``knots`` to the points 0..n-1."""
    return np.column_stack([np.interp(np.arange(n), knots, e) for e in np.eye(len(knots))])


def _strips(
    src: rasterio.DatasetReader, geom: Any
) -> Iterator[tuple[Window, npt.NDArray[np.bool_]]]:
    """Row strips of the raster under ``geom``, each with its inside-the-zone cell mask."""
    if geom is None or geom.is_empty:
        return
    t = src.transform
    minx, miny, maxx, maxy = geom.bounds
    c0, c1 = max(0, math.floor((minx - t.c) / t.a)), min(src.width, math.ceil((maxx - t.c) / t.a))
    r0, r1 = max(0, math.floor((maxy - t.f) / t.e)), min(src.height, math.ceil((miny - t.f) / t.e))
    if c1 <= c0 or r1 <= r0:
        return
    step = max(1, STRIP_CELLS // (c1 - c0))
    for r in range(r0, r1, step):
        win = Window(c0, r, c1 - c0, min(step, r1 - r))
        shape = (int(win.height), int(win.width))
        inside = geometry_mask([geom], shape, t @ Affine.translation(c0, r), invert=True)
        if inside.any():
            yield win, inside


def _valid(src: rasterio.DatasetReader, band: int, win: Window) -> tuple[Any, Any]:
    data = src.read(band, window=win, masked=True)
    valid = ~np.ma.getmaskarray(data)
    if data.dtype.kind == "f":
        valid &= np.isfinite(data.filled(0))
    return data.data, valid


def _class_sums(codes: npt.NDArray[Any], area: FloatArray) -> list[tuple[int, float]]:
    if codes.min() >= 0 and codes.max() < 1 << 20:  # class codes: a linear-time bincount
        sums = np.bincount(codes.astype(np.int64), weights=area)
        return [(int(c), float(sums[c])) for c in np.flatnonzero(np.bincount(codes))]
    values, inv = np.unique(codes, return_inverse=True)
    return list(zip(values.tolist(), np.bincount(inv, weights=area).tolist(), strict=True))


def _units(prefix: str, m2: float) -> dict[str, float]:
    return {
        f"{prefix}m2": m2,
        f"{prefix}ha": float(m2_to_ha(m2)),
        f"{prefix}mu": float(m2_to_mu(m2)),
    }


def zonal_stats(
    raster_path: str | os.PathLike[str],
    zones: gpd.GeoDataFrame,
    *,
    band: int = 1,
    categorical: bool = False,
) -> pd.DataFrame:
    """Per-zone statistics of a raster band, with ellipsoidal areas; index aligned with ``zones``.

    A cell belongs to a zone when its centre lies inside it; nodata (and NaN) cells are left out.
    Continuous: ``count``, ``min``, ``mean`` (of cell values), ``max`` and the valid area
    ``area_m2``/``area_ha``/``area_mu``. Categorical: the valid area, then ``<class>_m2``,
    ``<class>_ha`` and ``<class>_mu`` per class, named from the class table of
    :func:`rasterize_layer` (else the code). Zones are reprojected to the raster CRS.

    Examples
    --------
    >>> import tempfile, geopandas as gpd
    >>> from shapely import box
    >>> g = gpd.GeoDataFrame(geometry=[box(120.1, 30.2, 120.11, 30.21)], crs="EPSG:4490")
    >>> tif = rasterize_layer(g, tempfile.mkdtemp() + "/a.tif").path
    >>> round(float(zonal_stats(tif, g, categorical=True).loc[0, "present_ha"]))
    107
    """
    with _open(raster_path, band) as src:
        geoms = _zones_in(src, zones)
        if categorical and np.dtype(src.dtypes[band - 1]).kind not in "iu":
            msg = f"categorical=True needs an integer raster, got {src.dtypes[band - 1]}"
            raise InputError(msg)
        names = {int(k): v for k, v in json.loads(src.tags().get(CLASSES_TAG, "{}")).items()}
        cells = _Cells(src)
        rows: list[dict[str, float]] = []
        for geom in geoms:
            n, total, lo, hi, m2 = 0, 0.0, math.inf, -math.inf, 0.0
            per: dict[int, float] = {}
            for win, inside in _strips(src, geom):
                data, valid = _valid(src, band, win)
                valid &= inside
                if not valid.any():
                    continue
                area = np.broadcast_to(cells.area(win), valid.shape)[valid]
                vals = data[valid]
                m2 += float(area.sum())
                if categorical:
                    for code, a in _class_sums(vals, area):
                        per[code] = per.get(code, 0.0) + a
                else:
                    n, total = n + vals.size, total + float(vals.sum(dtype=np.float64))
                    lo, hi = min(lo, float(vals.min())), max(hi, float(vals.max()))
            if categorical:
                rows.append({**_units("area_", m2), **{f"_{k}": v for k, v in per.items()}})
            else:
                stats = (lo, total / n, hi) if n else (math.nan,) * 3
                rows.append({"count": n, **dict(zip(("min", "mean", "max"), stats, strict=True))})
                rows[-1].update(_units("area_", m2))
    out = pd.DataFrame(rows, index=zones.index)
    if not categorical:
        cols = ["count", "min", "mean", "max", "area_m2", "area_ha", "area_mu"]
        return out.reindex(columns=cols).astype({"count": "int64"})
    base = out.reindex(columns=["area_m2", "area_ha", "area_mu"])
    found = {int(c[1:]) for c in out.columns if c.startswith("_")}
    for code in sorted(found | set(names)):
        m2s = out[f"_{code}"].fillna(0.0) if f"_{code}" in out else pd.Series(0.0, index=out.index)
        name = names.get(code, str(code))
        base[f"{name}_m2"], base[f"{name}_ha"], base[f"{name}_mu"] = (
            m2s, m2_to_ha(m2s.to_numpy()), m2_to_mu(m2s.to_numpy())
        )  # fmt: skip
    return base


def slope_share(
    dem_path: str | os.PathLike[str],
    zones: gpd.GeoDataFrame,
    *,
    threshold_deg: float = 25.0,
    band: int = 1,
) -> pd.DataFrame:
    """Share of each zone's area steeper than ``threshold_deg`` (坡度>25° 不宜建设).

    Slope comes from ``numpy.gradient`` of the elevations (metres) over the true ground spacing
    of the cells, in metres. A cell next to nodata has no slope and is left out of both the
    steep and the assessed area. Returns ``share`` (NaN where nothing was assessed),
    ``steep_m2``/``steep_ha``/``steep_mu`` and ``assessed_m2``, index aligned with ``zones``.
    """
    if not 0 < threshold_deg < 90:
        msg = f"threshold_deg must be between 0 and 90 degrees, got {threshold_deg!r}"
        raise InputError(msg)
    with _open(dem_path, band) as src:
        geoms = _zones_in(src, zones)
        cells = _Cells(src)
        rows = []
        for geom in geoms:
            steep = assessed = 0.0
            for win, inside in _strips(src, geom):
                # Read one cell more on each side so that the strip's edge cells have neighbours.
                c0, r0 = max(0, win.col_off - 1), max(0, win.row_off - 1)
                c1 = min(src.width, win.col_off + win.width + 1)
                r1 = min(src.height, win.row_off + win.height + 1)
                z, ok = _valid(src, band, Window(c0, r0, c1 - c0, r1 - r0))
                z = np.where(ok, z.astype(np.float64), np.nan)
                gy, gx = np.gradient(z) if min(z.shape) > 1 else (z * np.nan, z * np.nan)
                core = np.s_[win.row_off - r0 : win.row_off - r0 + win.height,
                             win.col_off - c0 : win.col_off - c0 + win.width]  # fmt: skip
                dx, dy = cells.spacing(win)
                slope = np.degrees(np.arctan(np.hypot(gx[core] / dx, gy[core] / dy)))
                # Central differences skip the centre cell, so nodata cells are masked explicitly.
                valid = inside & ok[core] & np.isfinite(slope)
                area = np.broadcast_to(cells.area(win), valid.shape)
                assessed += float(area[valid].sum())
                steep += float(area[valid & (slope > threshold_deg)].sum())
            share = steep / assessed if assessed > 0 else math.nan
            rows.append({"share": share, **_units("steep_", steep), "assessed_m2": assessed})
    return pd.DataFrame(rows, index=zones.index)
