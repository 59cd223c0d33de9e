"""The CRS of a layer just read: the file's own, else the one the user gave; never a guess.

``--crs`` (or a catalog ``crs``) sets the CRS of a file without one; a CRS the file declares
wins, and the user is told. ESRI names of CGCS2000 Gauss-Kruger zones resolve to EPSG codes.
"""

from __future__ import annotations

import math
import mmap
import re
from pathlib import Path

import geopandas as gpd
import shapely
from pyproj import CRS

from qzgeo._errors import CRSError
from qzgeo.geo.crs import (
    CRS_FIX,
    STORAGE_CRS,
    check_coordinates,
    resolve_crs,
    sample_coordinates,
)
from qzgeo.geo.gcj02 import geoms_gcj02_to_wgs84
from qzgeo.io.postgis_uri import redact_uri
from qzgeo.io.shapefile import sidecar
from qzgeo.notices import Notices


def require_crs(gdf: gpd.GeoDataFrame, crs: str | CRS | None, path: Path) -> gpd.GeoDataFrame:
    """``gdf`` with its own CRS, else ``crs``; never a guess.

    A CRS that says nothing of where the data lie counts as none: GeoPackage's "Undefined
    geographic/Cartesian SRS" (what QGIS writes for a layer of CAD data without a CRS) and
    local (engineering) systems, which no transformation reaches (pyproj failed on them).
    """
    gdf = undeclared_geojson_crs(gdf, path)
    stand_in = gdf.crs.name if gdf.crs is not None and _says_nothing(gdf.crs) else None
    if stand_in is not None:
        gdf = gdf.set_crs(None, allow_override=True)
    if gdf.crs is not None:
        return gdf
    if crs is None:
        why = (
            ' (no "crs" member, and its coordinates are not the lon/lat GeoJSON then means)'
            if path.suffix.lower() in _GEOJSON_SUFFIXES
            else ""
        )
        if stand_in is not None:
            why = f" (its CRS {stand_in!r} is undefined or local: it does not place the data)"
        elif path.suffix.lower() == ".shp" and sidecar(path, ".prj") is not None:
            why = " (its .prj is not a CRS GDAL can read: replace it, or pass --crs)"
        msg = (
            f'{path} has no CRS{why}; declare it with `crs = "EPSG:..."` in the catalog or pass '
            f"--crs ({_crs_hint(gdf)}). qzgeo never guesses a CRS."
        )
        raise CRSError(msg)
    return gdf.set_crs(crs)


#: GeoPackage's stand-ins for a layer without a CRS (``srs_id`` 0 and -1).
_GPKG_UNDEFINED = ("Undefined geographic SRS", "Undefined Cartesian SRS")


def _says_nothing(crs: CRS) -> bool:
    """Whether ``crs`` is a stand-in for none or a local system (no way to lon/lat)."""
    return crs.name in _GPKG_UNDEFINED or bool(crs.is_engineering)


#: GeoJSON and GeoJSON text sequences: lon/lat unless a (2008-style) "crs" member says not.
_GEOJSON_SUFFIXES = (".geojson", ".json", ".geojsonl", ".geojsons", ".ndjson")


def undeclared_geojson_crs(gdf: gpd.GeoDataFrame, path: Path) -> gpd.GeoDataFrame:
    """``gdf`` without a CRS if it is GeoJSON without a ``"crs"`` member and not lon/lat.

    GDAL gives every such file WGS84 lon/lat (RFC 7946 makes GeoJSON lon/lat), also one of
    Gauss-Kruger metres (written by a script, or by a tool that drops the member): it was then
    refused for a CRS it never declared, and ``--crs``, which sets the CRS of a file without
    one, was ignored for it. Coordinates beyond ±180 are not degrees: the file has no CRS.
    """
    if path.suffix.lower() not in _GEOJSON_SUFFIXES or gdf.crs is None or gdf.empty:
        return gdf
    x0, y0, x1, y1 = (float(v) for v in gdf.total_bounds)
    if not all(map(math.isfinite, (x0, y0, x1, y1))):
        return gdf
    if max(abs(x0), abs(x1), abs(y0), abs(y1)) <= 180:
        return gdf  # degrees, perhaps lat/lon swapped: the coordinate checks say so
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        if mm.find(b'"crs"') >= 0:
            return gdf  # it declares one: the coordinate checks say what is wrong with it
    return gdf.set_crs(None, allow_override=True)


def settle_crs(
    gdf: gpd.GeoDataFrame,
    crs: str | CRS | None,
    src: str,
    notes: Notices,
    *,
    given_by: str,
    swap_xy: bool | None = None,
) -> gpd.GeoDataFrame:
    """``gdf`` with its CRS resolved (ESRI names to EPSG); a notice if ``crs`` disagrees.

    ``crs`` (``--crs``) only sets the CRS of a file without one: one the file declares wins,
    and the user is told rather than left to believe the option applied. ``swap_xy``
    (``--swap-xy``): the X of the data holds northings (Chinese survey order, in CAD and
    shapefile exports too), so x and y are exchanged, with a note; a 界址点 .txt has done so
    in its reader.
    """
    if swap_xy and not src.lower().endswith(".txt"):
        swapped = shapely.transform(gdf.geometry.values, lambda xy: xy[:, ::-1])
        gdf = gdf.set_geometry(gpd.GeoSeries(swapped, index=gdf.index, crs=gdf.crs).values)
        notes.add(f"{redact_uri(src)}: X and Y exchanged (--swap-xy)", source=src)
    resolved = resolve_crs(gdf.crs)
    gdf = gdf if resolved == gdf.crs else gdf.set_crs(resolved, allow_override=True)
    if crs is not None and resolve_crs(CRS.from_user_input(crs)) != gdf.crs:
        code = gdf.crs.to_epsg()
        notes.add(
            f"{redact_uri(src)} declares its CRS ({f'EPSG:{code}' if code else gdf.crs.name});"
            f" {given_by} only sets the CRS of a file without one and is ignored for it "
            "(qzgeo convert --to-crs reprojects); if the file's own CRS (.prj, 带号) is wrong, "
            "fix the file",
            source=src,
        )
    return gdf


