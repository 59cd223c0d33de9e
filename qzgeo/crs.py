"""Coordinate reference systems: CGCS2000 Gauss-Krüger zones and GCJ-02.

Storage is CGCS2000 geographic (EPSG:4490); geometry work happens in a CGCS2000 3-degree
Gauss-Krüger zone chosen from the data's extent. CGCS2000 and WGS84 agree to well under a
metre, which is why WGS84 data is read as CGCS2000 without a datum shift.

GCJ-02 is the obfuscated datum of AMap/高德 and Google China tiles. Its forward formula is
public; the inverse is solved here by fixed-point iteration to well under a millimetre.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS

STORAGE_CRS = "EPSG:4490"

# EPSG codes of the CGCS2000 3-degree Gauss-Krüger zones: zone 25 (CM 75E) .. zone 45 (CM 135E).
# "zone" variants carry the zone number as an easting prefix (36 500 000); "CM" variants do not.
_GK3_ZONE_FIRST_EPSG = 4513  # EPSG:4513 = zone 25 with prefix
_GK3_CM_FIRST_EPSG = 4534  # EPSG:4534 = CM 75E, no prefix
_GK3_FIRST_ZONE, _GK3_LAST_ZONE = 25, 45

FloatArray = npt.NDArray[np.float64]


def gk3_zone(lon: float) -> int:
    """Return the 3-degree Gauss-Krüger zone number whose central meridian is nearest ``lon``.

    Examples
    --------
    >>> gk3_zone(108.6)
    36
    """
    zone = round(lon / 3.0)
    if not _GK3_FIRST_ZONE <= zone <= _GK3_LAST_ZONE:
        msg = f"longitude {lon} is outside China's 3-degree GK zones 25..45 (75E..135E)"
        raise ValueError(msg)
    return int(zone)


def gk3_epsg(zone: int, *, prefix: bool = False) -> int:
    """EPSG code of CGCS2000 3-degree GK ``zone``; ``prefix=True`` gives the zone-prefixed variant.

    Examples
    --------
    >>> gk3_epsg(36), gk3_epsg(36, prefix=True)
    (4545, 4524)
    """
    if not _GK3_FIRST_ZONE <= zone <= _GK3_LAST_ZONE:
        msg = f"3-degree GK zone must be in 25..45, got {zone!r}"
        raise ValueError(msg)
    first = _GK3_ZONE_FIRST_EPSG if prefix else _GK3_CM_FIRST_EPSG
    return first + zone - _GK3_FIRST_ZONE


def gk3_zone_of_epsg(epsg: int) -> tuple[int, bool] | None:
    """Return ``(zone, prefixed)`` if ``epsg`` is a CGCS2000 3-degree GK code, else ``None``."""
    n = _GK3_LAST_ZONE - _GK3_FIRST_ZONE
    if _GK3_ZONE_FIRST_EPSG <= epsg <= _GK3_ZONE_FIRST_EPSG + n:
        return epsg - _GK3_ZONE_FIRST_EPSG + _GK3_FIRST_ZONE, True
    if _GK3_CM_FIRST_EPSG <= epsg <= _GK3_CM_FIRST_EPSG + n:
        return epsg - _GK3_CM_FIRST_EPSG + _GK3_FIRST_ZONE, False
    return None


def planar_crs_for_bounds(bounds: tuple[float, float, float, float]) -> CRS:
    """CGCS2000 3-degree GK CRS (no prefix) for lon/lat ``bounds`` (minx, miny, maxx, maxy)."""
    minx, _, maxx, _ = bounds
    return CRS.from_epsg(gk3_epsg(gk3_zone((minx + maxx) / 2.0)))


# --- GCJ-02 -------------------------------------------------------------------------------

_GCJ_A = 6378245.0  # Krasovsky 1940 semi-major axis used by the GCJ-02 formula
_GCJ_EE = 0.00669342162296594323


def _outside_china(lon: FloatArray, lat: FloatArray) -> npt.NDArray[np.bool_]:
    # The published formula applies no offset outside this box.
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _delta(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    x, y = lon - 105.0, lat - 35.0
    sx = np.sqrt(np.abs(x))
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sx
    dlat += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sx
    dlon += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _GCJ_EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_GCJ_A / sqrtmagic * np.cos(radlat) * np.pi)
    outside = _outside_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def wgs84_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Shift WGS84 (or CGCS2000) lon/lat to GCJ-02.

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02(108.6, 21.9)
    >>> round(float(lon) - 108.6, 4), round(float(lat) - 21.9, 4)
    (0.0037, -0.0029)
    """
    lon_a, lat_a = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    dlon, dlat = _delta(lon_a, lat_a)
    return lon_a + dlon, lat_a + dlat


def gcj02_to_wgs84(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, tol: float = 1e-10, max_iter: int = 20
) -> tuple[FloatArray, FloatArray]:
    """Invert :func:`wgs84_to_gcj02` by fixed-point iteration (converges to ``tol`` degrees).

    Examples
    --------
    >>> g = wgs84_to_gcj02(108.6, 21.9)
    >>> lon, lat = gcj02_to_wgs84(*g)
    >>> abs(float(lon) - 108.6) < 1e-9 and abs(float(lat) - 21.9) < 1e-9
    True
    """
    glon, glat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    wlon, wlat = glon.copy(), glat.copy()
    for _ in range(max_iter):
        flon, flat = wgs84_to_gcj02(wlon, wlat)
        elon, elat = flon - glon, flat - glat
        wlon, wlat = wlon - elon, wlat - elat
        if np.all(np.abs(elon) < tol) and np.all(np.abs(elat) < tol):
            break
    return wlon, wlat


def _transform_geoms(geoms: npt.ArrayLike, func: object) -> npt.NDArray[np.object_]:
    def _xy(coords: FloatArray) -> FloatArray:
        lon, lat = func(coords[:, 0], coords[:, 1])  # type: ignore[operator]
        return np.column_stack([lon, lat])

    return np.asarray(shapely.transform(np.asarray(geoms, dtype=object), _xy))


def geoms_gcj02_to_wgs84(geoms: npt.ArrayLike) -> npt.NDArray[np.object_]:
    """Convert an array of shapely geometries from GCJ-02 to WGS84 lon/lat."""
    return _transform_geoms(geoms, gcj02_to_wgs84)


def geoms_wgs84_to_gcj02(geoms: npt.ArrayLike) -> npt.NDArray[np.object_]:
    """Convert an array of shapely geometries from WGS84 lon/lat to GCJ-02 (for AMap tiles)."""
    return _transform_geoms(geoms, wgs84_to_gcj02)
