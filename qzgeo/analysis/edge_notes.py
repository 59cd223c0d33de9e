"""Warnings about long lon/lat edges of the user's parcels and sites, as the pack's layers get.

An edge is only its two vertices, and each reader draws another line between them: ``analyze``
straight in the planar (Gauss-Krüger) CRS, ``check`` along the geodesic (its areas are
ellipsoidal), the maps straight in lon/lat (QGIS) or Web Mercator (Leaflet). The warning says
how far apart these lines are for the input's own edges (computed by
:func:`qzgeo.geo.edges.long_edges`), so a parcel or site drawn along a red line with 20 km
edges is not silently read on another line than the one on the map.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
from pyproj import CRS

from qzgeo.geo.crs import crs_label
from qzgeo.geo.edges import DENSIFY_STEP_DEG, LONG_EDGE_M, Edge, LongEdges, long_edges

__all__ = ["EdgeTally", "long_edge_warning", "site_edge_warnings"]


def _where(e: Edge, ids: Sequence[object]) -> str:
    return (
        f"fid {ids[e.row]}, {e.start[0]:.5f}°E {e.start[1]:.5f}°N – "
        f"{e.end[0]:.5f}°E {e.end[1]:.5f}°N"
    )


@dataclass
class EdgeTally:
    """The long edges of one input, gathered chunk by chunk: how many, and the longest edge
    and widest gaps as ``(metres, where)``; it crosses to worker processes and back."""

    count: int = 0
    longest: tuple[float, str] = (0.0, "")
    drawn: tuple[float, str] = (0.0, "")  # the map's line from the planar chord
    geodesic: tuple[float, str] = (0.0, "")  # the geodesic from the planar chord
    planar: str = ""  # the planar CRS, as reports name it

    @classmethod
    def of(cls, gdf: gpd.GeoDataFrame, planar: CRS) -> EdgeTally:
        """The long edges of ``gdf`` (none unless its CRS is geographic), fids from its index."""
        if gdf.crs is None or not CRS.from_user_input(gdf.crs).is_geographic or gdf.empty:
            return cls()
        geoms = np.asarray(gdf.geometry.values, dtype=object)
        found = long_edges(
            geoms, crs=CRS.from_user_input(gdf.crs), planar=planar, min_m=LONG_EDGE_M
        )
        return cls() if found is None else cls.from_found(found, list(gdf.index), planar)

    @classmethod
    def from_found(cls, found: LongEdges, ids: Sequence[object], planar: CRS) -> EdgeTally:
        def pair(e: Edge) -> tuple[float, str]:
            return (e.value, _where(e, ids))

        return cls(
            found.count,
            pair(found.longest),
            pair(found.worst),
            pair(found.geodesic),
            crs_label(planar),
        )

    def add(self, other: EdgeTally) -> None:
        """Fold in another chunk's tally."""
        self.count += other.count
        self.planar = self.planar or other.planar
        self.longest = max(self.longest, other.longest, key=lambda p: p[0])
        self.drawn = max(self.drawn, other.drawn, key=lambda p: p[0])
        self.geodesic = max(self.geodesic, other.geodesic, key=lambda p: p[0])

    def message(self, what: str) -> str | None:
        """The warning for ``what`` (the parcels file, a site), ``None`` without long edges."""
        if self.count == 0:
            return None
        return (
            f"{what}: {self.count} edge(s) longer than {LONG_EDGE_M / 1000:g} km in lon/lat, "
            f"the longest {self.longest[0] / 1000:.1f} km ({self.longest[1]}). analyze reads "
            f"an edge straight in {self.planar}, check as the geodesic: the two are up "
            f"to {self.geodesic[0]:.3f} m apart ({self.geodesic[1]}); the maps draw it straight "
            f"in lon/lat (Web Mercator), up to {self.drawn[0]:.2f} m from the planar line "
            f"({self.drawn[1]}), so a boundary drawn that close to such an edge on the map may "
            "lie on its other side for the analysis. Densify the input to edges of ~200 m in "
            f"lon/lat: `ogr2ogr -segmentize {DENSIFY_STEP_DEG:g} out.gpkg in.gpkg`, or "
            f"shapely.segmentize(geometry, {DENSIFY_STEP_DEG:g})"
        )


def long_edge_warning(gdf: gpd.GeoDataFrame, planar: CRS, what: str) -> str | None:
    """The long-edge warning of a lon/lat input as a whole (``None``: none, or not lon/lat)."""
    return EdgeTally.of(gdf, planar).message(what)


def site_edge_warnings(
    lonlat: np.ndarray, crs: CRS, planar: CRS, names: Sequence[str], ids: Sequence[object]
) -> list[list[str]]:
    """Per site (lon/lat polygons), the long-edge warning of :class:`EdgeTally` (or none)."""
    out: list[list[str]] = [[] for _ in range(len(lonlat))]
    found = long_edges(lonlat, crs=crs, planar=planar, min_m=LONG_EDGE_M)
    for i in found.rows if found is not None else ():
        one = long_edges(lonlat[i : i + 1], crs=crs, planar=planar, min_m=LONG_EDGE_M)
        if one is not None:
            said = EdgeTally.from_found(one, [ids[i]], planar).message(f"site {names[i]!r}")
            out[i].append(said or "")
    return out
