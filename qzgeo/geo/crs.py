"""Coordinate reference systems: CGCS2000 Gauss-Krüger zones and checks on declared CRSs.

Storage is CGCS2000 geographic (EPSG:4490); geometry work happens in a CGCS2000 3-degree
Gauss-Krüger zone chosen from the data's extent. CGCS2000 and WGS84 agree to well under a
metre, which is why WGS84 data is read as CGCS2000 without a datum shift. GCJ-02 (AMap) is in
:mod:`qzgeo.geo.gcj02`.
"""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS

from qzgeo._errors import CRSError
from qzgeo.geo.reproject import cached_transformer

STORAGE_CRS = "EPSG:4490"
#: The fix for a CRS that does not fit the coordinates, as the command line sets it; a pack
#: layer's refusal says the catalog's instead (:func:`qzgeo.pack.load.read_pack_layer`).
CRS_FIX = "check `crs` / --crs"

# EPSG codes of the CGCS2000 3-degree Gauss-Krüger zones: zone 25 (CM 75E) .. zone 45 (CM 135E).
# "zone" variants carry the zone number as an easting prefix (36 500 000); "CM" variants do not.
_GK3_ZONE_FIRST_EPSG = 4513  # EPSG:4513 = zone 25 with prefix
_GK3_CM_FIRST_EPSG = 4534  # EPSG:4534 = CM 75E, no prefix
_GK3_FIRST_ZONE, _GK3_LAST_ZONE = 25, 45
# CGCS2000 6-degree GK: zones 13 (CM 75E) .. 23 (CM 135E).
_GK6_ZONE_FIRST_EPSG, _GK6_CM_FIRST_EPSG, _GK6_FIRST_ZONE, _GK6_LAST_ZONE = 4491, 4502, 13, 23

FloatArray = npt.NDArray[np.float64]

#: lon/lat box of China, for the plausibility check of coordinates and for :func:`gk_zone`: its
#: land reaches 73.48E (乌恰县) and 135.08E (抚远, 黑瞎子岛), its islands 3.8N (曾母暗沙).
CHINA_BOUNDS = (73.0, 3.0, 135.1, 54.0)


def gk_zone(lon: float, *, width: int = 3) -> int:
    """The GK zone (``width`` 3 or 6 degrees) whose central meridian is nearest ``lon``.

    Examples
    --------
    >>> gk_zone(117.2), gk_zone(117.2, width=6)
    (39, 20)
    """
    if width == 3:
        zone, first, last = round(lon / 3.0), _GK3_FIRST_ZONE, _GK3_LAST_ZONE
    elif width == 6:
        zone, first, last = round((lon + 3.0) / 6.0), _GK6_FIRST_ZONE, _GK6_LAST_ZONE
    else:
        msg = f"width must be 3 or 6, got {width!r}"
        raise ValueError(msg)
    if CHINA_BOUNDS[0] <= lon <= CHINA_BOUNDS[2]:
        # China's western tip (73.48E) lies just west of zone 25 (73.5E..76.5E), and EPSG
        # defines no CGCS2000 zone 24: the nearest zone defined is the one to use there.
        zone = min(max(zone, first), last)
    if not first <= zone <= last:
        msg = (
            f"longitude {lon} is outside China's {width}-degree GK zones {first}..{last} "
            "(75E..135E)"
        )
        raise ValueError(msg)
    return int(zone)


def gk_zone_of_epsg(epsg: int, *, width: int = 3) -> tuple[int, bool] | None:
    """``(zone, prefixed)`` if ``epsg`` is a CGCS2000 ``width``-degree GK code, else ``None``.

    Examples
    --------
    >>> gk_zone_of_epsg(4527), gk_zone_of_epsg(4548), gk_zone_of_epsg(4498, width=6)
    ((39, True), (39, False), (20, True))
    """
    if width == 3:
        zone_first, cm_first, first, last = (
            _GK3_ZONE_FIRST_EPSG,
            _GK3_CM_FIRST_EPSG,
            _GK3_FIRST_ZONE,
            _GK3_LAST_ZONE,
        )
    else:
        zone_first, cm_first, first, last = (
            _GK6_ZONE_FIRST_EPSG,
            _GK6_CM_FIRST_EPSG,
            _GK6_FIRST_ZONE,
            _GK6_LAST_ZONE,
        )
    n = last - first
    if zone_first <= epsg <= zone_first + n:
        return epsg - zone_first + first, True
    if cm_first <= epsg <= cm_first + n:
        return epsg - cm_first + first, False
    return None


