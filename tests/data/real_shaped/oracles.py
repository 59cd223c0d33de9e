"""Independent area oracles: they share no code with qzgeo.

- :func:`polygon_m2`: GeographicLib (through ``pyproj.Geod.polygon_area_perimeter``) on
  explicitly oriented rings: the shell counter-clockwise and positive, every hole measured on
  its own and subtracted by its absolute value, whatever the winding in the file.
- :func:`lonlat_rect_m2`: the closed-form area of a lon/lat rectangle on the GRS80 ellipsoid
  (authalic-latitude formula), for hand-made squares.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
from pyproj import Geod, Transformer

GRS80_A = 6378137.0
GRS80_F = 1 / 298.257222101
GEOD = Geod(a=GRS80_A, f=GRS80_F)


def ring_m2(ring: Sequence[tuple[float, float]]) -> float:
    """Unsigned geodesic area (m²) of an open or closed lon/lat ring."""
    xy = np.asarray(ring, dtype=float)
    if np.array_equal(xy[0], xy[-1]):
        xy = xy[:-1]
    area, _ = GEOD.polygon_area_perimeter(xy[:, 0], xy[:, 1])
    return abs(float(area))


def polygon_m2(
    shell: Sequence[tuple[float, float]], holes: Sequence[Sequence[tuple]] = ()
) -> float:
    """Shell minus holes, each ring measured unsigned (lon/lat)."""
    return ring_m2(shell) - sum(ring_m2(h) for h in holes)


def projected_polygon_m2(
    shell: Sequence[tuple[float, float]],
    holes: Sequence[Sequence[tuple[float, float]]] = (),
    *,
    crs: str,
) -> float:
    """:func:`polygon_m2` of rings drawn in a projected ``crs``: the polygon whose edges are
    straight in that CRS (as drawn: a 界址点 file, a CAD export), each edge cut into steps of at
    most 10 m there before the points move to EPSG:4490 (a 10 km edge's geodesic between its
    ends is up to ~0.2 m off the drawn line at 1.4° from the central meridian)."""
    t = Transformer.from_crs(crs, "EPSG:4490", always_xy=True)

    def ll(r: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
        xy = _straight(np.asarray(r, dtype=float), 10.0)
        lon, lat = t.transform(xy[:, 0], xy[:, 1])
        return list(zip(np.asarray(lon).tolist(), np.asarray(lat).tolist(), strict=True))

    return polygon_m2(ll(shell), [ll(h) for h in holes])


def _straight(xy: np.ndarray, step: float) -> np.ndarray:
    """The closed ring ``xy`` with points every ``step`` or less along each edge."""
    if not np.array_equal(xy[0], xy[-1]):
        xy = np.vstack([xy, xy[:1]])
    out = [xy[:1]]
    for a, b in itertools.pairwise(xy):
        n = max(1, math.ceil(float(np.hypot(*(b - a))) / step))
        f = np.arange(1, n + 1)[:, None] / n
        out.append(a + (b - a) * f)
    return np.vstack(out)


def _q(phi: float) -> float:
    e = math.sqrt(GRS80_F * (2 - GRS80_F))
    s = math.sin(phi)
    return (1 - e * e) * (s / (1 - (e * s) ** 2) - math.log((1 - e * s) / (1 + e * s)) / (2 * e))


def lonlat_rect_m2(lon0: float, lat0: float, lon1: float, lat1: float) -> float:
    """Closed-form ellipsoidal area of the region between two meridians and two parallels."""
    b2 = (GRS80_A**2) / 2
    return (
        abs(math.radians(lon1 - lon0)) * b2 * abs(_q(math.radians(lat1)) - _q(math.radians(lat0)))
    )


def densified_lonlat_rect(
    lon0: float, lat0: float, lon1: float, lat1: float, n: int = 400
) -> list[tuple[float, float]]:
    """The rectangle as an open CCW ring with ``n`` vertices along each parallel.

    Meridians are geodesics; the parallels are followed closely enough that the geodesic
    polygon's area equals :func:`lonlat_rect_m2` to ~1e-9 relative.
    """
    lons = np.linspace(lon0, lon1, n + 1)
    south = [(float(x), lat0) for x in lons]
    north = [(float(x), lat1) for x in lons[::-1]]
    return south + north