#: How a refusal says the CRS was the file's own: the fix is in the file, not in a setting.
FILE_CRS_SAID = "which --crs does not replace (nor a catalog `crs`)"


#: Coordinates checked against the CRS in a layer read whole, and in each chunk of a layer
#: read in chunks: every chunk is checked, so 1M parcels in 16 chunks still have 64 000
#: checked (20 000 read whole). 20 000 a chunk cost ~1 % of a streamed run's CPU.
WHOLE_SAMPLE, CHUNK_SAMPLE = 20_000, 4_000


def check_layer_coordinates(
    gdf: gpd.GeoDataFrame,
    src: str,
    crs: str | CRS | None,
    *,
    extent: tuple[float, float, float, float] | None = None,
    chunk: bool = False,
) -> None:
    """:func:`qzgeo.geo.crs.check_coordinates` on ``gdf``, the fix aimed at where its CRS is.

    ``chunk``: ``gdf`` is one chunk of a layer read in chunks (a smaller sample of each).

    Its advice (the zone-prefixed EPSG code instead of the plain one) is for ``crs``
    (``--crs``); a CRS the file declares itself (a .prj, a GeoJSON ``crs`` member, 带号) is
    not replaced by ``--crs`` (:func:`settle_crs`), so the fix is in the file.
    """
    try:
        check_coordinates(
            sample_coordinates(gdf.geometry.values, limit=CHUNK_SAMPLE if chunk else WHOLE_SAMPLE),
            gdf.crs,
            source=src,
            extent=extent,
        )
    except CRSError as exc:
        given = crs is not None and resolve_crs(CRS.from_user_input(crs)) == gdf.crs
        if given or not any(w in str(exc) for w in ("use EPSG:", CRS_FIX)):
            raise  # the CRS came from --crs, or the fix is not a CRS (swapped X/Y, a vertex)
        where = "the .prj" if src.lower().endswith(".shp") else "the CRS the file declares"
        fix = "replace the .prj (ArcGIS 定义投影, QGIS Assign Projection)"
        if "://" in src:  # PostGIS: the table's SRID
            where, fix = "the table's SRID", "set the right one (UpdateGeometrySRID)"
        elif not src.lower().endswith(".shp"):
            code = m.group(1) if (m := re.search(r"use (EPSG:\d+)", str(exc))) else "EPSG:…"
            fix = (
                f"fix it in the file (GeoPackage and others: `ogr2ogr -a_srs {code} NEW IN`, or "
                'QGIS 指定投影 (Assign Projection) and export; GeoJSON: its "crs" member; '
                "界址点: 带号)"
            )
        msg = f"{exc}. That CRS is {where}, {FILE_CRS_SAID}: {fix}"
        raise CRSError(msg) from exc


def _crs_hint(gdf: gpd.GeoDataFrame) -> str:
    """What the coordinates look like, as a hint for the message (never applied)."""
    from qzgeo.geo.crs import gk_epsg

    if gdf.empty:
        return "e.g. EPSG:4490 for CGCS2000 lon/lat"
    # is_empty is False for a missing geometry: a CSV whose every WKT cell failed to parse
    # has bounds of NaN, which crashed the zone below
    if (gdf.geometry.isna() | gdf.geometry.is_empty).all():
        return "no feature has a geometry to tell its CRS by; e.g. EPSG:4490 for CGCS2000 lon/lat"
    x0, y0, x1, y1 = (float(v) for v in gdf.total_bounds)
    if x0 >= 73 and x1 <= 136 and y0 >= 3 and y1 <= 54:
        return "the coordinates look like lon/lat: EPSG:4490 (CGCS2000) or EPSG:4326 (WGS84)"
    zone = int(x0 // 1_000_000)
    if 25 <= zone <= 45 and zone == int(x1 // 1_000_000):
        return (
            f"eastings with the zone prefix {zone} look like CGCS2000 3-degree GK zone {zone}: "
            f"EPSG:{gk_epsg(zone, prefix=True)}"
        )
    if x0 > 0 and x1 < 1_000_000 and 0 < y0 < 6_000_000:
        return (
            "eastings near 500 000 look like a Gauss-Krueger zone without prefix: "
            "EPSG:(4509 + the zone, i.e. round(central meridian / 3)) for CGCS2000"
        )
    return "e.g. EPSG:4490 for CGCS2000 lon/lat, or the Gauss-Krueger zone of the data"


def from_gcj02(gdf: gpd.GeoDataFrame, src: str) -> gpd.GeoDataFrame:
    """Convert GCJ-02 lon/lat to WGS84/CGCS2000 (EPSG:4490)."""
    if not gdf.crs.is_geographic:
        msg = f"{src}: datum 'gcj02' applies to lon/lat data, but its CRS is {gdf.crs.name}"
        raise CRSError(msg)
    return gdf.set_geometry(geoms_gcj02_to_wgs84(gdf.geometry.values), crs=STORAGE_CRS)
