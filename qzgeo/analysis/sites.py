"""Reading sites and the user's own constraint layers for the siting check."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from qzgeo._errors import InputError
from qzgeo.analysis.overlay_plan import POLYGONAL_TYPES, ConstraintClass
from qzgeo.geo.crs import STORAGE_CRS
from qzgeo.geo.repair import RepairReport, polygonal_part, repair_layer
from qzgeo.io.vector import read_layer

__all__ = ["merge_user_constraints", "read_sites", "read_user_constraints", "split_source"]

BOUNDARY_HINT = "城镇开发边界"
CLASS_COLUMNS = ("类别", "class", "CLASS", "DLMC")
MODES = ("auto", "exclusion", "boundary")
SOURCE_COL, FID_COL = "_site_source", "_site_fid"


def split_source(arg: str) -> tuple[str, str | None]:
    """Split ``PATH[:LAYER]`` into the path and the layer name.

    An existing path wins, so file names containing ``:`` still work; URIs are kept whole.

    Examples
    --------
    >>> split_source("plan.gpkg:sites")
    ('plan.gpkg', 'sites')
    >>> split_source("sites.geojson")
    ('sites.geojson', None)
    """
    if "://" in arg or Path(arg).exists() or ":" not in arg:
        return arg, None
    path, layer = arg.rsplit(":", 1)
    if not path or not layer:
        return arg, None
    return path, layer


def _read(arg: str, *, crs: str | CRS | None, datum: str | None) -> gpd.GeoDataFrame:
    path, layer = split_source(arg)
    if "://" not in path and not Path(path).exists():
        msg = f"{path} does not exist; check the file name"
        raise InputError(msg)
    return read_layer(path, layer=layer, crs=crs, datum=datum)


def read_sites(
    sources: Sequence[str],
    *,
    crs: str | CRS | None = None,
    datum: str | None = None,
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Read site polygons from one or more files (``PATH[:LAYER]``), in CGCS2000 lon/lat.

    Every polygonal feature is a site. Features without geometry or with a non-polygonal one
    are skipped and named in the returned warnings; a source without any polygon is an error.

    Parameters
    ----------
    sources
        GeoJSON, Shapefile, GeoPackage (``PATH:LAYER``), 界址点坐标 .txt or any file
        :func:`qzgeo.io.vector.read_layer` reads.
    crs
        CRS of sources that have none (never guessed).
    datum
        ``"gcj02"`` for AMap-style coordinates.

    Returns
    -------
    (GeoDataFrame, warnings)
        The attribute columns of the sources plus ``_site_source`` (the argument) and
        ``_site_fid`` (the feature id in its source), in EPSG:4490.
    """
    if not sources:
        msg = "no site given; pass at least one SITE file"
        raise InputError(msg)
    frames: list[gpd.GeoDataFrame] = []
    warnings: list[str] = []
    for arg in sources:
        gdf = _read(arg, crs=crs, datum=datum)
        warnings.extend(f"{arg}: {w}" for w in gdf.attrs.get("warnings", []))
        geoms = gdf.geometry.values
        missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
        types = shapely.get_type_id(geoms)
        polygonal = np.isin(types, POLYGONAL_TYPES) & ~missing
        for i in np.flatnonzero((types == 7) & ~missing).tolist():
            polygonal[i] = not polygonal_part(geoms[i]).is_empty  # collections with polygons
        for fid, geom, miss in zip(
            gdf.index[~polygonal], geoms[~polygonal], missing[~polygonal], strict=True
        ):
            kind = "no geometry" if miss else f"a {geom.geom_type}, not a polygon"
            warnings.append(f"{arg}: feature {fid} has {kind}; skipped")
        if not polygonal.any():
            types = sorted({g.geom_type for g in geoms[~missing]}) or ["no geometry"]
            msg = (
                f"{arg} has no polygon features (found: {', '.join(types)}); "
                "a site must be a polygon"
            )
            raise InputError(msg)
        part = gdf.loc[polygonal].to_crs(STORAGE_CRS)
        part[SOURCE_COL] = arg
        part[FID_COL] = part.index.to_numpy()
        frames.append(part)
    out = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(out, geometry=frames[0].geometry.name, crs=STORAGE_CRS), warnings


def read_user_constraints(
    sources: Sequence[str],
    *,
    class_field: str | None,
    mode: str | None,
    crs: str | CRS | None,
    datum: str | None,
    report: RepairReport,
) -> list[tuple[str, gpd.GeoDataFrame, pd.Series]]:
    """Read the user's constraint layers: (layer name, layer in EPSG:4490, class per feature)."""
    mode = mode or "auto"
    if mode not in MODES:
        msg = f"constraint mode must be one of {', '.join(MODES)}, got {mode!r}"
        raise InputError(msg)
    out = []
    for arg in sources:
        path, layer = split_source(arg)
        name = Path(path).stem + (f":{layer}" if layer else "")
        gdf = _read(arg, crs=crs, datum=datum)
        report.warnings.extend(f"{arg}: {w}" for w in gdf.attrs.get("warnings", []))
        gdf = repair_layer(gdf, layer_id=name, report=report, family="polygon")
        if gdf.empty:
            msg = f"{arg} has no polygon features; a constraint layer must hold polygons"
            raise InputError(msg)
        if class_field is not None and class_field not in gdf.columns:
            cols = ", ".join(c for c in gdf.columns if c != gdf.geometry.name) or "(none)"
            msg = f"{arg} has no column {class_field!r} for --class-field; its columns are: {cols}"
            raise InputError(msg)
        col = class_field or next((c for c in CLASS_COLUMNS if c in gdf.columns), None)
        if col is None:
            classes = pd.Series(Path(path).stem, index=gdf.index, dtype="string")
        else:
            classes = gdf[col].astype("string").fillna("").str.strip()
            classes = classes.mask(classes == "", Path(path).stem)
        out.append((name, gdf.to_crs(STORAGE_CRS), classes))
    return out


def merge_user_constraints(
    layers: list[tuple[str, gpd.GeoDataFrame, pd.Series]], *, mode: str | None, planar: CRS
) -> list[ConstraintClass]:
    out = []
    for name, gdf, classes in layers:
        gp = gdf.to_crs(planar)
        for cls in sorted(set(classes)):
            if mode in (None, "auto"):
                cmode = "boundary" if BOUNDARY_HINT in cls else "exclusion"
            else:
                cmode = mode
            geoms = gp.geometry.values[(classes == cls).to_numpy()]
            merged = shapely.union_all([polygonal_part(g) for g in geoms])
            shapely.prepare(merged)
            out.append(ConstraintClass(name, str(cls), cmode, "internal", merged))
    return out
