"""Coordinate reference systems: CGCS2000 Gauss-Krüger zones and GCJ-02.

Storage is CGCS2000 geographic (EPSG:4490); geometry work happens in a CGCS2000 3-degree
Gauss-Krüger zone chosen from the data's extent. CGCS2000 and WGS84 agree to well under a
metre, which is why WGS84 data is read as CGCS2000 without a datum shift.

GCJ-02 is the obfuscated datum of AMap/高德 and Google China tiles. Its forward formula is
public; the inverse is solved here by fixed-point iteration to well under a millimetre.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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


# --- Checks on declared CRSs (used by qzgeo.io.vector.read_layer) ---------------------------------

#: lon/lat box of China used by the plausibility check (with a margin for the sea).
CHINA_BOUNDS = (73.0, 3.0, 135.0, 54.0)

# First EPSG code (zone 25 / CM 75E) of the other 3-degree GK families in use in China.
_GK3_FAMILIES = {
    "cgcs2000": (_GK3_ZONE_FIRST_EPSG, _GK3_CM_FIRST_EPSG),
    "xian80": (2349, 2370),
    "beijing54": (2401, 2422),
}
# CGCS2000 6-degree GK: zones 13 (CM 75E) .. 23 (CM 135E).
_GK6_ZONE_FIRST_EPSG, _GK6_CM_FIRST_EPSG, _GK6_FIRST_ZONE, _GK6_LAST_ZONE = 4491, 4502, 13, 23

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
    >>> gk_epsg(36, prefix=True), gk_epsg(36, datum="xian80"), gk_epsg(19, width=6, prefix=True)
    (4524, 2381, 4497)
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

    ESRI names such as ``CGCS2000_3_Degree_GK_Zone_36`` and ``CGCS2000_3_Degree_GK_CM_108E``
    become EPSG:4524 and EPSG:4545. A CRS that matches no EPSG code is returned unchanged.

    Examples
    --------
    >>> resolve_crs('PROJCS["CGCS2000_3_Degree_GK_CM_108E",GEOGCS["GCS_China_Geodetic_'
    ...     'Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,'
    ...     '298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],'
    ...     'PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],PARAMETER['
    ...     '"False_Northing",0.0],PARAMETER["Central_Meridian",108.0],PARAMETER["Scale_'
    ...     'Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]').to_epsg()
    4545
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
        if easting >= 1e7:
            return f"EPSG:{gk_epsg(int(easting // 1e6), prefix=True, width=width, datum=datum)}"
        zone = round(cm / 3) if width == 3 else round((cm + 3) / 6)
        return f"EPSG:{gk_epsg(zone, prefix=False, width=width, datum=datum)}"
    except ValueError:
        return None


def _to_lonlat(crs: CRS, x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    from pyproj import Transformer

    t = Transformer.from_crs(crs, STORAGE_CRS, always_xy=True)
    with np.errstate(all="ignore"):
        lon, lat = t.transform(x, y, errcheck=False)
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def _inside(lon: FloatArray, lat: FloatArray, box: tuple[float, float, float, float]) -> bool:
    ok = np.isfinite(lon) & np.isfinite(lat)
    ok &= (lon >= box[0]) & (lon <= box[2]) & (lat >= box[1]) & (lat <= box[3])
    return bool(ok.all())


def sample_coordinates(geoms: npt.ArrayLike, *, limit: int = 20_000) -> FloatArray:
    """Finite x/y coordinates of ``geoms`` (at most about ``limit`` of them, evenly sampled)."""
    coords = shapely.get_coordinates(np.asarray(geoms, dtype=object))
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
    ``inf`` or lands outside China (lon 73–135, lat 3–54) and outside ``extent``.

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
    >>> check_coordinates([[564161.7, 2399603.0]], "EPSG:4524", source="a.shp")
    Traceback (most recent call last):
    ...
    qzgeo._errors.CRSError: a.shp: eastings look like they carry no zone prefix (564162 in \
EPSG:4524, which expects 36 xxx xxx): use EPSG:4545, not EPSG:4524
    """
    from qzgeo._errors import CRSError

    xy = np.asarray(coords, dtype=float).reshape(-1, 2)
    xy = xy[np.isfinite(xy).all(axis=1)]
    if len(xy) == 0:
        return
    c = CRS.from_user_input(crs)
    code = c.to_epsg()
    name = f"EPSG:{code}" if code else c.name
    x, y = xy[:, 0], xy[:, 1]
    boxes = [CHINA_BOUNDS] + ([extent] if extent is not None else [])

    tm_params = tm_parameters(c)

    def fits(xs: FloatArray, ys: FloatArray) -> bool:
        if tm_params is not None:
            # China's box is coarse: also ask for eastings within a zone of the central meridian
            # and northings of 3..54 degrees north.
            off = np.abs(xs - tm_params[0])
            if not ((off <= 5e5).all() and ((ys >= 3e5) & (ys <= 6.1e6)).all()):
                return False
        lon, lat = _to_lonlat(c, xs, ys)
        return any(_inside(lon, lat, b) for b in boxes)

    med_e = float(np.median(x))
    if tm_params is not None and tm_params[0] >= 1e6 and med_e >= 1e7:
        zone = int(med_e // 1e6)
        if zone != int(tm_params[0] // 1e6):
            hint = _suggest_gk(c, med_e)
            msg = (
                f"{source}: eastings carry zone prefix {zone}, but {name} is zone "
                f"{int(tm_params[0] // 1e6)}" + (f": use {hint}, not {name}" if hint else "")
            )
            raise CRSError(msg)
    if fits(x, y):
        return
    if fits(y, x):
        msg = (
            f"{source}: looks like swapped X/Y (the first column holds the northing or latitude) "
            f"for {name}; "
            "swap the columns (for 界址点 files: swap_xy=True / --swap-xy) and read again"
        )
        raise CRSError(msg)
    tm = tm_params
    if tm is not None:
        hint = _suggest_gk(c, med_e)
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
    lon, lat = _to_lonlat(c, x, y)
    if not (np.isfinite(lon).all() and np.isfinite(lat).all()):
        msg = (
            f"{source}: coordinates such as ({x[0]:.3f}, {y[0]:.3f}) do not transform from {name} "
            "(the result is infinite): the declared CRS is wrong; check `crs` / --crs"
        )
        raise CRSError(msg)
    where = f"lon {lon.min():.3f}..{lon.max():.3f}, lat {lat.min():.3f}..{lat.max():.3f}"
    msg = (
        f"{source}: in {name} the data lie at {where}, outside China (lon 73–135, lat 3–54)"
        + (" and the pack extent" if extent is not None else "")
        + "; the declared CRS is probably wrong: check `crs` / --crs"
    )
    raise CRSError(msg)


@dataclass(frozen=True)
class Gcj02Check:
    """Result of :func:`detect_gcj02_offset`: median distances (m) to the reference."""

    median_as_is_m: float
    median_if_converted_m: float
    looks_gcj02: bool

    def message(self, name: str) -> str:
        return (
            f"{name} looks like GCJ-02 (AMap) coordinates: its vertices lie a median "
            f"{self.median_as_is_m:.0f} m from the reference, {self.median_if_converted_m:.0f} m "
            'after a GCJ-02 → WGS84 conversion; declare `datum = "gcj02"` (or --from-gcj02)'
        )


def detect_gcj02_offset(
    geoms: npt.ArrayLike,
    reference: npt.ArrayLike,
    *,
    min_gain_m: float = 100.0,
    near_m: float = 2_000.0,
    max_vertices: int = 5_000,
) -> Gcj02Check:
    """Check lon/lat ``geoms`` for the systematic GCJ-02 offset against a ``reference``.

    GCJ-02 data stored as WGS84 sit ~500 m south-east of true positions in Qinzhou. This can
    only be seen against a trusted layer that shares edges with the data (a coastline, a base
    map's boundaries): the check compares the median distance from the data's vertices to the
    reference as stored and after converting GCJ-02 → WGS84, over the vertices within
    ``near_m`` of the reference (inland edges say nothing). If the conversion brings the data
    closer by at least ``min_gain_m`` metres (and by at least a third), the layer looks GCJ-02.

    Both inputs are EPSG:4490/4326 lon/lat geometry arrays.

    Examples
    --------
    >>> from shapely import LineString
    >>> coast = [LineString([(108.5, 21.6), (108.7, 21.7), (108.9, 21.65)])]
    >>> shifted = geoms_wgs84_to_gcj02(coast)
    >>> detect_gcj02_offset(shifted, coast).looks_gcj02
    True
    >>> detect_gcj02_offset(coast, coast).looks_gcj02
    False
    """
    pts = sample_coordinates(geoms, limit=max_vertices)
    ref = np.asarray(reference, dtype=object)
    if len(pts) == 0 or len(ref) == 0:
        return Gcj02Check(float("nan"), float("nan"), False)
    lon0 = float(np.median(pts[:, 0]))
    planar = CRS.from_epsg(gk3_epsg(gk3_zone(lon0)))
    from pyproj import Transformer

    fwd = Transformer.from_crs(STORAGE_CRS, planar, always_xy=True)

    def project(g: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
        return np.asarray(
            shapely.transform(g, lambda c: np.column_stack(fwd.transform(c[:, 0], c[:, 1])))
        )

    # Distances to a polygon's edge, not its interior (a shifted point inside land is still off).
    polygonal = np.isin(shapely.get_type_id(ref), (3, 6))
    edges = np.where(polygonal, shapely.boundary(ref), ref)
    ref_union = shapely.union_all(project(edges))
    conv_lon, conv_lat = gcj02_to_wgs84(pts[:, 0], pts[:, 1])

    def dist(lon: FloatArray, lat: FloatArray) -> FloatArray:
        px, py = fwd.transform(lon, lat)
        return np.asarray(shapely.distance(shapely.points(px, py), ref_union), dtype=float)

    d_as_is, d_conv = dist(pts[:, 0], pts[:, 1]), dist(conv_lon, conv_lat)
    near = (d_as_is <= near_m) | (d_conv <= near_m)
    if not near.any():
        return Gcj02Check(float("nan"), float("nan"), False)
    as_is, converted = float(np.median(d_as_is[near])), float(np.median(d_conv[near]))
    gain = as_is - converted
    return Gcj02Check(as_is, converted, bool(gain >= min_gain_m and converted <= as_is * 2 / 3))
