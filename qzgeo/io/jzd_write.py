"""Writing 界址点坐标 text files (see :mod:`qzgeo.io.jzd_read` for the format).

Coordinates go out in a CGCS2000 3-degree Gauss-Krüger zone, to the millimetre, with the
ellipsoidal area in 公顷 as the declared area. Columns the format has no place for are named
in a warning, never dropped silently.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from qzgeo._errors import CRSError, InputError
from qzgeo.geo.area import M2_PER_HA, ellipsoidal_area
from qzgeo.geo.crs import STORAGE_CRS, gk_epsg, gk_zone, gk_zone_of_epsg
from qzgeo.geo.edges import drawn_edges
from qzgeo.io.atomic import write_bytes
from qzgeo.io.jzd_read import DECLARED_AREA, DECLARED_POINTS, LINE, PARCEL_FIELDS
from qzgeo.notices import Notices

log = logging.getLogger(__name__)


def _text_field(value: object, column: str, row: object) -> str:
    """A header field's text: empty for an empty cell (``None``, NaN, and pandas' ``<NA>`` of
    an integer or text column with empty cells, which was written as the text ``<NA>``), a
    whole float as an integer (地类编码 ``203.0`` of a Real field is the code ``203``)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float | np.floating) and math.isnan(value):
        return ""
    if isinstance(value, float | np.floating) and math.isfinite(value) and value == int(value):
        return str(int(value))
    text = str(value)
    if any(ch in text for ch in ",，\r\n@"):
        msg = (
            f"column {column!r} of feature {row!r} contains a comma, '@' or a line break "
            f"({text[:40]!r}), which the 界址点 format cannot carry; clean the value first"
        )
        raise InputError(msg)
    return text


def _fits(values: pd.Series) -> bool:
    """True if every value can be written as a 界址点 text field."""
    return not values.astype("string").str.contains(r"[,，\r\n@]", regex=True).fillna(False).any()


def write_jzd(
    gdf: gpd.GeoDataFrame,
    path: str | os.PathLike[str],
    *,
    zone: int | None = None,
    prefix: bool = True,
    encoding: str = "gbk",
    notices: Notices | None = None,
    replace: bool = True,
) -> Path:
    """Write polygons as a 界址点坐标 text file (atomically; ``replace``: see
    :func:`qzgeo.io.atomic.atomic_path`).

    Columns the format cannot hold are named in ``notices`` when given (else logged).

    Coordinates go out in CGCS2000 3-degree GK ``zone`` (default: the zone of ``gdf``'s CRS
    when it is a CGCS2000 3-degree GK one reaching the data, else the zone of the data's
    centre), X = northing, Y = easting with the zone prefix unless ``prefix=False``, to the
    millimetre. The declared area is the ellipsoidal area in 公顷 of the polygon written (its
    edges straight in that zone). Columns named like the
    header fields (地块编号, 地块名称, 图幅号, 地块用途, 地类编码) fill them (a 名称 column fills
    地块名称 when there is none); 地块编号 defaults to the row number. Holes get 圈号 2, 3...;
    the parts of a MultiPolygon follow with the next 圈号 (the reader tells parts from holes
    by containment).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from shapely import box
    >>> g = gpd.GeoDataFrame({"地块编号": ["A"]}, geometry=[box(120.1, 30.2, 120.11, 30.21)],
    ...                      crs="EPSG:4490")
    >>> from qzgeo.io.jzd_read import read_jzd
    >>> p = write_jzd(g, pathlib.Path(tempfile.mkdtemp()) / "a.txt")
    >>> read_jzd(p).crs.to_epsg()
    4528
    """
    if gdf.crs is None:
        msg = "the layer has no CRS; set one before writing a 界址点 file"
        raise CRSError(msg)
    if len(gdf) == 0:
        msg = "no features to write to a 界址点 file"
        raise InputError(msg)
    refuse_missing_geometry(gdf, Path(path).name)
    _refuse_not_polygons(gdf, Path(path).name)
    if "地块名称" not in gdf.columns and "名称" in gdf.columns and _fits(gdf["名称"]):
        gdf = gdf.rename(columns={"名称": "地块名称"})  # the format's name field
    _warn_unwritten_columns(gdf, Path(path).name, notices)
    lonlat = gdf.geometry.to_crs(STORAGE_CRS)
    minx, _, maxx, _ = lonlat.total_bounds
    if zone is None:
        zone = _source_zone(gdf.crs, float(minx), float(maxx))
    _check_zone_reach(zone, float(minx), float(maxx), Path(path).name)
    projected = gdf.geometry.to_crs(CRS.from_epsg(gk_epsg(zone, prefix=prefix)))
    # the polygon the file holds: its edges straight in the file's GK plane, as it is read
    drawn = drawn_edges(gpd.GeoDataFrame(geometry=projected, crs=projected.crs))
    areas_ha = ellipsoidal_area(drawn.geometry.to_crs(STORAGE_CRS).values) / M2_PER_HA
    lines = _metadata_lines(zone)
    for i, geom in enumerate(projected):
        lines.extend(_parcel_lines(gdf, i, geom, float(areas_ha[i])))
    text = "\r\n".join(lines) + "\r\n"
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError as exc:
        bad = text[exc.start : exc.end]
        msg = (
            f"cannot write {Path(path).name} in {encoding}: {bad!r} has no code in it; write "
            "it in GB18030 or UTF-8 (convert --out-encoding GB18030, or encoding='GB18030')"
        )
        raise InputError(msg) from exc
    return write_bytes(path, data, replace=replace)


