"""Reading 界址点坐标 text files: the parcel boundaries of 建设用地报批 (land approval).

A file has an ``[属性描述]`` section (``key=value`` lines: 坐标系, 几度分带, 带号, ...) and a
``[地块坐标]`` section with one header line per parcel, ending in ``@``::

    点数,面积(公顷),地块编号,地块名称,图形属性,图幅号,地块用途,地类编码,@

followed by vertex rows ``点号,圈号,X,Y``: X is the northing, Y the easting (with the zone
prefix when present), 圈号 1 the outer ring, higher numbers holes. Each ring repeats its first
point to close it. The description follows community parsers, not the official specification.

The reader never guesses silently: everything it assumes (encoding, swapped columns, a closed
ring, a declared area that does not match) is logged and listed in ``gdf.attrs["warnings"]``.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS

from qzgeo._errors import CRSError, InputError
from qzgeo.geo.area import M2_PER_HA, MU_PER_HA, ellipsoidal_area
from qzgeo.geo.crs import STORAGE_CRS, gk_epsg

log = logging.getLogger(__name__)

#: Attribute columns of a parcel header, in file order (after 点数 and 面积).
PARCEL_FIELDS = ("地块编号", "地块名称", "图形属性", "图幅号", "地块用途", "地类编码")
#: Column holding the area declared in the file, in 公顷.
DECLARED_AREA = "申报面积_公顷"
#: Column holding the point count declared in the file.
DECLARED_POINTS = "申报点数"
#: Column holding the line number of the parcel's header.
LINE = "行号"

# Relative and absolute (公顷) tolerance between the declared and computed areas. Planar GK
# and ellipsoidal areas differ by less than 0.1 % inside a 3-degree zone.
_AREA_RTOL, _AREA_ATOL_HA = 0.005, 0.0005


@dataclass
class _Ring:
    number: int
    line: int
    coords: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class _Parcel:
    line: int
    points: int | None
    area_ha: float | None
    attrs: dict[str, str]
    rings: dict[int, _Ring] = field(default_factory=dict)
    n_rows: int = 0


def _decode(data: bytes, encoding: str | None, name: str) -> tuple[str, str]:
    """Decode with ``encoding``, else UTF-8 (with or without BOM) if it decodes, else GBK."""
    if encoding is not None:
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            msg = f"{name}: cannot decode as {encoding!r} ({exc}); try encoding='gbk' or 'utf-8'"
            raise InputError(msg) from exc
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    # UTF-8 text read as GBK decodes to mojibake without an error, GBK text read as strict
    # UTF-8 fails: so trying UTF-8 first is the safe order for a GBK-default format.
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gbk"
    except UnicodeDecodeError as exc:
        msg = f"{name}: neither GBK nor UTF-8 text ({exc}); pass encoding=... / --encoding"
        raise InputError(msg) from exc


def _number(text: str, what: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        msg = f"{where}: {what} {text!r} is not a finite number; expected '点号,圈号,X,Y'"
        raise InputError(msg)
    return value


def _parse_header(fields: list[str], lineno: int, where: str) -> _Parcel:
    """A parcel header line ``点数,面积,地块编号,地块名称,图形属性,图幅号,地块用途,地类编码,@``."""
    values = fields[:-1] + [""] * max(0, 8 - len(fields) + 1)
    points = None
    if values[0]:
        try:
            points = int(values[0])
        except ValueError:
            msg = f"{where}: 点数 {values[0]!r} is not an integer"
            raise InputError(msg) from None
    area = _number(values[1], "面积", where) if values[1] else None
    attrs = dict(zip(PARCEL_FIELDS, values[2:8], strict=True))
    if attrs["图形属性"] not in ("", "面"):
        msg = (
            f"{where}: 图形属性 {attrs['图形属性']!r} is not supported; only 面 "
            "(polygon) parcels can be read"
        )
        raise InputError(msg)
    return _Parcel(line=lineno, points=points, area_ha=area, attrs=attrs)


def _add_vertex(parcels: list[_Parcel], fields: list[str], lineno: int, where: str) -> None:
    """A vertex row ``点号,圈号,X,Y`` of the last parcel."""
    if not parcels:
        msg = f"{where}: vertex row before any parcel header line (ending in ',@')"
        raise InputError(msg)
    if len(fields) < 4:
        msg = f"{where}: expected '点号,圈号,X,Y', got {','.join(fields)[:60]!r}"
        raise InputError(msg)
    try:
        ring_no = int(fields[1])
    except ValueError:
        msg = f"{where}: 圈号 {fields[1]!r} is not an integer"
        raise InputError(msg) from None
    x = _number(fields[2], "X", where)
    y = _number(fields[3], "Y", where)
    parcel = parcels[-1]
    parcel.n_rows += 1
    parcel.rings.setdefault(ring_no, _Ring(ring_no, lineno)).coords.append((x, y))


def _parse(text: str, name: str) -> tuple[dict[str, tuple[int, str]], list[_Parcel], list[str]]:
    meta: dict[str, tuple[int, str]] = {}
    parcels: list[_Parcel] = []
    warnings: list[str] = []
    section: str | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        where = f"{name} line {lineno}"
        line = raw.strip().replace("，", ",")
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            if section not in ("属性描述", "地块坐标"):
                warnings.append(f"{where}: unknown section [{section}] ignored")
            continue
        if section is None:
            msg = f"{where}: expected a [属性描述] or [地块坐标] section header, got {line[:40]!r}"
            raise InputError(msg)
        if section == "属性描述":
            key, sep, value = line.partition("=")
            if sep:
                meta[key.strip()] = (lineno, value.strip())
        elif section == "地块坐标":
            fields = [f.strip() for f in line.split(",")]
            if fields[-1] == "@":
                parcels.append(_parse_header(fields, lineno, where))
            else:
                _add_vertex(parcels, fields, lineno, where)
    if not parcels:
        msg = f"{name}: no parcels found (no [地块坐标] header line ending in ',@')"
        raise InputError(msg)
    for p in parcels:
        if not p.rings:
            msg = (
                f"{name} line {p.line}: parcel {p.attrs['地块编号']!r} has no vertex rows "
                "('点号,圈号,X,Y') under it; add its boundary points"
            )
            raise InputError(msg)
    return meta, parcels, warnings


def _looks_northing(a: npt.NDArray[np.float64]) -> bool:
    return bool(((a >= 3e5) & (a <= 6.1e6)).all())


def _looks_easting(a: npt.NDArray[np.float64]) -> bool:
    prefixed = a >= 1e7
    zone = np.floor(a / 1e6)
    rest = a - zone * 1e6
    ok_prefixed = prefixed & (zone >= 13) & (zone <= 45) & (rest >= 1e5) & (rest <= 9e5)
    ok_plain = ~prefixed & (a >= 1e5) & (a <= 9e5)
    return bool((ok_prefixed | ok_plain).all())


def _datum(meta: dict[str, tuple[int, str]], name: str, warnings: list[str]) -> str | None:
    """'cgcs2000', 'xian80' or 'beijing54' from 坐标系; None if it is not recognised."""
    lineno, text = meta.get("坐标系", (0, ""))
    if not text:
        warnings.append(f"{name}: no 坐标系 given; assuming 2000国家大地坐标系 (CGCS2000)")
        return "cgcs2000"
    if "2000" in text:
        return "cgcs2000"
    if "西安" in text or "1980" in text or "80" in text:
        return "xian80"
    if "北京" in text or "1954" in text or "54" in text:
        return "beijing54"
    warnings.append(f"{name} line {lineno}: unknown 坐标系 {text!r}")
    return None


def _declared_zone(meta: dict[str, tuple[int, str]], name: str) -> tuple[int, int | None, int]:
    """``(line, zone, width)`` from 带号 and 几度分带 (zone None if not given)."""
    zone_line, zone_text = meta.get("带号", (0, ""))
    zone_meta: int | None = None
    if zone_text:
        try:
            zone_meta = int(float(zone_text))
        except ValueError:
            msg = f"{name} line {zone_line}: 带号 {zone_text!r} is not a zone number"
            raise InputError(msg) from None
    width_line, width_text = meta.get("几度分带", (0, "3"))
    if width_text not in ("3", "6", ""):
        msg = f"{name} line {width_line}: 几度分带 must be 3 or 6, got {width_text!r}"
        raise InputError(msg)
    return zone_line, zone_meta, 6 if width_text == "6" else 3


def _prefix_zones(easting: npt.NDArray[np.float64], name: str) -> npt.NDArray[np.float64]:
    """The zone prefix carried by the eastings (one value), or an empty array if none."""
    prefixed = easting >= 1e7
    if prefixed.any() and not prefixed.all():
        msg = f"{name}: some eastings carry a zone prefix and some do not; fix the file"
        raise InputError(msg)
    zones = np.unique(np.floor(easting / 1e6)) if prefixed.all() else np.array([])
    if len(zones) > 1:
        msg = f"{name}: eastings carry several zone prefixes {zones.astype(int).tolist()}"
        raise InputError(msg)
    return zones


def _file_crs(
    meta: dict[str, tuple[int, str]],
    easting: npt.NDArray[np.float64],
    name: str,
    warnings: list[str],
    fallback: str | CRS | None,
) -> CRS:
    zone_line, zone_meta, width = _declared_zone(meta, name)
    zones = _prefix_zones(easting, name)
    datum = _datum(meta, name, warnings)
    if datum is None:
        if fallback is not None:
            return CRS.from_user_input(fallback)
        msg = f"{name}: unknown 坐标系 {meta['坐标系'][1]!r}; pass crs=... / --crs"
        raise CRSError(msg)
    if len(zones) == 1 and zone_meta is not None and zone_meta != int(zones[0]):
        msg = (
            f"{name} line {zone_line}: 带号={zone_meta} but the eastings carry zone "
            f"prefix {int(zones[0])}; fix 带号 or pass crs=... / --crs"
        )
        raise CRSError(msg)
    try:
        if len(zones) == 1:
            return CRS.from_epsg(gk_epsg(int(zones[0]), prefix=True, width=width, datum=datum))
        if zone_meta is not None:
            return CRS.from_epsg(gk_epsg(zone_meta, prefix=False, width=width, datum=datum))
    except ValueError as exc:
        msg = f"{name}: {exc}; pass crs=... / --crs"
        raise CRSError(msg) from exc
    if fallback is not None:
        return CRS.from_user_input(fallback)
    msg = (
        f"{name}: no 带号 in [属性描述] and the eastings carry no zone prefix, so the zone is "
        "unknown; pass crs=... / --crs: the CGCS2000 3-degree GK zone of the data, "
        "EPSG:(4509 + round(central meridian / 3)) for eastings without the zone prefix"
    )
    raise CRSError(msg)


def _polygon(parcel: _Parcel, swap: bool, name: str, warnings: list[str]) -> shapely.Geometry:
    parts: list[tuple[list[tuple[float, float]], list[list[tuple[float, float]]]]] = []
    outers: list[shapely.Polygon] = []
    for ring in sorted(parcel.rings.values(), key=lambda r: r.number):
        # File X is the northing: put the easting first.
        coords = [(y, x) for x, y in ring.coords] if not swap else list(ring.coords)
        if len(set(coords)) < 3:
            msg = (
                f"{name} line {ring.line}: ring {ring.number} of parcel "
                f"{parcel.attrs['地块编号']!r} has {len(set(coords))} distinct point(s); a ring "
                "needs at least 3"
            )
            raise InputError(msg)
        if coords[0] != coords[-1]:
            coords.append(coords[0])
            warnings.append(
                f"{name} line {ring.line}: ring {ring.number} of parcel "
                f"{parcel.attrs['地块编号']!r} does not repeat its first point; closed it"
            )
        host = None
        if parts:
            pts = shapely.points(np.asarray(coords[:-1]))
            for k, outer in enumerate(outers):
                if shapely.covers(outer, pts).mean() >= 0.5:
                    host = k
                    break
        if host is None:
            if parts:
                log.info("%s: ring %d lies outside the outer ring: a new part", name, ring.number)
            parts.append((coords, []))
            outers.append(shapely.Polygon(coords))
        else:
            parts[host][1].append(coords)
    polys = [shapely.Polygon(shell, holes) for shell, holes in parts]
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)


def _area_warning(parcel: _Parcel, computed_ha: float, name: str) -> str | None:
    declared = parcel.area_ha
    if declared is None or not math.isfinite(computed_ha) or computed_ha <= 0:
        return None
    if abs(declared - computed_ha) <= max(_AREA_RTOL * computed_ha, _AREA_ATOL_HA):
        return None
    msg = (
        f"{name} line {parcel.line}: parcel {parcel.attrs['地块编号']!r} declares "
        f"{declared:g} 公顷 "
        f"but its computed ellipsoidal area is {computed_ha:.4f} 公顷"
    )
    ratio = declared / computed_ha
    if abs(ratio / MU_PER_HA - 1) < 0.02:
        msg += " (declared ≈ computed × 15: looks like 亩, 1 公顷 = 15 亩)"
    elif abs(ratio / M2_PER_HA - 1) < 0.02:
        msg += " (declared ≈ computed × 10⁴: looks like m², 1 公顷 = 10 000 m²)"
    return msg


def read_jzd(
    path: str | os.PathLike[str],
    *,
    encoding: str | None = None,
    swap_xy: bool | None = None,
    crs: str | CRS | None = None,
) -> gpd.GeoDataFrame:
    """Read a 界址点坐标 text file into one polygon per parcel.

    Parameters
    ----------
    path
        The ``.txt`` file.
    encoding
        Text encoding; default: UTF-8 if the bytes are valid UTF-8 (with or without BOM),
        else GBK (read as its superset GB18030).
    swap_xy
        ``True`` if the X column holds eastings; default: decided from the magnitudes
        (a northing is 0.3–6.1 million m in China, an easting 0.1–0.9 million m, or that plus
        zone × 10⁶ with the zone prefix), with a warning when the columns look swapped.
    crs
        CRS to use when the file does not tell: the file's own comes from 坐标系 and ``带号``
        or the zone prefix (EPSG:4524-style codes for prefixed eastings, EPSG:4545-style
        otherwise; Xian 1980 and Beijing 1954 files get their own EPSG codes).

    Returns
    -------
    GeoDataFrame with columns 地块编号, 地块名称, 图形属性, 图幅号, 地块用途, 地类编码,
    申报面积_公顷 (declared), 申报点数 (declared), 行号 (line of the parcel header). ``attrs``
    holds ``warnings`` (list of str), ``encoding`` and ``metadata`` (the [属性描述] pairs).

    Raises
    ------
    InputError
        Unreadable lines, with the file name and line number.
    CRSError
        Zone unknown (no 带号, no prefix and no ``crs``) or inconsistent.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> _ = p.write_text("[属性描述]\\n带号=36\\n[地块坐标]\\n5,1.0,A,,面,,,,@\\n"
    ...     "J1,1,2399600,36564100\\nJ2,1,2399600,36564200\\nJ3,1,2399700,36564200\\n"
    ...     "J4,1,2399700,36564100\\nJ1,1,2399600,36564100\\n", encoding="gbk")
    >>> gdf = read_jzd(p)
    >>> gdf.crs.to_epsg(), round(gdf.geometry.area.iloc[0])
    (4524, 10000)
    """
    path = Path(path)
    name = path.name
    try:
        data = path.read_bytes()
    except OSError as exc:
        msg = f"cannot read {path}: {exc.strerror or exc}"
        raise InputError(msg) from exc
    text, used = _decode(data, encoding, name)
    meta, parcels, warnings = _parse(text, name)
    warnings.extend(_point_count_warnings(parcels, name))
    all_xy = np.asarray(
        [c for p in parcels for r in p.rings.values() for c in r.coords], dtype=float
    )
    swap = _decide_swap(all_xy, swap_xy, crs, name, warnings)
    easting = all_xy[:, 0] if swap else all_xy[:, 1]
    out_crs = _file_crs(meta, easting, name, warnings, crs)
    gdf = _parcels_frame(parcels, [_polygon(p, swap, name, warnings) for p in parcels], out_crs)
    with np.errstate(all="ignore"):
        lonlat = gdf.geometry.to_crs(STORAGE_CRS)
    computed = ellipsoidal_area(lonlat.values) / M2_PER_HA
    for p, ha in zip(parcels, computed, strict=True):
        w = _area_warning(p, float(ha), name)
        if w is not None:
            warnings.append(w)
    for w in warnings:
        log.info("%s", w)
    gdf.attrs["warnings"] = warnings
    gdf.attrs["encoding"] = used
    gdf.attrs["metadata"] = {k: v for k, (_, v) in meta.items()}
    return gdf


def _point_count_warnings(parcels: list[_Parcel], name: str) -> list[str]:
    return [
        f"{name} line {p.line}: parcel {p.attrs['地块编号']!r} declares {p.points} "
        f"points but has {p.n_rows} vertex rows"
        for p in parcels
        if p.points is not None and p.points != p.n_rows
    ]


def _decide_swap(
    all_xy: npt.NDArray[np.float64],
    swap_xy: bool | None,
    crs: str | CRS | None,
    name: str,
    warnings: list[str],
) -> bool:
    """Whether the X column holds eastings: ``swap_xy`` if given, else from the magnitudes."""
    if swap_xy is not None:
        return swap_xy
    xs, ys = all_xy[:, 0], all_xy[:, 1]
    normal = _looks_northing(xs) and _looks_easting(ys)
    swapped = _looks_northing(ys) and _looks_easting(xs)
    swap = swapped and not normal
    if swap:
        warnings.append(
            f"{name}: the X column holds eastings and Y northings (swapped X/Y); "
            "read them swapped (pass swap_xy=False / --no-swap-xy to keep the file order)"
        )
    elif not normal and crs is None:
        msg = (
            f"{name}: coordinates (X {xs.min():.0f}..{xs.max():.0f}, Y {ys.min():.0f}.."
            f"{ys.max():.0f}) do not look like Gauss-Krüger northing/easting in metres; "
            "pass crs=... / --crs (and swap_xy=... / --swap-xy if X is the easting)"
        )
        raise CRSError(msg)
    return swap


def _parcels_frame(
    parcels: list[_Parcel], geoms: list[shapely.Geometry], crs: CRS
) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            **{f: [p.attrs[f] for p in parcels] for f in PARCEL_FIELDS},
            DECLARED_AREA: [p.area_ha for p in parcels],
            DECLARED_POINTS: [p.points for p in parcels],
            LINE: [p.line for p in parcels],
        },
        geometry=geoms,
        crs=crs,
    )
