"""The area a pack vouches for: its lon/lat extent box, or the polygons of a layer within it.

A pack's ``[pack] extent`` is a box, often far larger than the land its layers describe: a
box around a city takes in its neighbours and the sea. ``[pack] coverage_layer`` names a
polygon layer (the districts, 行政区) whose union, cut to the box, is the area the pack holds
data for: a :class:`Coverage`. Outside it, parcels and sites get 未核查 (unchecked), never a
verdict the pack has no data for. Without a coverage layer the box is the coverage, as before.

A coverage travels as lon/lat WKB (it pickles small and hashes once per process) and is
projected once per planar CRS by :func:`coverage_in`.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS

from qzgeo.geo.crs import STORAGE_CRS
from qzgeo.geo.edges import densify_rings
from qzgeo.geo.extent import format_extent
from qzgeo.geo.reproject import cached_transformer

__all__ = [
    "DENSIFY_DEG",
    "EDGE_TOLERANCE_M2",
    "SNAP_DEG",
    "CheckedArea",
    "Coverage",
    "Extent",
    "as_coverage",
    "coverage_in",
    "remember_coverage_in",
]

Extent = tuple[float, float, float, float]

#: Grid (degrees, ~0.1 mm) the polygons of a coverage layer are snapped to when merged. Shared
#: edges of adjacent districts differ by nanometres after a datum or GCJ-02 conversion; their
#: plain union keeps dozens of hairline gaps as holes, and a parcel across a district border
#: would reach "outside" the coverage by 1e-10 m².
SNAP_DEG = 1e-9

#: Step (degrees, ~10 m) of the points put on a coverage's edges before it is projected: its
#: edges are straight in lon/lat, and the chord of a projected 10 m edge departs from the
#: projected curve by micrometres (a 400 m edge along a parallel at 42°N: ~3 mm, 0.8 m²).
DENSIFY_DEG = 1e-4

#: A part outside a coverage smaller than this (m², the overlay's conflict tolerance) is no
#: part: a parcel drawn along a district line meets the coverage's edge to the micrometre,
#: and its "part outside" is a sliver of 1e-9 m².
EDGE_TOLERANCE_M2 = 0.01


@dataclass(frozen=True)
class Coverage:
    """The area a pack vouches for (lon/lat, CGCS2000).

    ``wkb`` is the union of the coverage layer's polygons cut to ``extent`` (``None``: the
    whole ``extent`` box, a pack without ``coverage_layer``); ``layer`` names that layer.

    Examples
    --------
    >>> Coverage((117.0, 31.0, 118.0, 32.0)).describe()
    'the pack extent [117.0, 31.0, 118.0, 32.0]'
    >>> land = [shapely.box(117.5, 31.5, 118.5, 31.6)]  # reaches past the east edge
    >>> cov = Coverage.of_polygons(land, (117.0, 31.0, 118.0, 32.0), layer="districts")
    >>> cov.lonlat().bounds
    (117.5, 31.5, 118.0, 31.6)
    >>> cov.describe()[:45]
    "the pack coverage (layer 'districts' within t"
    """

    extent: Extent
    wkb: bytes | None = None
    layer: str | None = None

    @property
    def is_box(self) -> bool:
        """True without a coverage layer: the extent box is the coverage."""
        return self.wkb is None

    def lonlat(self) -> Any:
        """The coverage as a lon/lat (multi)polygon (shared: never prepare it in place)."""
        if self.wkb is None:
            return shapely.box(*self.extent)
        return _from_wkb(self.wkb)

    def describe(self) -> str:
        """How messages name it: ``the pack extent [...]`` or ``the pack coverage (...)``."""
        if self.wkb is None:
            return f"the pack extent {format_extent(self.extent)}"
        return (
            f"the pack coverage (layer {self.layer!r} within the extent "
            f"{format_extent(self.extent)})"
        )

    @classmethod
    def of_polygons(
        cls, geoms: Sequence[Any] | npt.NDArray[np.object_], extent: Extent, *, layer: str
    ) -> Coverage:
        """The union of lon/lat ``geoms`` (their polygons; snapped, see :data:`SNAP_DEG`) cut
        to the ``extent`` box: the cut runs along meridians and parallels, as the box's edges."""
        arr = np.asarray(geoms, dtype=object)
        parts = shapely.get_parts(arr[~(shapely.is_missing(arr) | shapely.is_empty(arr))])
        parts = parts[np.isin(shapely.get_type_id(parts), (3, 6))]
        merged = shapely.union_all(shapely.make_valid(parts), grid_size=SNAP_DEG)
        cut = shapely.intersection(merged, shapely.box(*extent), grid_size=SNAP_DEG)
        return cls(extent=extent, wkb=shapely.to_wkb(_polygons(cut)), layer=layer)