def refuse_missing_geometry(gdf: gpd.GeoDataFrame, name: str) -> None:
    """Refuse features without a geometry, by the ids the reader gave them (a row whose shape
    was deleted in QGIS or ArcGIS): a 界址点 parcel is its points, and with no geometry at all
    the zone of the data's centre came from NaN bounds (a ValueError)."""
    geoms = gdf.geometry.to_numpy()
    bad = gdf.index[shapely.is_missing(geoms) | shapely.is_empty(geoms)]
    if len(bad):
        ids = ", ".join(map(str, bad[:10])) + (", ..." if len(bad) > 10 else "")
        msg = (
            f"cannot write {name}: {len(bad)} of {len(gdf)} feature(s) have no geometry "
            f"(feature{'s' if len(bad) > 1 else ''} {ids}), and a 界址点 parcel is its points; "
            "delete them in the input, or write a GeoPackage (.gpkg), which keeps them"
        )
        raise InputError(msg)


def _refuse_not_polygons(gdf: gpd.GeoDataFrame, name: str) -> None:
    """Refuse lines and points (a GeoJSON or DXF of mixed shapes), named by the reader's ids:
    it said only "feature 1 is LineString", no file and no fix."""
    kinds = gdf.geometry.geom_type
    bad = kinds[~kinds.isin(["Polygon", "MultiPolygon"])]
    if not len(bad):
        return
    shown = ", ".join(f"feature {i}: {k}" for i, k in bad.iloc[:10].items())
    msg = (
        f"cannot write {name}: {len(bad)} of {len(gdf)} feature(s) are not polygons ({shown}"
        f"{', ...' if len(bad) > 10 else ''}), and a 界址点 file holds polygons only (parcel "
        "boundaries); remove them from the input, or write a GeoPackage (.gpkg), which keeps "
        "them"
    )
    raise InputError(msg)


def _source_zone(crs: CRS, west: float, east: float) -> int:
    """The zone of a CGCS2000 3° GK ``crs`` (the data's survey coordinates stay as they are),
    else the zone of the data's centre.

    A city across a zone boundary (121.5°E) keeps its data in one zone: a layer of zone 40
    whose centre lies at 121.6°E is written in zone 40, not moved to zone 41.
    """
    epsg = crs.to_epsg()
    own = gk_zone_of_epsg(epsg) if epsg is not None else None
    if (
        own is not None
        and max(abs(west - 3.0 * own[0]), abs(east - 3.0 * own[0])) <= ZONE_REACH_DEG
    ):
        return own[0]
    return gk_zone((west + east) / 2)


