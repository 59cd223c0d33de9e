"""What a map embeds: the published fields only, simplified and rounded geometry as GeoJSON."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import CRS

from qzgeo._errors import PublishError
from qzgeo.geo.area import HA_DECIMALS, M2_DECIMALS, MU_DECIMALS
from qzgeo.geo.crs import planar_crs_for_bounds
from qzgeo.geo.gcj02 import geoms_wgs84_to_gcj02
from qzgeo.geo.repair import geometry_family
from qzgeo.pack.class_values import class_texts

COORD_DECIMALS = 6  # 1e-6 degree is about 0.1 m
SIMPLIFY_VERTICES = 5_000
BIG_LAYER_FEATURES = 20_000
DEFAULT_SIMPLIFY_M = 1.0

_LONLAT_CRS = (CRS.from_epsg(4490), CRS.from_epsg(4326))
_JS_SAFE_INT = 2**53  # a JavaScript number holds every integer up to this exactly


@dataclass
class Prepared:
    """A layer ready to embed (EPSG:4490 lon/lat, or GCJ-02 for AMap tiles)."""

    gdf: gpd.GeoDataFrame
    kind: str  # "polygon", "line" or "point": drives the legend swatch
    vertices: int
    simplified_m: float | None = None
    coverage: bool = False
    notes: list[str] = field(default_factory=list)


def _to_lonlat(gdf: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        msg = f"{what} has no CRS; layers passed to publish_maps must be in EPSG:4490"
        raise PublishError(msg)
    crs = CRS.from_user_input(gdf.crs)
    if any(crs.equals(c, ignore_axis_order=True) for c in _LONLAT_CRS):
        return gdf
    return gdf.to_crs("EPSG:4490")


def _simplify(
    geoms: gpd.GeoSeries, tolerance_m: float, planar: CRS | None
) -> tuple[gpd.GeoSeries, bool]:
    crs = planar or planar_crs_for_bounds(tuple(geoms.total_bounds))
    projected = geoms.to_crs(crs)
    arr = np.asarray(projected.values, dtype=object)
    polygonal = bool(projected.geom_type.isin(["Polygon", "MultiPolygon"]).all())
    coverage = polygonal and len(arr) > 1 and bool(shapely.coverage_is_valid(arr))
    if coverage:
        # Shared edges are simplified once, so neighbours keep touching without gaps/overlaps.
        out = shapely.coverage_simplify(arr, tolerance_m)
    else:
        out = shapely.simplify(arr, tolerance_m, preserve_topology=True)
    simplified = gpd.GeoSeries(out, index=geoms.index, crs=crs).to_crs(geoms.crs)
    return simplified, coverage


def prepare_layer(
    gdf: gpd.GeoDataFrame,
    *,
    fields: Sequence[str],
    what: str,
    gcj02: bool = False,
    simplify_m: float = DEFAULT_SIMPLIFY_M,
    planar_crs: str | None = None,
    name_field: str | None = None,
) -> Prepared:
    """Keep ``fields`` only, drop empty geometry (reported), simplify big layers, shift, round.

    Parameters
    ----------
    gdf
        The layer, in EPSG:4490 (another CRS is reprojected).
    fields
        Columns to keep; every other attribute is dropped before anything is serialised.
    what
        Name used in messages, e.g. ``"layer 'port_zones'"``.
    gcj02
        Shift WGS84/CGCS2000 coordinates to GCJ-02 (for AMap tiles).
    simplify_m
        Topology-preserving simplification tolerance in metres, applied when the layer has
        more than 5,000 vertices.
    name_field
        A column among ``fields`` naming the features: the note on features without geometry
        names them (e.g. a zone with no available land left).
    """
    gdf = _to_lonlat(gdf, what)
    missing = [f for f in fields if f not in gdf.columns]
    if missing:
        msg = (
            f"{what} has no column(s) {', '.join(map(repr, missing))} named in its "
            f"publish/style fields; columns are {', '.join(map(repr, gdf.columns))}"
        )
        raise PublishError(msg)
    geom_name = gdf.geometry.name
    out = gpd.GeoDataFrame(
        {f: gdf[f].to_numpy() for f in fields}, geometry=gdf.geometry.to_numpy(), crs=gdf.crs
    )
    if geom_name in fields:  # pragma: no cover - a geometry column is never a publish field
        msg = f"{what}: the geometry column cannot be a publish field"
        raise PublishError(msg)
    notes: list[str] = []
    empty = out.geometry.isna() | out.geometry.is_empty
    if empty.any():
        notes.append(
            f"{what}: {int(empty.sum())} feature(s) without geometry are not shown"
            + _named(out, empty, name_field)
        )
        out = out.loc[~empty].reset_index(drop=True)
    vertices = int(shapely.get_num_coordinates(np.asarray(out.geometry.values)).sum())
    simplified_m: float | None = None
    coverage = False
    if vertices > SIMPLIFY_VERTICES and len(out):
        planar = CRS.from_user_input(planar_crs) if planar_crs else None
        geoms, coverage = _simplify(out.geometry, simplify_m, planar)
        out = out.set_geometry(geoms.values)
        simplified_m = simplify_m
    arr = np.asarray(out.geometry.values, dtype=object)
    if gcj02:
        arr = geoms_wgs84_to_gcj02(arr)
    arr = shapely.transform(arr, lambda c: np.round(c, COORD_DECIMALS))
    out = out.set_geometry(gpd.GeoSeries(arr, index=out.index, crs=out.crs))
    return Prepared(
        gdf=out,
        kind=geometry_family(out) or "point",
        vertices=vertices,
        simplified_m=simplified_m,
        coverage=coverage,
        notes=notes,
    )


def _named(gdf: gpd.GeoDataFrame, rows: pd.Series, name_field: str | None) -> str:
    """`` (a、b、c and N more)``: the names of ``rows`` (none without a name column)."""
    if name_field is None or name_field not in gdf.columns:
        return ""
    names = [str(v) for v in gdf.loc[rows, name_field] if v is not None and v == v]
    if not names:
        return ""
    more = f" and {len(names) - 5} more" if len(names) > 5 else ""
    return f" ({'、'.join(names[:5])}{more})"


def json_value(value: Any) -> Any:
    """A property value as plain JSON (NaN/NaT become null, floats keep 6 decimals).

    An integer a browser cannot hold exactly (beyond ±2⁵³, e.g. a 19-digit code) is written
    as its digits in a string: as a number it would be shown rounded.
    """
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value) if abs(int(value)) <= _JS_SAFE_INT else str(int(value))
    if isinstance(value, float | np.floating):
        f = float(value)
        return round(f, 6) if math.isfinite(f) else None
    if isinstance(value, str):
        return value
    if isinstance(value, dt.datetime | dt.date):  # pandas' NaT is one too
        return None if value != value else value.isoformat()
    try:
        if value != value:  # NaT, pd.NA
            return None
    except (TypeError, ValueError):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def to_feature_collection(prepared: Prepared, class_field: str | None = None) -> dict[str, Any]:
    """GeoJSON FeatureCollection of a prepared layer (coordinates already rounded).

    With ``class_field``, each feature also carries ``qz_class``: its class as the pack's style
    keys spell it (:func:`~qzgeo.pack.class_values.class_text`), which the page looks its
    symbol up by. The page never makes it from the property: JSON has turned a REAL 1.0 into
    the number 1, and a value is written with 6 decimals at most.
    """
    gdf = prepared.gdf
    fields = [c for c in gdf.columns if c != gdf.geometry.name]
    columns = {f: _shown(gdf[f], PAGE_AREA_DECIMALS.get(f)) for f in fields}
    classes = (
        class_texts(gdf[class_field]).tolist()
        if class_field is not None and class_field in gdf.columns
        else None
    )
    features = []
    for i, geom in enumerate(gdf.geometry.values):
        props = {f: json_value(columns[f][i]) for f in fields}
        feature: dict[str, Any] = {"type": "Feature", "properties": props}
        feature["geometry"] = shapely.geometry.mapping(geom)
        if classes is not None:
            feature["qz_class"] = classes[i]
        features.append(feature)
    return {"type": "FeatureCollection", "features": features}


#: Decimals of the area fields on a page, as in every table (:data:`HA_DECIMALS`...);
#: other numbers keep :func:`json_value`'s 6.
PAGE_AREA_DECIMALS = {"area_m2": M2_DECIMALS, "area_ha": HA_DECIMALS, "area_mu": MU_DECIMALS}


def _shown(col: pd.Series, decimals: int | None) -> list[Any]:
    """A column's values for the page: an area column as :func:`fixed_text` gives it."""
    if decimals is None or not pd.api.types.is_float_dtype(col):
        return col.tolist()
    return fixed_text(col.to_numpy(dtype=float), decimals)


def fixed_text(values: npt.ArrayLike, decimals: int) -> list[str | None]:
    """Areas as the tables print them: fixed notation to ``decimals`` (a JSON number would
    drop the trailing zeros, 139.07779 公顷 beside the table's 139.077790), -0 as 0, NaN None.

    Examples
    --------
    >>> fixed_text([139.07779, -0.0000001, float("nan")], 6)
    ['139.077790', '0.000000', None]
    """
    out: list[str | None] = []
    for v in np.asarray(values, dtype=float).round(decimals):
        out.append(f"{v + 0.0:.{decimals}f}" if math.isfinite(v) else None)
    return out


def simplified_note(prepared: Prepared) -> str:
    """Provenance suffix telling how a layer was simplified for the web ("" if it was not)."""
    if prepared.simplified_m is None:
        return ""
    how = "覆盖简化" if prepared.coverage else "保持拓扑简化"
    return f"；网页显示已{how}，容差 {prepared.simplified_m:g} m"