def planar_crs_for_bounds(bounds: tuple[float, float, float, float]) -> CRS:
    """CGCS2000 3-degree GK CRS (no prefix) for lon/lat ``bounds`` (minx, miny, maxx, maxy)."""
    minx, _, maxx, _ = bounds
    return CRS.from_epsg(gk_epsg(gk_zone((minx + maxx) / 2.0)))


# --- Checks on declared CRSs (used by qzgeo.io.vector.read_layer) ----------------------------

# First EPSG code (zone 25 / CM 75E) of the other 3-degree GK families in use in China.
_GK3_FAMILIES = {
    "cgcs2000": (_GK3_ZONE_FIRST_EPSG, _GK3_CM_FIRST_EPSG),
    "xian80": (2349, 2370),
    "beijing54": (2401, 2422),
}

# ESRI names, and the EPSG-style names PROJ gives them when it cannot match the whole CRS.
_ESRI_GK = re.compile(
    r"^(?P<datum>CGCS2000|Xian_1980|Beijing_1954)_(?P<width>3|6)_Degree_GK_"
    r"(?:Zone_(?P<zone>\d+)|CM_(?P<cm>\d+)E)$"
    r"|^(?P<datum2>CGCS2000|Xian 1980|Beijing 1954) / (?P<width2>3)-degree Gauss-Kruger "
    r"(?:zone (?P<zone2>\d+)|CM (?P<cm2>\d+)E)$"
)


def gk_epsg(zone: int, *, prefix: bool = False, width: int = 3, datum: str = "cgcs2000") -> int:
    """EPSG code of a Gauss-Krüger zone of ``width`` 3 or 6 degrees on ``datum``.

    ``datum`` is ``"cgcs2000"``, ``"xian80"`` or ``"beijing54"`` (6-degree: CGCS2000 only).

    Examples
    --------
    >>> gk_epsg(40, prefix=True), gk_epsg(40, datum="xian80"), gk_epsg(19, width=6, prefix=True)
    (4528, 2385, 4497)
    """
    if width == 6:
        if datum != "cgcs2000" or not _GK6_FIRST_ZONE <= zone <= _GK6_LAST_ZONE:
            msg = f"6-degree GK needs datum 'cgcs2000' and a zone in 13..23, got {datum!r} {zone!r}"
            raise ValueError(msg)
        first = _GK6_ZONE_FIRST_EPSG if prefix else _GK6_CM_FIRST_EPSG
        return first + zone - _GK6_FIRST_ZONE
    if width != 3 or datum not in _GK3_FAMILIES:
        msg = (
            f"width must be 3 or 6 and datum one of {sorted(_GK3_FAMILIES)}, "
            f"got {width!r} {datum!r}"
        )
        raise ValueError(msg)
    if not _GK3_FIRST_ZONE <= zone <= _GK3_LAST_ZONE:
        msg = f"3-degree GK zone must be in 25..45, got {zone!r}"
        raise ValueError(msg)
    zone_first, cm_first = _GK3_FAMILIES[datum]
    return (zone_first if prefix else cm_first) + zone - _GK3_FIRST_ZONE


