"""The land two parcels share, measured as the parcels themselves are measured."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyproj
import shapely

from qzgeo.geo.area import ellipsoidal_area
from qzgeo.geo.crs import STORAGE_CRS, cached_transformer
from qzgeo.geo.edges import PROJECTED_EDGE_M, densify_rings
from qzgeo.geo.overlay_retry import retry_on_grid

__all__ = ["SLIVER_M2", "shared_m2", "sliver_area"]

#: Land shared by two parcels under this (m²) is a rounding sliver, not followed further:
#: a vertex computed on a neighbour's edge lies ~1e-9 m off it (~1e-8 m² along 10 m).
SLIVER_M2 = 1e-6


def sliver_area(crs: Any) -> float:
    """:data:`SLIVER_M2` in the units² of ``crs`` (a degree² taken at the equator, where it
    is largest: the smallest threshold, so nothing more is left out)."""
    crs = pyproj.CRS.from_user_input(crs)
    if crs.is_geographic:
        return SLIVER_M2 / (6_378_137.0 * np.pi / 180.0) ** 2
    metres = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
    return SLIVER_M2 / metres**2


def shared_m2(
    a: npt.NDArray[np.object_], b: npt.NDArray[np.object_], crs: Any, *, planar: Any = None
) -> npt.NDArray[np.float64]:
    """The ellipsoidal area (m², CGCS2000) that polygons ``a`` and ``b`` share, pair by pair:
    along their edges straight in ``crs`` when it is projected, else in ``planar`` when given
    (lon/lat parcels, whose area_m2 the overlay measures in its planar CRS)."""
    if not len(a):
        return np.zeros(0)
    crs = pyproj.CRS.from_user_input(crs)
    if crs.is_geographic and planar is not None:
        planar = pyproj.CRS.from_user_input(planar)
        to_p = cached_transformer(crs.to_wkt(), planar.to_wkt())
        a, b = (
            shapely.transform(
                np.asarray(g, dtype=object), lambda xy: np.column_stack(to_p.transform(*xy.T))
            )
            for g in (a, b)
        )
        return shared_m2(a, b, planar)
    try:
        cut = shapely.intersection(a, b)
    except shapely.errors.GEOSException:  # near-coincident edges: the 1 mm retry, pair by pair
        grid = 1e-8 if crs.is_geographic else 1e-3
        pairs = zip(a, b, strict=True)
        cut = np.array(
            [retry_on_grid(shapely.intersection, p, q, grid_size=grid)[0] for p, q in pairs],
            dtype=object,
        )
    if not crs.is_geographic:
        # edges straight in the parcels' plane, as their own area_m2 is measured: a duplicated
        # 10 km parcel shared 20.5 m² more than its area measured between its vertices alone
        metres = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
        cut = densify_rings(np.asarray(cut, dtype=object), PROJECTED_EDGE_M / metres)
        to_ll = cached_transformer(crs.to_wkt(), STORAGE_CRS)
        cut = shapely.transform(cut, lambda xy: np.column_stack(to_ll.transform(*xy.T)))
    return np.asarray(ellipsoidal_area(cut), dtype=np.float64)
