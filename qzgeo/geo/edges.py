"""Long edges of lon/lat geometries: where the maps and the analysis draw a different line.

An edge is only its two vertices. The web maps draw it straight in Web Mercator (Leaflet) or in
lon/lat (QGIS in a geographic project CRS), i.e. along the parallel for an east-west edge; the
analysis draws it straight in the planar (Gauss-Krüger) CRS, ≈ the geodesic. The two part by
about L²·tanφ/(8R) in the middle: 1.7 cm for 1 km at 41°N, 2.7 m for 12.5 km. A site drawn
just outside a long edge on the map is then partly inside it for the analysis.

Everything is vectorised over all the edges of a layer (a red line may hold 500 000 vertices).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS, Geod
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from qzgeo.geo.reproject import cached_transformer

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# A cheap lower bound of an edge's length (m per degree of latitude; longitude × cos φ):
# within 1 % of the geodesic for edges of a few km, so a 0.9 factor keeps every long edge.
_M_PER_DEG = 110_574.0
_PREFILTER = 0.9


@dataclass(frozen=True)
class Edge:
    """One edge: the feature (row) it belongs to, its ends (lon, lat) and a length or offset."""

    row: int
    start: tuple[float, float]
    end: tuple[float, float]
    value: float


@dataclass(frozen=True)
class LongEdges:
    """The edges of a layer longer than the threshold: how many, the longest, the worst offset.

    ``worst`` is the edge whose drawing on the maps (straight in Web Mercator or in lon/lat,
    whichever is farther) is farthest from its straight chord in the planar CRS; ``geodesic``
    the edge whose geodesic is farthest from that chord (``value`` in m); ``rows`` the rows
    with a long edge.
    """

    count: int
    longest: Edge
    worst: Edge
    geodesic: Edge
    rows: tuple[int, ...]


def _edges(geoms: npt.ArrayLike) -> tuple[FloatArray, FloatArray, IntArray]:
    """Start and end (lon, lat) of every edge of the lines and rings of ``geoms``, and its row."""
    arr = np.asarray(geoms, dtype=object)
    parts, row = shapely.get_parts(arr, return_index=True)
    # multi-parts and collections, however nested, down to points, lines, rings and polygons
    while (nested := np.isin(shapely.get_type_id(parts), (4, 5, 6, 7))).any():
        inner, at = shapely.get_parts(parts[nested], return_index=True)
        parts = np.concatenate([parts[~nested], inner])
        row = np.concatenate([row[~nested], row[nested][at]])
    kind = shapely.get_type_id(parts)
    polys = kind == 3
    rings, at = shapely.get_rings(parts[polys], return_index=True)
    lines = np.concatenate([parts[kind == 1], parts[kind == 2], rings])
    line_row = np.concatenate([row[kind == 1], row[kind == 2], row[polys][at]])
    xy, which = shapely.get_coordinates(lines, return_index=True)
    same = which[1:] == which[:-1]
    return xy[:-1][same], xy[1:][same], line_row[which[:-1][same]].astype(np.int64)


def _map_offsets_m(a: FloatArray, b: FloatArray, crs: CRS, planar: CRS) -> FloatArray:
    """How far the middle of each edge as the maps draw it lies from its planar chord (m)."""
    mid_lonlat = (a + b) / 2.0
    # Web Mercator (spherical): straight in x = lon and y = ln tan(π/4 + φ/2)
    ya, yb = (np.log(np.tan(np.pi / 4 + np.radians(p[:, 1]) / 2)) for p in (a, b))
    mid_merc = mid_lonlat.copy()
    mid_merc[:, 1] = np.degrees(2 * np.arctan(np.exp((ya + yb) / 2)) - np.pi / 2)
    t = cached_transformer(crs, planar)
    pts = np.concatenate([a, b, mid_lonlat, mid_merc])
    x, y = t.transform(pts[:, 0], pts[:, 1])
    p = np.column_stack([x, y]).reshape(4, len(a), 2)
    chord = p[1] - p[0]
    norm = np.hypot(chord[:, 0], chord[:, 1])
    norm[norm == 0] = np.inf
    off = [
        np.abs(chord[:, 0] * (m[:, 1] - p[0][:, 1]) - chord[:, 1] * (m[:, 0] - p[0][:, 0]))
        for m in p[2:]
    ]
    return np.maximum(off[0], off[1]) / norm


def _geodesic_offsets_m(
    a: FloatArray, b: FloatArray, geod: Geod, crs: CRS, planar: CRS
) -> FloatArray:
    """How far the middle of each edge's geodesic lies from its straight chord in ``planar`` (m)."""
    az, _, dist = geod.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    mlon, mlat, _ = geod.fwd(a[:, 0], a[:, 1], az, np.asarray(dist) / 2.0)
    t = cached_transformer(crs, planar)
    xa, ya = t.transform(a[:, 0], a[:, 1])
    xb, yb = t.transform(b[:, 0], b[:, 1])
    xm, ym = t.transform(mlon, mlat)
    cx, cy = np.asarray(xb) - xa, np.asarray(yb) - ya
    norm = np.hypot(cx, cy)
    norm[norm == 0] = np.inf
    return np.abs(cx * (np.asarray(ym) - ya) - cy * (np.asarray(xm) - xa)) / norm


