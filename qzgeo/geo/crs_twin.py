"""The CGCS2000 Gauss-Krüger zone whose projection a CRS without an EPSG code has exactly.

A ``.prj`` named ``Custom`` (MapGIS, CASS, a hand-edited ArcGIS export) may hold the very
parameters of a CGCS2000 GK zone over a datum PROJ cannot name (``D_Custom``): PROJ finds no
EPSG code for it, not even at the lowest confidence, and rightly so: the datum is not known
to be CGCS2000 (a city's 独立坐标系 keeps that ellipsoid and moves the origin). So qzgeo never
takes the zone for it; it names the zone in the fix it offers, for the user who knows the
datum to choose (``--to-crs EPSG:...``, which then leaves the coordinates as they are).
"""

from __future__ import annotations

from pyproj import CRS

from qzgeo.geo.crs import gk_epsg, tm_parameters

__all__ = ["gk_twin", "prefix_twin"]

#: False easting of a GK zone without the zone number in front.
_FALSE_EASTING = 500_000.0


def gk_twin(crs: CRS) -> int | None:
    """EPSG code of the CGCS2000 GK zone (3° or 6°, with or without zone prefix) whose
    projection method, parameters, ellipsoid, prime meridian and unit equal ``crs``'s exactly;
    ``None`` if none does. The datum is not compared: that is the user's to say.

    Examples
    --------
    >>> custom = CRS.from_wkt('PROJCS["Custom",GEOGCS["GCS_Custom",DATUM["D_Custom",SPHEROID['
    ...     '"CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",'
    ...     '0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],'
    ...     'PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",120.0],PARAMETER['
    ...     '"Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]')
    >>> custom.to_epsg(min_confidence=1) is None, gk_twin(custom)
    (True, 4549)
    >>> gk_twin(CRS.from_proj4("+proj=tmerc +lon_0=120.5 +k=1 +x_0=500000 +ellps=GRS80"))
    """
    tm = tm_parameters(crs)
    if tm is None:
        return None
    fe, cm = tm
    for width in (3, 6):
        zone = round(cm / 3) if width == 3 else round((cm + 3) / 6)
        prefix = fe != _FALSE_EASTING
        if prefix and fe != zone * 1_000_000 + _FALSE_EASTING:
            continue
        try:
            code = gk_epsg(zone, prefix=prefix, width=width)
        except ValueError:
            continue
        if _same_projection(crs, CRS.from_epsg(code)):
            return code
    return None


def prefix_twin(crs: CRS, easting: float) -> int | None:
    """EPSG code of the CGCS2000 GK zone that fits ``easting`` when ``crs`` (a GK zone) and
    the easting disagree on the zone number in front (36 520 000 in a CRS of false easting
    500 000, or 520 000 in one of 36 500 000); ``None`` when they agree.

    Examples
    --------
    >>> prefix_twin(CRS.from_epsg(4548), 39_520_000.0), prefix_twin(CRS.from_epsg(4527), 520_000.0)
    (4527, 4548)
    >>> prefix_twin(CRS.from_epsg(4548), 520_000.0) is None
    True
    """
    code, tm = gk_twin(crs), tm_parameters(crs)
    if code is None or tm is None:
        return None
    fe, cm = tm
    prefix = fe != _FALSE_EASTING
    if prefix == (easting >= 1e7) or (prefix and easting >= 1e6):
        return None
    for width in (3, 6):
        zone = round(cm / 3) if width == 3 else round((cm + 3) / 6)
        try:
            if gk_epsg(zone, prefix=prefix, width=width) != code:
                continue
            # eastings with a prefix name their zone, which may be another than the CRS's
            return gk_epsg(
                int(easting // 1e6) if easting >= 1e7 else zone, prefix=not prefix, width=width
            )
        except ValueError:
            return None
    return None


def _same_projection(crs: CRS, other: CRS) -> bool:
    """Same projection, parameters, ellipsoid, prime meridian and unit (not the datum)."""
    return _projection_key(crs) == _projection_key(other) and _projection_key(crs) is not None


def _projection_key(crs: CRS) -> tuple[object, ...] | None:
    """What :func:`_same_projection` compares of ``crs``; ``None`` if it lacks a part."""
    op, ell, pm = crs.coordinate_operation, crs.ellipsoid, crs.prime_meridian
    if op is None or ell is None or pm is None:
        return None
    params = sorted((p.name, p.value, p.unit_name.casefold()) for p in op.params)
    units = sorted({a.unit_name for a in crs.axis_info})
    return (
        op.method_name,
        params,
        ell.semi_major_metre,
        ell.inverse_flattening,
        pm.longitude,
        units,
    )