#: The area checked as the stages pass it on: the extent box as a tuple (as before the
#: coverage layer), or a :class:`Coverage`.
CheckedArea = Extent | Coverage


def as_coverage(area: CheckedArea | None) -> Coverage | None:
    """``area`` as a :class:`Coverage` (an extent tuple becomes its box).

    Examples
    --------
    >>> as_coverage((117.0, 31.0, 118.0, 32.0)).is_box, as_coverage(None)
    (True, None)
    """
    if area is None or isinstance(area, Coverage):
        return area
    return Coverage(tuple(float(v) for v in area))  # type: ignore[arg-type]


@functools.lru_cache(maxsize=8)
def _from_wkb(wkb: bytes) -> Any:
    return shapely.from_wkb(wkb)


#: Projected coverages, per CRS (WKT) and coverage: built once per process, or remembered from
#: qzgeo's cache (:func:`remember_coverage_in`). A few entries: one pack, a CRS or two.
_PROJECTED: dict[tuple[str, Coverage], Any] = {}
_KEEP_PROJECTED = 16
_PROJECTED_LOCK = threading.Lock()


def coverage_in(crs_wkt: str, coverage: Coverage) -> Any:
    """A coverage layer's polygon in the CRS ``crs_wkt``, edges densified in lon/lat first.

    Built once per CRS and coverage (shared: copy it before preparing it, as GEOS prepared
    geometries are not thread-safe). A polygon the projection made invalid (two rings a
    hair apart) is repaired. In lon/lat itself (sites, once read) it is the coverage as it is:
    its edges are straight there.
    """
    if coverage.wkb is None:
        msg = "coverage_in is for a coverage layer; the extent box is projected by extent_polygon"
        raise ValueError(msg)
    got = _PROJECTED.get((crs_wkt, coverage))
    if got is not None:
        return got
    if crs_wkt == _storage_wkt():
        out = coverage.lonlat()
    else:
        # Ring by ring: GEOS's segmentize of a polygon re-validates it by buffer(0), which kept
        # a sliver of a valid polygon with a near-degenerate spike (geo.edges.densify_rings).
        shape = densify_rings(np.array([coverage.lonlat()], dtype=object), DENSIFY_DEG)[0]
        t = cached_transformer(STORAGE_CRS, crs_wkt)
        out = shapely.transform(shape, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))
        out = out if shapely.is_valid(out) else _polygons(shapely.make_valid(out))
    remember_coverage_in(crs_wkt, coverage, out)
    return out


def remember_coverage_in(crs_wkt: str, coverage: Coverage, shape: Any) -> None:
    """Take ``shape`` as :func:`coverage_in` ``(crs_wkt, coverage)`` from now on in this process
    (a projection kept in qzgeo's cache, :mod:`qzgeo.analysis.siting_cache`)."""
    with _PROJECTED_LOCK:  # overlay threads project coverages too
        if len(_PROJECTED) >= _KEEP_PROJECTED:
            _PROJECTED.pop(next(iter(_PROJECTED)))
        _PROJECTED[(crs_wkt, coverage)] = shape


@functools.lru_cache(maxsize=1)
def _storage_wkt() -> str:
    return str(CRS.from_user_input(STORAGE_CRS).to_wkt())


def _polygons(geom: Any) -> Any:
    """The polygons of ``geom`` as one Polygon or MultiPolygon (empty if it has none)."""
    polys = shapely.get_parts(shapely.get_parts(geom))
    polys = polys[shapely.get_type_id(polys) == 3]
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(list(polys))