def long_edges(geoms: npt.ArrayLike, *, crs: CRS, planar: CRS, min_m: float) -> LongEdges | None:
    """The edges of lon/lat ``geoms`` longer than ``min_m`` (geodesic), or ``None`` if none.

    Parameters
    ----------
    geoms
        Geometries in ``crs`` (lon, lat order); points and empties have no edges.
    crs
        Their geographic CRS (lengths on its ellipsoid).
    planar
        The CRS the analysis works in.
    min_m
        Shortest edge reported, in metres.

    Examples
    --------
    >>> from pyproj import CRS, Geod
    >>> from shapely import box
    >>> ll, gk = CRS.from_epsg(4490), CRS.from_epsg(4549)  # CGCS2000, GK CM 120°E
    >>> found = long_edges([box(122.05, 41.70, 122.20, 41.83)], crs=ll, planar=gk, min_m=1e3)
    >>> found.count, round(found.longest.value), round(found.worst.value, 1), found.rows
    (4, 14439, 2.7, (0,))
    >>> long_edges([box(122.05, 41.70, 122.051, 41.701)], crs=ll, planar=gk, min_m=1e3) is None
    True
    """
    arr = np.asarray(geoms, dtype=object)
    # Only geometries whose box could hold such an edge are taken apart (parcels of a few
    # hundred metres are the many): m per degree at most 111.32 km (longitude, on the
    # equator) and 111.70 km (latitude, at the poles), so the box's span is never under-read.
    lo_x, lo_y, hi_x, hi_y = shapely.bounds(arr).T
    span = np.hypot((hi_x - lo_x) * 111_320.0, (hi_y - lo_y) * 111_700.0)
    cand = np.flatnonzero(span > min_m)  # NaN (empty) is not
    if cand.size == 0:
        return None
    a, b, row = _edges(arr[cand])
    row = cand[row]
    coslat = np.cos(np.radians(np.maximum(np.abs(a[:, 1]), np.abs(b[:, 1]))))
    rough = _M_PER_DEG * np.hypot((b[:, 0] - a[:, 0]) * coslat, b[:, 1] - a[:, 1])
    keep = rough > _PREFILTER * min_m
    a, b, row = a[keep], b[keep], row[keep]
    geod = crs.get_geod() or Geod(ellps="GRS80")  # a geographic CRS has its ellipsoid
    _, _, length = geod.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    long = np.asarray(length) > min_m
    if not long.any():
        return None
    a, b, row, length = a[long], b[long], row[long], np.asarray(length)[long]
    offset = _map_offsets_m(a, b, crs, planar)
    geo_off = _geodesic_offsets_m(a, b, geod, crs, planar)

    def edge(i: int, value: float) -> Edge:
        return Edge(
            int(row[i]), (float(a[i, 0]), float(a[i, 1])), (float(b[i, 0]), float(b[i, 1])), value
        )

    i, j, k = int(np.argmax(length)), int(np.argmax(offset)), int(np.argmax(geo_off))
    return LongEdges(
        int(long.sum()),
        edge(i, float(length[i])),
        edge(j, float(offset[j])),
        edge(k, float(geo_off[k])),
        tuple(int(r) for r in np.unique(row)),
    )


def densify_rings(
    geoms: npt.NDArray[np.object_], step: float, *, keep_invalid: bool = False
) -> npt.NDArray[np.object_]:
    """``shapely.segmentize(geoms, step)`` ring by ring, without GEOS's repair of polygons.

    GEOS re-validates a segmentized polygon by ``buffer(0)``; for a valid polygon with a
    near-degenerate spike (a vertex within rounding of the edge back from the tip) GEOS 3.14
    kept a sliver of it: a 41 ha zone came out at 3e-5 m². Segmentizing the rings adds points
    on the edges only, which keeps the area to rounding. Where their rounding crosses such a
    spike (an invalid polygon, which the overlays refuse; ``make_valid`` of it kept nothing),
    the polygon is kept as it was; an invalid one gets GEOS's segmentize (valid, by buffer(0)),
    or with ``keep_invalid`` comes out densified and as invalid as it came, for the caller's
    repair to mend and report: buffer(0) kept one lobe of a bowtie site drawn in GK, silently
    (half its area, and no repair said).

    Examples
    --------
    >>> square = shapely.Polygon([(0, 0), (10, 0), (10, 10), (0, 10)], [[(2, 2), (4, 2), (4, 4)]])
    >>> out = densify_rings(np.array([square, None], dtype=object), 5.0)
    >>> float(out[0].area), int(shapely.get_num_coordinates(out[0])), out[1]
    (98.0, 13, None)
    """

    def rings(g: Polygon) -> Polygon:
        holes = [shapely.segmentize(r, step) for r in g.interiors]
        return Polygon(shapely.segmentize(g.exterior, step), holes)

    def one(g: BaseGeometry) -> BaseGeometry:
        if not isinstance(g, Polygon | MultiPolygon) or g.is_empty:
            return shapely.segmentize(g, step)
        out = MultiPolygon([rings(p) for p in g.geoms]) if isinstance(g, MultiPolygon) else rings(g)
        if out.is_valid:
            return out
        if g.is_valid:
            return g
        return out if keep_invalid else shapely.segmentize(g, step)

    out = np.empty(len(geoms), dtype=object)
    for k, g in enumerate(geoms):
        out[k] = None if g is None else one(g)
    return out


