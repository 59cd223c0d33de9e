"""The CRS of a 界址点坐标 file: 坐标系, 几度分带, 带号 (or 中央子午线) and the eastings' zone
prefix; swapped X/Y.

Split from :mod:`qzgeo.io.jzd_read`, which parses the text.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from pyproj import CRS

from qzgeo._errors import CRSError, InputError
from qzgeo.geo.crs import gk_epsg
from qzgeo.notices import Notices

__all__ = ["FULLWIDTH", "decide_swap", "file_crs"]

#: Full-width ASCII forms (digits, ．, －, letters) as ASCII (str.translate), for numbers, keys
#: and the datum a 坐标系 names, typed with a Chinese input method; never applied to names,
#: whose （）stay as written.
FULLWIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}


def _looks_northing(a: npt.NDArray[np.float64]) -> bool:
    return bool(((a >= 3e5) & (a <= 6.1e6)).all())


def _looks_easting(a: npt.NDArray[np.float64]) -> bool:
    prefixed = a >= 1e7
    zone = np.floor(a / 1e6)
    rest = a - zone * 1e6
    ok_prefixed = prefixed & (zone >= 13) & (zone <= 45) & (rest >= 1e5) & (rest <= 9e5)
    ok_plain = ~prefixed & (a >= 1e5) & (a <= 9e5)
    return bool((ok_prefixed | ok_plain).all())


#: Words of a 坐标系 that name a city or project system (城市坐标系, 独立坐标系...): its own
#: central meridian, projection height or origin. "锦州2000城市坐标系" holds "2000" but is not
#: CGCS2000 Gauss-Krüger; read as such its parcels move by kilometres, often still inside
#: the plan, so such a file needs --crs.
_LOCAL_SYSTEM_WORDS = ("独立", "城市", "地方", "城建", "工程", "假定", "任意", "自定义")


def _datum(meta: dict[str, tuple[int, str]], name: str, notes: Notices) -> str | None:
    """'cgcs2000', 'xian80' or 'beijing54' from 坐标系; None if it is not recognised."""
    lineno, written = meta.get("坐标系", (0, ""))
    text = written.translate(FULLWIDTH)  # ２０００ is 2000; messages quote it as written
    if not text:
        notes.add(f"{name}: no 坐标系 given; assuming 2000国家大地坐标系 (CGCS2000)", source=name)
        return "cgcs2000"
    if any(word in text for word in _LOCAL_SYSTEM_WORDS):
        return None  # the caller asks for --crs, or uses the one given
    if "2000" in text:
        return "cgcs2000"
    if "西安" in text or "1980" in text or "80" in text:
        return "xian80"
    if "北京" in text or "1954" in text or "54" in text:
        return "beijing54"
    notes.add(f"{name} line {lineno}: unknown 坐标系 {written!r}", source=name, line=lineno)
    return None


def _declared_zone(meta: dict[str, tuple[int, str]], name: str) -> tuple[int, int | None, int]:
    """``(line, zone, width)`` from 带号 and 几度分带 (zone None if not given)."""
    zone_line, zone_text = meta.get("带号", (0, ""))
    zone_meta: int | None = None
    if zone_text:
        try:
            value = float(zone_text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value.is_integer() and 1 <= value <= 120):
            msg = (
                f"{name} line {zone_line}: 带号 {zone_text!r} is not a zone number (a whole "
                "number, 1..120: e.g. 39 for a 3-degree zone on 117E); fix the file's 带号 line"
            )
            raise InputError(msg) from None
        zone_meta = int(value)
    width_line, width_text = meta.get("几度分带", (0, "3"))
    width_text = width_text.removesuffix("度").strip()
    if width_text not in ("3", "6", ""):
        msg = f"{name} line {width_line}: 几度分带 must be 3 or 6, got {width_text!r}"
        raise InputError(msg)
    width = 6 if width_text == "6" else 3
    cm_line, cm_zone = _meridian_zone(meta, name, width)
    if cm_zone is not None and zone_meta is not None and cm_zone != zone_meta:
        msg = (
            f"{name} lines {zone_line} and {cm_line}: 带号={zone_meta} but 中央子午线 "
            f"{meta['中央子午线'][1]!r} is zone {cm_zone} of {width}-degree zones; fix one of them"
        )
        raise CRSError(msg)
    if zone_meta is None and cm_zone is not None:
        return cm_line, cm_zone, width
    return zone_line, zone_meta, width


def _meridian_zone(
    meta: dict[str, tuple[int, str]], name: str, width: int
) -> tuple[int, int | None]:
    """``(line, zone)`` from a 中央子午线 line (``117``, ``117°``, ``E117度``), which some
    producers write in [属性描述] instead of, or beside, the standard's 带号."""
    line, text = meta.get("中央子午线", (0, ""))
    if not text:
        return line, None
    digits = text.strip().upper().removeprefix("E").removesuffix("度").removesuffix("°")
    try:
        lon = float(digits.removesuffix("E").strip())
    except ValueError:
        lon = math.nan
    zone = lon / 3 if width == 3 else (lon + 3) / 6
    if not (math.isfinite(zone) and zone.is_integer() and 1 <= zone <= 120):
        msg = (
            f"{name} line {line}: 中央子午线 {text!r} is not the central meridian of a "
            f"{width}-degree Gauss-Krüger zone (e.g. 117 for zone 39 of 3-degree zones, 117 "
            "or 123 for zones 20 or 21 of 6-degree ones); fix the line or its 几度分带"
        )
        raise InputError(msg)
    return line, int(zone)


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