def resolve_crs(crs: str | CRS) -> CRS:
    """Return ``crs`` as an EPSG CRS when it is one in disguise (e.g. an ESRI ``.prj``).

    ESRI names such as ``CGCS2000_3_Degree_GK_Zone_40`` and ``CGCS2000_3_Degree_GK_CM_120E``
    become EPSG:4528 and EPSG:4549. A CRS that matches no EPSG code is returned unchanged.

    Examples
    --------
    >>> resolve_crs('PROJCS["CGCS2000_3_Degree_GK_CM_120E",GEOGCS["GCS_China_Geodetic_'
    ...     'Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,'
    ...     '298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],'
    ...     'PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],PARAMETER['
    ...     '"False_Northing",0.0],PARAMETER["Central_Meridian",120.0],PARAMETER["Scale_'
    ...     'Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]').to_epsg()
    4549
    """
    c = CRS.from_user_input(crs)
    code = c.to_epsg(min_confidence=90)
    if code is None:
        m = _ESRI_GK.match(c.name.strip())
        if m is not None:
            g = {k.rstrip("2"): v for k, v in m.groupdict().items() if v is not None}
            datum = {
                "CGCS2000": "cgcs2000",
                "Xian_1980": "xian80",
                "Beijing_1954": "beijing54",
                "Xian 1980": "xian80",
                "Beijing 1954": "beijing54",
            }
            width = int(g["width"])
            if "zone" in g:
                zone, prefix = int(g["zone"]), True
            else:
                cm = int(g["cm"])
                zone, prefix = (cm // 3 if width == 3 else (cm + 3) // 6), False
            try:
                code = gk_epsg(zone, prefix=prefix, width=width, datum=datum[g["datum"]])
            except ValueError:
                code = None
    if code is None:
        return c
    found = CRS.from_epsg(code)
    # A name is only a claim: accept it if the projection parameters agree.
    if c.to_epsg(min_confidence=90) is None and tm_parameters(found) != tm_parameters(c):
        return c
    return found


def tm_parameters(crs: CRS) -> tuple[float, float] | None:
    """``(false_easting, central_meridian)`` of a transverse Mercator / GK CRS, else ``None``."""
    op = crs.coordinate_operation
    if op is None or "Transverse Mercator" not in op.method_name:
        return None
    params = {p.name: p.value for p in op.params}
    fe, cm = params.get("False easting"), params.get("Longitude of natural origin")
    if fe is None or cm is None:
        return None
    return float(fe), float(cm)


def crs_label(crs: CRS) -> str:
    """``"EPSG:4549 (CGCS2000 / 3-degree Gauss-Kruger CM 120E)"``: a CRS as reports name it."""
    epsg = crs.to_epsg(min_confidence=90)
    return f"EPSG:{epsg} ({crs.name})" if epsg else crs.name


def central_meridian(crs: CRS) -> float | None:
    """Central meridian (degrees) of a transverse Mercator / GK CRS, else ``None``."""
    tm = tm_parameters(crs)
    return None if tm is None else tm[1]


def _suggest_gk(crs: CRS, easting: float) -> str | None:
    """EPSG code of the variant of ``crs``'s family that fits ``easting``, if any."""
    tm = tm_parameters(crs)
    if tm is None:
        return None
    _, cm = tm
    datum = {"China 2000": "cgcs2000", "Xian 1980": "xian80", "Beijing 1954": "beijing54"}.get(
        crs.datum.name if crs.datum is not None else "", "cgcs2000"
    )
    # EPSG calls the 3-degree families "3-degree Gauss-Kruger", the 6-degree ones "Gauss-Kruger".
    width = 6 if "Gauss-Kruger" in crs.name and "3-degree" not in crs.name else 3
    try:
        if easting >= 1e7:  # the prefix names the width: 6-degree zones 13..23, 3-degree 25..45
            width = 6 if easting < (_GK6_LAST_ZONE + 1) * 1e6 else 3
            return f"EPSG:{gk_epsg(int(easting // 1e6), prefix=True, width=width, datum=datum)}"
        zone = round(cm / 3) if width == 3 else round((cm + 3) / 6)
        return f"EPSG:{gk_epsg(zone, prefix=False, width=width, datum=datum)}"
    except ValueError:
        return None


def _to_lonlat(crs: CRS, x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    t = cached_transformer(crs, STORAGE_CRS)
    with np.errstate(all="ignore"):
        lon, lat = t.transform(x, y, errcheck=False)
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def _inside(lon: FloatArray, lat: FloatArray, box: tuple[float, float, float, float]) -> bool:
    ok = np.isfinite(lon) & np.isfinite(lat)
    ok &= (lon >= box[0]) & (lon <= box[2]) & (lat >= box[1]) & (lat <= box[3])
    return bool(ok.all())


def sample_coordinates(geoms: npt.ArrayLike, *, limit: int = 20_000) -> FloatArray:
    """Finite x/y coordinates of ``geoms`` (at most about ``limit`` of them, evenly sampled).

    Big layers are sampled by geometry first (every k-th, k = n // limit + 1): reading every
    vertex of a million parcels to keep 20 000 of them cost a quarter of a second.
    """
    arr = np.asarray(geoms, dtype=object).ravel()
    if len(arr) > limit:
        arr = arr[:: len(arr) // limit + 1]
    coords = shapely.get_coordinates(arr)
    coords = coords[np.isfinite(coords).all(axis=1)]
    if len(coords) > limit:
        coords = coords[:: len(coords) // limit + 1]
    return np.asarray(coords, dtype=float)


def check_coordinates(
    coords: npt.ArrayLike,
    crs: str | CRS,
    *,
    source: str = "the layer",
    extent: tuple[float, float, float, float] | None = None,
) -> None:
    """Raise :class:`~qzgeo._errors.CRSError` if ``coords`` do not fit ``crs`` in China.

    Catches the usual mistakes: Gauss-Krüger eastings of the wrong zone variant (with or
    without the zone prefix), swapped X/Y (northing first), and data that transforms to
    ``inf`` or lands outside China (lon 73–135.1, lat 3–54) and outside ``extent``.

    Parameters
    ----------
    coords
        ``(n, 2)`` array of x, y (easting, northing or lon, lat) in ``crs``.
    crs
        The declared CRS.
    source
        Name of the data for the message.
    extent
        Optional extra lon/lat box (minlon, minlat, maxlon, maxlat) that is also accepted.

    Examples
    --------
    >>> check_coordinates([[564161.7, 3343000.0]], "EPSG:4528", source="a.shp")
    Traceback (most recent call last):
    ...
    qzgeo._errors.CRSError: a.shp: eastings look like they carry no zone prefix (564162 in \
EPSG:4528, which expects 40 xxx xxx): use EPSG:4549, not EPSG:4528
    """
    xy = np.asarray(coords, dtype=float).reshape(-1, 2)
    xy = xy[np.isfinite(xy).all(axis=1)]
    if len(xy) == 0:
        return
    c = CRS.from_user_input(crs)
    code = c.to_epsg()
    name = f"EPSG:{code}" if code else c.name
    x, y = xy[:, 0], xy[:, 1]
    boxes = [CHINA_BOUNDS] + ([extent] if extent is not None else [])
    med_e = float(np.median(x))
    _check_zone_prefix(c, med_e, name, source)
    if _fits(c, x, y, boxes):
        return
    if _fits(c, y, x, boxes):
        msg = (
            f"{source}: looks like swapped X/Y (the first column holds the northing or latitude) "
            f"for {name}; "
            "read it again with --swap-xy (swap_xy=True), or swap the axes in the file"
        )
        raise CRSError(msg)
    _check_prefix_variant(c, med_e, name, source)
    lon, lat = _to_lonlat(c, x, y)
    if not (np.isfinite(lon).all() and np.isfinite(lat).all()):
        ok = np.isfinite(lon) & np.isfinite(lat)
        k, why = int(np.argmin(ok)), f"the declared CRS is wrong; {CRS_FIX}"
        if ok.mean() > 0.5:  # most do: a stray vertex rather than a wrong CRS
            why = f"a stray vertex? Fix or delete it (or {CRS_FIX})"
        msg = (
            f"{source}: coordinates such as ({x[k]:.3f}, {y[k]:.3f}) do not transform from {name} "
            f"(the result is infinite): {why}"
        )
        raise CRSError(msg)
    where = f"lon {lon.min():.3f}..{lon.max():.3f}, lat {lat.min():.3f}..{lat.max():.3f}"
    tm = tm_parameters(c)
    in_china = any(_inside(lon, lat, b) for b in boxes)
    if tm is not None and in_china and bool((np.abs(x - tm[0]) > 5e5).any()):
        # in China, but far outside the zone (the band test of _fits)
        why = f"more than 500 km from the central meridian ({tm[1]:g}E) of {name}'s zone"
    else:
        why = "outside China (lon 73–135.1, lat 3–54)"
        why += " and the pack extent" if extent is not None else ""
    if c.is_projected and _inside(x, y, CHINA_BOUNDS):  # degrees given a CRS of metres
        why += f" (the numbers look like lon/lat degrees: {STORAGE_CRS} (CGCS2000) or EPSG:4326)"
    msg = (
        f"{source}: in {name} the data lie at {where}, {why}; the declared CRS is probably "
        f"wrong: {CRS_FIX}"
    )
    raise CRSError(msg)


def _fits(
    crs: CRS, xs: FloatArray, ys: FloatArray, boxes: list[tuple[float, float, float, float]]
) -> bool:
    """Whether ``xs, ys`` in ``crs`` land inside one of the lon/lat ``boxes``."""
    tm = tm_parameters(crs)
    if tm is not None:
        # China's box is coarse: also ask for eastings within a zone of the central meridian
        # and northings of 3..54 degrees north.
        off = np.abs(xs - tm[0])
        if not ((off <= 5e5).all() and ((ys >= 3e5) & (ys <= 6.1e6)).all()):
            return False
    lon, lat = _to_lonlat(crs, xs, ys)
    return any(_inside(lon, lat, b) for b in boxes)


def _check_zone_prefix(crs: CRS, med_e: float, name: str, source: str) -> None:
    """Refuse zone-prefixed eastings of another zone than ``crs``'s."""
    tm = tm_parameters(crs)
    if tm is None or tm[0] < 1e6 or med_e < 1e7:
        return
    zone = int(med_e // 1e6)
    if zone != int(tm[0] // 1e6):
        hint = _suggest_gk(crs, med_e)
        msg = (
            f"{source}: eastings carry zone prefix {zone}, but {name} is zone "
            f"{int(tm[0] // 1e6)}" + (f": use {hint}, not {name}" if hint else "")
        )
        raise CRSError(msg)


def _check_prefix_variant(crs: CRS, med_e: float, name: str, source: str) -> None:
    """Refuse eastings with a zone prefix in a CRS without one, and the other way round."""
    tm = tm_parameters(crs)
    if tm is None:
        return
    hint = _suggest_gk(crs, med_e)
    if tm[0] >= 1e6 and med_e < 1e6:
        msg = (
            f"{source}: eastings look like they carry no zone prefix ({med_e:.0f} in {name}, "
            f"which expects {int(tm[0] // 1e6)} xxx xxx)"
            + (f": use {hint}, not {name}" if hint else "")
        )
        raise CRSError(msg)
    if tm[0] < 1e6 and med_e >= 1e7:
        msg = (
            f"{source}: eastings look zone-prefixed ({med_e:.0f}, zone {int(med_e // 1e6)}) "
            f"but {name} has no prefix" + (f": use {hint}, not {name}" if hint else "")
        )
        raise CRSError(msg)


# --- Old datums ------------------------------------------------------------

#: Datums that differ from CGCS2000 by tens of metres: moving their data needs a real datum
#: transformation (7 parameters), which PROJ does not have for them.
OLD_DATUMS = {"xian": "Xian 1980 (西安80)", "beijing": "Beijing 1954 (北京54)"}


def old_datum(crs: CRS | str | None) -> str | None:
    """The name of ``crs``'s datum if it is Xian 1980, Beijing 1954 or another datum on their
    ellipsoids (Krassowsky, IAG 1975), else ``None``.

    Examples
    --------
    >>> old_datum("EPSG:2384"), old_datum("EPSG:4548")
    ('Xian 1980 (西安80)', None)
    >>> old_datum("EPSG:4555")
    'New Beijing (Krassowsky 1940 ellipsoid, like Beijing 1954 (北京54))'
    """
    if crs is None:
        return None
    c = CRS.from_user_input(crs)
    datum = c.datum.name if c.datum is not None else ""
    key = datum.lower().replace("_", " ")
    if "xian" in key and "1980" in key:
        return OLD_DATUMS["xian"]
    if "beijing" in key and "1954" in key:
        return OLD_DATUMS["beijing"]
    # Another datum on their ellipsoids (New Beijing 新北京54, a PROJ string with +ellps=krass
    # and no +towgs84) is as far from CGCS2000, and PROJ would move it by nothing too.
    ellipsoid = c.ellipsoid.name if c.ellipsoid is not None and not c.is_bound else ""
    for word, family in (("krass", "beijing"), ("iag 1975", "xian"), ("iau 1976", "xian")):
        if word in ellipsoid.lower():
            return f"{datum} ({ellipsoid} ellipsoid, like {OLD_DATUMS[family]})"
    return None
