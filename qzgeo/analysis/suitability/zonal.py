"""Exact areas of a suitability result per zone feature and class (m², 公顷, 亩).

``exactextract`` gives each cell's exact coverage by a zone polygon; each covered part is
weighted by the ellipsoidal area of the cell, so that the areas are true on the ellipsoid
(CGCS2000/GRS80), not planar Gauss-Krüger areas.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from pyproj import CRS, Proj, Transformer
from rasterio.transform import Affine

from qzgeo.geo.area import ellipsoidal_area, m2_to_ha, m2_to_mu
from qzgeo.geo.repair import valid_polygonal
from qzgeo.io.atomic import TEMP_PREFIX

__all__ = ["TABLE_COLUMNS", "TOTAL_LAYER", "area_weights", "zone_table"]

TABLE_COLUMNS = ["图层", "要素编号", "名称", "类别", "面积(m²)", "面积(公顷)", "面积(亩)"]
TOTAL_LAYER = "（评价范围）"


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
    study: gpd.GeoDataFrame,
) -> pd.DataFrame:
    """Area per zone feature and result class (m², 公顷, 亩), then the study area's rows.

    ``exactextract`` gives each cell's exact coverage by the zone polygon; each covered part
    is weighted by the ellipsoidal area of the cell (:func:`area_weights`). ``classes`` are
    the names of codes 0 (not assessed) .. n; the not-assessed row is the rest of the zone's
    ellipsoidal vector area (nodata cells and any part outside the grid), so that ``合计`` is
    the zone's area. ``names`` gives each layer's name field. ``study`` (one feature, the
    union of the study area) is measured the same way, so its ``合计`` is its area too.
    """
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(dir=result.parent, prefix=TEMP_PREFIX) as tmp:
        weights = area_weights(result, Path(tmp) / "weights.tif")
        layers = [(lid, gdf, names.get(lid)) for lid, gdf in zones.items()]
        for lid, gdf, field in [*layers, (TOTAL_LAYER, study, None)]:
            rows += _layer_rows(result, weights, lid, gdf, field, classes)
    table = pd.DataFrame(rows, columns=["图层", "要素编号", "名称", "类别", "m2"])
    m2 = table.pop("m2").to_numpy(dtype=float)
    table["面积(m²)"] = np.round(m2, 2)
    table["面积(公顷)"] = np.round(m2_to_ha(m2), 6)
    table["面积(亩)"] = np.round(m2_to_mu(m2), 5)
    return table[TABLE_COLUMNS]


def _layer_rows(
    result: Path,
    weights: Path,
    lid: str,
    gdf: gpd.GeoDataFrame,
    field: str | None,
    classes: Sequence[str],
) -> list[dict[str, object]]:
    """One row per feature of ``gdf`` and class, then its 合计 (the study area: id -1)."""
    from exactextract import exact_extract

    vector_m2 = ellipsoidal_area(gdf.geometry.to_crs("EPSG:4490").values)
    with rasterio.open(result) as src:
        crs = src.crs.to_wkt()
    geoms = np.asarray(gdf.geometry.to_crs(crs).values, dtype=object)
    # A zone valid in lon/lat can cross itself in the grid's CRS (a spike whose returning
    # vertex lies a fraction of a millimetre beside its edge): exactextract then counts whole
    # cells the ring does not cover. Repaired as the zone overlay repairs it.
    bad = ~shapely.is_valid(geoms) & ~shapely.is_missing(geoms)
    geoms[bad] = [valid_polygonal(g) for g in geoms[bad]]
    planar = gpd.GeoDataFrame(geometry=geoms, crs=crs)
    ops = ["unique", "weighted_frac", "weighted_sum", "weighted_mean"]
    stats = exact_extract(str(result), planar, ops, weights=str(weights), output="pandas")
    rows: list[dict[str, object]] = []
    # 要素编号 is the feature id every other output gives the zone (zone_summary.csv, the
    # patch ids: a GeoPackage's fid), not its position; a layer keyed by text is numbered
    # by position, as qzgeo.pack.load numbers zone layers.
    ids = gdf.index.tolist() if pd.api.types.is_integer_dtype(gdf.index) else range(len(gdf))
    for i, st in enumerate(stats.itertuples(index=False)):
        fid = int(ids[i])
        if lid == TOTAL_LAYER:
            key = {"图层": lid, "要素编号": -1, "名称": TOTAL_LAYER}
        else:
            label = str(gdf[field].iloc[i]) if field and field in gdf.columns else str(fid)
            key = {"图层": lid, "要素编号": fid, "名称": label}
        # sum(code * cover * w) / mean(code weighted by cover * w) = sum(cover * w)
        assessed = st.weighted_sum / st.weighted_mean if st.weighted_mean > 0 else 0.0
        per = dict(
            zip(np.asarray(st.unique).tolist(), np.asarray(st.weighted_frac).tolist(), strict=True)
        )
        vector = float(vector_m2[i])
        rest = vector - assessed
        rest = rest if rest > 1e-6 * vector else 0.0  # below the weights' precision
        for code, cls in enumerate(classes):
            m2 = assessed * per.get(code, 0.0) if code else rest
            rows.append({**key, "类别": cls, "m2": m2})
        rows.append({**key, "类别": "合计", "m2": assessed + rest})
    return rows