#: Zone numbers of 6-degree Gauss-Krüger zones over China (3-degree ones are 25..45).
_GK6_ZONES = range(13, 24)


def _zone_width(
    meta: dict[str, tuple[int, str]], zone: int | None, width: int, name: str, notes: Notices
) -> int:
    """The zone width: 几度分带, else 6 for a zone number only 6-degree zones over China have
    (13..23: 3-degree zone 19 would lie at 57E), with a note; else 3.

    Files without 几度分带 were refused ("3-degree GK zone must be in 25..45, got 19").
    """
    line, given = meta.get("几度分带", (0, ""))
    if given.strip() or zone not in _GK6_ZONES:
        if width == 3 and zone in _GK6_ZONES:
            msg = (
                f"{name} line {line}: 几度分带=3 but zone {zone} is a 6-degree zone number "
                "(3-degree zones over China are 25..45); fix 几度分带 (6) or 带号, or pass "
                "crs=... / --crs"
            )
            raise CRSError(msg)
        return width
    notes.add(
        f"{name}: no 几度分带 in [属性描述]; zone {zone} is a 6-degree zone number (3-degree "
        "zones over China are 25..45): read as a 6-degree zone (add 几度分带=6 to say so)",
        source=name,
    )
    return 6


def file_crs(
    meta: dict[str, tuple[int, str]],
    easting: npt.NDArray[np.float64],
    name: str,
    notes: Notices,
    fallback: str | CRS | None,
) -> CRS:
    zone_line, zone_meta, width = _declared_zone(meta, name)
    zones = _prefix_zones(easting, name)
    zone = int(zones[0]) if len(zones) == 1 else zone_meta
    width = _zone_width(meta, zone, width, name, notes)
    datum = _datum(meta, name, notes)
    if datum is None:
        if fallback is not None:
            return CRS.from_user_input(fallback)
        text = meta["坐标系"][1]
        msg = f"{name}: unknown 坐标系 {text!r}; pass crs=... / --crs"
        if any(word in text for word in _LOCAL_SYSTEM_WORDS):
            msg = (
                f"{name}: 坐标系 {text!r} is a city or local system, not a CGCS2000 / Xian 1980 /"
                " Beijing 1954 Gauss-Krüger zone, so 带号 and the eastings do not give its CRS; "
                "pass it with --crs (crs=...), e.g. its PROJ string '+proj=tmerc +lon_0=... "
                "+k=... +x_0=... +y_0=... +ellps=GRS80', or convert the file to CGCS2000 first"
            )
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
        f"{name}: no 带号 or 中央子午线 in [属性描述] and the eastings carry no zone prefix, so "
        "the zone is "
        "unknown; pass crs=... / --crs: the CGCS2000 3-degree GK zone of the data, "
        "EPSG:(4509 + round(central meridian / 3)) for eastings without the zone prefix"
    )
    raise CRSError(msg)


def decide_swap(
    all_xy: npt.NDArray[np.float64],
    swap_xy: bool | None,
    crs: str | CRS | None,
    name: str,
    notes: Notices,
) -> bool:
    """Whether the X column holds eastings: ``swap_xy`` if given, else from the magnitudes."""
    if swap_xy is not None:
        return swap_xy
    xs, ys = all_xy[:, 0], all_xy[:, 1]
    normal = _looks_northing(xs) and _looks_easting(ys)
    swapped = _looks_northing(ys) and _looks_easting(xs)
    swap = swapped and not normal
    if swap:
        notes.add(
            f"{name}: the X column holds eastings and Y northings (swapped X/Y); "
            "read them swapped (pass swap_xy=False / --no-swap-xy to keep the file order)",
            source=name,
        )
    elif not normal and crs is None:
        msg = (
            f"{name}: coordinates (X {xs.min():.0f}..{xs.max():.0f}, Y {ys.min():.0f}.."
            f"{ys.max():.0f}) do not look like Gauss-Krüger northing/easting in metres; "
            "pass crs=... / --crs (and swap_xy=... / --swap-xy if X is the easting)"
        )
        raise CRSError(msg)
    return swap