#: A lon/lat edge longer than this (m) is drawn apart by the maps and the analysis, and warned
#: about (pack layers, parcels, sites): 1.7 cm in the middle at 41°N, 0.8 cm at 22°N, growing
#: with the square of the length (2.7 m at 12.5 km).
LONG_EDGE_M = 1_000.0
#: The densifying step proposed for lon/lat outlines: ≤ 200 m in any direction, < 1 mm apart.
DENSIFY_STEP_DEG = 0.0018

#: Longest edge (m) a geometry drawn in a projected CRS keeps (:func:`drawn_edges`): the offset
#: of a lon/lat chord from it is L²·tan φ / (8R), 0.3 mm for 100 m at 54°N.
PROJECTED_EDGE_M = 100.0


def drawn_edges(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``gdf`` with a point every :data:`PROJECTED_EDGE_M` along its edges if its CRS is
    projected (GK); as it is otherwise. Call it before moving the data to lon/lat.

    An edge is only its two vertices: moved to lon/lat, a 4-vertex 城镇开发边界 drawn in GK CM
    87E became the straight line between them in lon/lat on the maps (~30 m off a 40 km edge)
    and in GK CM 90E for an analysis there (0.23 m off an 18 km one). Points added along the
    drawn edges keep the line the author drew, to < 0.3 mm, in every CRS it goes to.

    Examples
    --------
    >>> square = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1000, 1000)], crs="EPSG:4538")
    >>> int(shapely.get_num_coordinates(drawn_edges(square).geometry.iloc[0]))
    41
    """
    if gdf.crs is None or not gdf.crs.is_projected or gdf.empty:
        return gdf
    # invalid as drawn stays invalid: the caller's repair mends it and says so
    geoms = densify_rings(
        np.asarray(gdf.geometry.values, dtype=object), PROJECTED_EDGE_M, keep_invalid=True
    )
    return gdf.set_geometry(geoms, crs=gdf.crs)


_GRS80 = Geod(ellps="GRS80")


def geodesic_edges(geoms: npt.NDArray[np.object_], step_m: float) -> npt.NDArray[np.object_]:
    """Lon/lat polygons with a point every ``step_m`` or less along the geodesics between their
    vertices; a geometry with no edge longer (nearly every site) is kept as the same object.

    A polygon measured on the ellipsoid (:func:`qzgeo.geo.area.ellipsoidal_area`) has geodesic
    edges; moved to a planar CRS vertex by vertex, its edges become straight lines there, which
    part from the geodesics far from the central meridian. The points keep the planar polygon
    on the one measured.

    Examples
    --------
    >>> sq = shapely.box(117.0, 32.0, 117.01, 32.01)
    >>> out = geodesic_edges(np.array([sq, shapely.box(0, 0, 1e-4, 1e-4)], dtype=object), 500.0)
    >>> int(shapely.get_num_coordinates(out[0])), int(shapely.get_num_coordinates(out[1]))
    (11, 5)
    """

    def ring(xy: FloatArray) -> FloatArray:
        _, _, d = _GRS80.inv(xy[:-1, 0], xy[:-1, 1], xy[1:, 0], xy[1:, 1])
        pts = [xy[:1]]
        for k, n in enumerate(np.ceil(np.asarray(d) / step_m).astype(int).tolist()):
            if n > 1:
                a, b = xy[k], xy[k + 1]
                pts.append(np.asarray(_GRS80.npts(a[0], a[1], b[0], b[1], n - 1)))
            pts.append(xy[k + 1 : k + 2])
        return np.vstack(pts)

    def poly(p: Polygon) -> Polygon:
        return Polygon(
            ring(shapely.get_coordinates(p.exterior)),
            [ring(shapely.get_coordinates(h)) for h in p.interiors],
        )

    out = np.asarray(geoms, dtype=object).copy()
    # every edge at once (pairs across rings too: a safe over-estimate), then only the few
    # geometries with a long one are rebuilt
    xy, at = shapely.get_coordinates(out, return_index=True)
    _, _, d = _GRS80.inv(xy[:-1, 0], xy[:-1, 1], xy[1:, 0], xy[1:, 1])
    long = (np.asarray(d) > step_m) & (at[:-1] == at[1:])
    for k in np.unique(at[:-1][long]).tolist():
        g = out[k]
        if isinstance(g, Polygon | MultiPolygon) and not g.is_empty:
            out[k] = poly(g) if isinstance(g, Polygon) else MultiPolygon([poly(p) for p in g.geoms])
    return out
