"""The 面积 a 界址点 file declares for a parcel, read with its rounding and checked against
the parcel's areas: a mismatch is a warning with the parcel's line."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely

from qzgeo.geo.area import M2_PER_HA, MU_PER_HA, ellipsoidal_area
from qzgeo.geo.crs import STORAGE_CRS
from qzgeo.geo.edges import drawn_edges
from qzgeo.notices import Notices

# A declared 面积 is the planar area in the file's Gauss-Krüger plane (CASS, 勘测定界) or the
# ellipsoidal one (国土调查, qzgeo's own files): it matches when it is either of them to half a
# unit of its last written digit (5.7089 公顷: 0.5 m²) plus this share of the area (the ways of
# measuring an ellipsoidal area part by ~1e-7). The two differ by up to 0.06 % at the edge
# of a 3-degree zone and 0.25 % of a 6-degree one, so neither alone, nor a tolerance wide
# enough for both (0.5 %: 250 m² of a 5 公顷 parcel), checks the file.
_AREA_RTOL = 1e-5
#: The most a declared 面积's rounding is taken to cover: 0.5 % of the area or 5 m², the
#: tolerance before the rounding was read (a 面积 of 45 公顷 is not taken to ±0.5 公顷).
_AREA_CAP, _AREA_CAP_HA = 0.005, 0.0005

#: Units a 面积 may carry, as 公顷 per unit (no unit: 公顷).
AREA_UNITS = {
    "公顷": 1.0,
    "ha": 1.0,
    "平方米": 1 / M2_PER_HA,
    "m²": 1 / M2_PER_HA,
    "m2": 1 / M2_PER_HA,
    "亩": 1 / MU_PER_HA,
}

#: A parcel's declared 面积 (公顷, or None), its rounding (公顷), its header line and 地块编号.
Declared = tuple[float | None, float, int, str]


def half_unit_ha(text: str) -> float:
    """Half a unit of the last digit of the 面积 ``text``, in 公顷: its rounding."""
    unit = next((u for u in AREA_UNITS if text.endswith(u)), "")
    factor = AREA_UNITS.get(unit, 1.0)
    number = text[: len(text) - len(unit)].strip().lower()
    mantissa, _, exponent = number.partition("e")
    decimals = len(mantissa.partition(".")[2])
    try:
        power = int(exponent) if exponent else 0
    except ValueError:
        power = 0
    return 0.5 * 10.0 ** (power - decimals) * factor


def area_notices(
    gdf: gpd.GeoDataFrame, declared: list[Declared], name: str, notes: Notices
) -> None:
    """Add a warning to ``notes`` for each parcel of ``gdf`` whose declared 面积 is neither
    its ellipsoidal area nor its planar one (in ``gdf``'s CRS) to the declaration's rounding."""
    with np.errstate(all="ignore"):  # the edges straight in the file's plane, as check reads
        lonlat = drawn_edges(gdf).geometry.to_crs(STORAGE_CRS)
    computed = ellipsoidal_area(lonlat.values) / M2_PER_HA
    planar = _planar_ha(gdf)
    for i, (d, ha) in enumerate(zip(declared, computed, strict=True)):
        w = _area_warning(d, float(ha), None if planar is None else float(planar[i]), name)
        if w is not None:
            notes.add(w, source=name, feature=i, line=d[2])


def _area_warning(
    parcel: Declared, computed_ha: float, planar_ha: float | None, name: str
) -> str | None:
    declared, step, line, code = parcel
    if declared is None or not math.isfinite(computed_ha) or computed_ha <= 0:
        return None
    cap = max(_AREA_CAP * computed_ha, _AREA_CAP_HA)
    tolerance = min(step, cap) + _AREA_RTOL * computed_ha
    if any(v is not None and abs(declared - v) <= tolerance for v in (computed_ha, planar_ha)):
        return None
    msg = (
        f"{name} line {line}: parcel {code!r} declares "
        f"{declared:g} 公顷 "
        f"but its computed ellipsoidal area is {computed_ha:.4f} 公顷"
    )
    if planar_ha is not None:
        msg += f" (planar, in the file's Gauss-Krüger plane: {planar_ha:.4f} 公顷)"
    ratio = declared / computed_ha
    if abs(ratio / MU_PER_HA - 1) < 0.02:
        return msg + " (declared ≈ computed × 15: looks like 亩, 1 公顷 = 15 亩)"
    if abs(ratio / M2_PER_HA - 1) < 0.02:
        return msg + " (declared ≈ computed × 10⁴: looks like m², 1 公顷 = 10 000 m²)"
    return msg + "; check its vertex rows (a point missing or mistyped) and its 面积"


def _planar_ha(gdf: gpd.GeoDataFrame) -> npt.NDArray[np.float64] | None:
    """The parcels' areas in their own plane, in 公顷 (``None`` unless it is in metres)."""
    crs = gdf.crs
    if crs is None or not crs.is_projected:
        return None
    unit = crs.axis_info[0].unit_conversion_factor if crs.axis_info else None
    if unit != 1.0:
        return None
    return np.asarray(shapely.area(gdf.geometry.values), dtype=float) / M2_PER_HA