#: Data farther than this from the zone's central meridian are refused: GK coordinates there
#: are distorted (over 7e-4 in scale) and no reader takes the eastings for that zone.
ZONE_REACH_DEG = 3.0


def _check_zone_reach(zone: int, west: float, east: float, name: str) -> None:
    """Refuse a zone whose central meridian is more than 3° from any of the data."""
    cm = 3.0 * zone
    if max(abs(west - cm), abs(east - cm)) <= ZONE_REACH_DEG:
        return
    right = gk_zone((west + east) / 2)
    msg = (
        f"{name}: the data lie at lon {west:.3f}..{east:.3f}, more than {ZONE_REACH_DEG:g}° from "
        f"the central meridian of GK zone {zone} ({cm:g}°E); the 界址点 coordinates would be "
        f"wrong. Use the data's zone: --zone {right} (zone = round(longitude / 3)), or omit "
        "--zone"
    )
    raise InputError(msg)


def _warn_unwritten_columns(gdf: gpd.GeoDataFrame, name: str, notices: Notices | None) -> None:
    recomputed = (DECLARED_AREA, DECLARED_POINTS, LINE)
    extra = [
        c
        for c in gdf.columns
        if c != gdf.geometry.name and c not in PARCEL_FIELDS and c not in recomputed
    ]
    if not extra:
        return
    msg = (
        f"{name}: column(s) {', '.join(map(str, extra))} are not written: a 界址点 file holds "
        f"only {', '.join(f for f in PARCEL_FIELDS if f != '图形属性')} (rename a column to one "
        "of these to keep it)"
    )
    if notices is not None:
        notices.add(msg, source=name)
    else:
        log.warning("%s", msg)


def _metadata_lines(zone: int) -> list[str]:
    return [
        "[属性描述]",
        "格式版本号=1.01版本",
        "数据产生单位=qzgeo",
        "坐标系=2000国家大地坐标系",
        "几度分带=3",
        "投影类型=高斯克吕格",
        "计量单位=米",
        f"带号={zone}",
        "精度=0.001",
        "转换参数=,,,,,,",
        "[地块坐标]",
    ]


def _parcel_lines(
    gdf: gpd.GeoDataFrame, i: int, geom: BaseGeometry | None, area_ha: float
) -> list[str]:
    """The header line and vertex rows of feature ``i`` (``geom`` in the GK zone)."""
    if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        kind = "empty" if geom is None or geom.is_empty else geom.geom_type
        msg = f"feature {gdf.index[i]!r} is {kind}; a 界址点 file holds polygons only"
        raise InputError(msg)
    rec = {c: gdf[c].iat[i] for c in PARCEL_FIELDS if c in gdf.columns}
    fields = {f: _text_field(rec.get(f), f, gdf.index[i]) for f in PARCEL_FIELDS if f != "图形属性"}
    fields["地块编号"] = fields["地块编号"] or str(i + 1)
    body = _vertex_rows(geom)
    header = [
        str(len(body)),
        f"{area_ha:.4f}",
        fields["地块编号"],
        fields["地块名称"],
        "面",
        fields["图幅号"],
        fields["地块用途"],
        fields["地类编码"],
        "@",
    ]
    return [",".join(header), *body]


def _vertex_rows(geom: BaseGeometry) -> list[str]:
    """``J<n>,<圈号>,<northing>,<easting>`` rows; each ring ends on its first point's number."""
    rings: list[npt.NDArray[np.float64]] = []
    for poly in shapely.get_parts(geom):
        rings.append(shapely.get_coordinates(poly.exterior))
        rings.extend(shapely.get_coordinates(r) for r in poly.interiors)
    body: list[str] = []
    n = 0
    for ring_no, coords in enumerate(rings, start=1):
        first = n + 1
        for k, (e, north) in enumerate(coords):
            closing = k == len(coords) - 1
            label = first if closing else n + 1
            if not closing:
                n += 1
            body.append(f"J{label},{ring_no},{north:.3f},{e:.3f}")
    return body
