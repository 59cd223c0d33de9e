"""The CRS of a layer just read: the file's own, else the one the user gave; never a guess.

``--crs`` (or a catalog ``crs``) sets the CRS of a file without one; a CRS the file declares
wins, and the user is told. ESRI names of CGCS2000 Gauss-Kruger zones resolve to EPSG codes.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
from pyproj import CRS

from qzgeo._errors import CRSError
from qzgeo.geo.crs import STORAGE_CRS, resolve_crs
from qzgeo.geo.gcj02 import geoms_gcj02_to_wgs84
from qzgeo.io.postgis_uri import redact_uri
from qzgeo.notices import Notices


def require_crs(gdf: gpd.GeoDataFrame, crs: str | CRS | None, path: Path) -> gpd.GeoDataFrame:
    """``gdf`` with its own CRS, else ``crs``; never a guess."""
    if gdf.crs is not None:
        return gdf
    if crs is None:
        msg = (
            f'{path} has no CRS; declare it with `crs = "EPSG:..."` in the catalog or pass '
            f"--crs ({_crs_hint(gdf)}). qzgeo never guesses a CRS."
        )
        raise CRSError(msg)
    return gdf.set_crs(crs)


def settle_crs(
    gdf: gpd.GeoDataFrame, crs: str | CRS | None, src: str, notes: Notices, *, given_by: str
) -> gpd.GeoDataFrame:
    """``gdf`` with its CRS resolved (ESRI names to EPSG); a notice if ``crs`` disagrees.

    ``crs`` (``--crs``) only sets the CRS of a file without one: one the file declares wins,
    and the user is told rather than left to believe the option applied.
    """
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


def _crs_hint(gdf: gpd.GeoDataFrame) -> str:
    """What the coordinates look like, as a hint for the message (never applied)."""
    from qzgeo.geo.crs import gk_epsg

    if gdf.empty or gdf.geometry.is_empty.all():
        return "e.g. EPSG:4490 for CGCS2000 lon/lat"
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
