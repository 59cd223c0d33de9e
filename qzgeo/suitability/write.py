"""Outputs of a suitability run: Cloud-Optimized GeoTIFFs and the per-zone class-area table.

Each raster is streamed window by window into a tiled GeoTIFF beside the target, then copied by
GDAL's COG driver (DEFLATE, 512-cell tiles, overviews by nearest neighbour so that class codes
survive) into place atomically. The colour table travels in the file; the class names in the
``QZGEO_CLASSES`` tag (JSON, the tag :func:`qzgeo.raster.zonal_stats` reads).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import rasterio
import rasterio.shutil
from pyproj import CRS, Proj, Transformer
from rasterio.transform import Affine
from rasterio.windows import Window

from qzgeo._atomic import atomic_path
from qzgeo.area import ellipsoidal_area, m2_to_ha, m2_to_mu
from qzgeo.raster import CLASSES_TAG
from qzgeo.suitability.grid import BLOCK, Grid

GRADE_NAMES = {1: "1 低", 2: "2 较低", 3: "3 中", 4: "4 较高", 5: "5 高"}
GRADE_COLORS = {1: "#d7191c", 2: "#fdae61", 3: "#ffffbf", 4: "#a6d96a", 5: "#1a9641"}
TABLE_COLUMNS = ["图层", "要素编号", "名称", "类别", "面积(m²)", "面积(公顷)", "面积(亩)"]
TOTAL_LAYER = "（评价范围）"


def rgba(color: str) -> tuple[int, int, int, int]:
    """``#rrggbb`` as an opaque RGBA tuple.

    Examples
    --------
    >>> rgba("#1a9641")
    (26, 150, 65, 255)
    """
    return (int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16), 255)


class CogWriter:
    """Stream uint8 class codes into a COG with a colour table and class names."""

    def __init__(
        self,
        target: Path,
        grid: Grid,
        *,
        classes: Mapping[int, str],
        colors: Mapping[int, str],
        description: str,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        self.target = target
        self._dir = Path(tempfile.mkdtemp(prefix=".qzgeo-", dir=target.parent))
        self._tmp = self._dir / target.name
        profile = {
            "driver": "GTiff",
            "width": grid.width,
            "height": grid.height,
            "count": 1,
            "dtype": "uint8",
            "crs": grid.crs.to_wkt(),
            "transform": grid.transform,
            "nodata": 0,
            "tiled": True,
            "blockxsize": BLOCK,
            "blockysize": BLOCK,
            "compress": "deflate",
            "BIGTIFF": "IF_SAFER",
        }
        self.dst = rasterio.open(self._tmp, "w", **profile)
        # A palette must be set before the first pixel is written.
        cmap = {0: (0, 0, 0, 0), **{c: rgba(col) for c, col in colors.items()}}
        self.dst.write_colormap(1, cmap)
        self.classes, self.colors = dict(classes), dict(colors)
        self.description, self.tags = description, dict(tags or {})

    def write(self, arr: npt.NDArray[np.uint8], win: Window) -> None:
        self.dst.write(arr, 1, window=win)

    def finish(self) -> Path:
        """Close the stream and copy it as a COG over the target (atomically)."""
        names = {str(c): n for c, n in sorted(self.classes.items())}
        self.dst.update_tags(**{CLASSES_TAG: json.dumps(names, ensure_ascii=False)}, **self.tags)
        self.dst.set_band_description(1, self.description)
        self.dst.close()
        with atomic_path(self.target) as tmp:
            rasterio.shutil.copy(
                self._tmp,
                tmp,
                driver="COG",
                COMPRESS="DEFLATE",
                BLOCKSIZE=BLOCK,
                OVERVIEW_RESAMPLING="NEAREST",
                BIGTIFF="IF_SAFER",
            )
        self.cleanup()
        return self.target

    def cleanup(self) -> None:
        if not self.dst.closed:
            self.dst.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> CogWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.cleanup()


WEIGHT_CELL_M = 100.0  # the area-weights grid is at most this coarse


def area_weights(result: Path, target: Path) -> Path:
    """A coarse raster aligned with ``result``: the ellipsoidal m² of one result cell.

    One weight per block of cells at most 100 m wide (exactextract accepts a weights grid
    whose resolution is a multiple of the value grid's): the GK areal scale changes by at most
    2·x·100 m / R² (4e-7 at 90 km from the central meridian) across a block, and by less on
    average, so a 10⁸-cell grid needs only 10⁶ weights.
    """
    with rasterio.open(result) as src:
        t, crs = src.transform, CRS.from_wkt(src.crs.to_wkt())
        step = max(1, int(WEIGHT_CELL_M // abs(t.a)))
        w, h = -(-src.width // step), -(-src.height // step)
    coarse = t @ Affine.scale(step)
    cols, rows = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    x, y = coarse.c + coarse.a * cols, coarse.f + coarse.e * rows
    lon, lat = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True).transform(x, y)
    scale = np.asarray(Proj(crs).get_factors(lon, lat).areal_scale, dtype=np.float64)
    profile = {
        "driver": "GTiff",
        "width": w,
        "height": h,
        "count": 1,
        "dtype": "float64",
        "crs": src.crs,
        "transform": coarse,
    }
    with rasterio.open(target, "w", **profile) as dst:
        dst.write(abs(t.a * t.e) / scale, 1)
    return target


def zone_table(
    result: Path,
    zones: Mapping[str, gpd.GeoDataFrame],
    names: Mapping[str, str | None],
    classes: Sequence[str],
    totals: Mapping[str, float],
) -> pd.DataFrame:
    """Area per zone feature and result class (m², 公顷, 亩), then the study-area totals.

    ``exactextract`` gives each cell's exact coverage by the zone polygon; each covered part
    is weighted by the ellipsoidal area of the cell (:func:`area_weights`). ``classes`` are
    the names of codes 0 (not assessed) .. n; the not-assessed row is the rest of the zone's
    ellipsoidal vector area (nodata cells and any part outside the grid), so that ``合计`` is
    the zone's area. ``names`` gives each layer's name field.
    """
    from exactextract import exact_extract

    vector_m2 = {
        lid: ellipsoidal_area(g.geometry.to_crs("EPSG:4490").values) for lid, g in zones.items()
    }
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(dir=result.parent, prefix=".qzgeo-") as tmp:
        weights = area_weights(result, Path(tmp) / "weights.tif")
        with rasterio.open(result) as src:
            crs = src.crs.to_wkt()
        for lid, gdf in zones.items():
            planar = gpd.GeoDataFrame(geometry=gdf.geometry.to_crs(crs).values, crs=crs)
            ops = ["unique", "weighted_frac", "weighted_sum", "weighted_mean"]
            stats = exact_extract(str(result), planar, ops, weights=str(weights), output="pandas")
            field = names.get(lid)
            for fid, st in enumerate(stats.itertuples(index=False)):
                label = str(gdf[field].iloc[fid]) if field and field in gdf.columns else str(fid)
                # sum(code * cover * w) / mean(code weighted by cover * w) = sum(cover * w)
                assessed = st.weighted_sum / st.weighted_mean if st.weighted_mean > 0 else 0.0
                per = dict(
                    zip(
                        np.asarray(st.unique).tolist(),
                        np.asarray(st.weighted_frac).tolist(),
                        strict=True,
                    )
                )
                vector = float(vector_m2[lid][fid])
                rest = vector - assessed
                rest = rest if rest > 1e-6 * vector else 0.0  # below the weights' precision
                for code, cls in enumerate(classes):
                    m2 = assessed * per.get(code, 0.0) if code else rest
                    rows.append(
                        {"图层": lid, "要素编号": fid, "名称": label, "类别": cls, "m2": m2}
                    )
                rows.append(
                    {
                        "图层": lid,
                        "要素编号": fid,
                        "名称": label,
                        "类别": "合计",
                        "m2": assessed + rest,
                    }
                )
    for cls in [*classes, "合计"]:
        rows.append(
            {
                "图层": TOTAL_LAYER,
                "要素编号": -1,
                "名称": TOTAL_LAYER,
                "类别": cls,
                "m2": float(totals.get(cls, 0.0)),
            }
        )
    table = pd.DataFrame(rows, columns=["图层", "要素编号", "名称", "类别", "m2"])
    m2 = table.pop("m2").to_numpy(dtype=float)
    table["面积(m²)"] = np.round(m2, 2)
    table["面积(公顷)"] = np.round(m2_to_ha(m2), 6)
    table["面积(亩)"] = np.round(m2_to_mu(m2), 5)
    return table[TABLE_COLUMNS]
