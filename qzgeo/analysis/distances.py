"""Distances a site report measures, as the pack declares them (``[[distances]]``).

Each target is one pack layer with its labels (Chinese and English). A site's distance to it is
geodesic, in metres, between the nearest points found in the planar GK CRS (0 if the site
crosses or contains a feature). Lines are split into straight segments and polygons measured to
their outlines, so the STRtree's nearest query stays exact and fast on long features.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS, Transformer

from qzgeo.analysis.site_results import SiteDistance
from qzgeo.geo.area import GEOD
from qzgeo.geo.crs import STORAGE_CRS
from qzgeo.geo.reproject import cached_transformer
from qzgeo.pack.model import DistanceSpec

ObjArray = npt.NDArray[np.object_]


@dataclass
class DistanceTarget:
    """One layer to measure distances to: its pieces (planar segments and points), indexed."""

    layer: str
    label: str
    label_en: str
    pieces: ObjArray | None  # None: the layer has no geometry to measure to
    polygons: ObjArray | None = None  # a site touching one of these is at distance 0
    _tree: shapely.STRtree | None = field(init=False, repr=False, default=None)

    def __post_init__(self) -> None:
        if self.pieces is not None and self.pieces.size:
            self._tree = shapely.STRtree(self.pieces)


def pieces_of(geoms: npt.ArrayLike) -> ObjArray | None:
    """Straight segments of every line and polygon outline of ``geoms``, plus every point.

    Polygons count from their outline; a site inside one is at 0 because the nearest-piece
    distance is then replaced by 0 in :func:`measure` (the site intersects the polygon).
    """
    parts = shapely.get_parts(np.asarray(geoms, dtype=object))
    parts = parts[~shapely.is_empty(parts)]
    kind = shapely.get_type_id(parts)
    points = parts[kind == 0]
    lines = np.concatenate(
        [parts[np.isin(kind, (1, 2))], shapely.get_parts(shapely.boundary(parts[kind == 3]))]
    )
    out = [np.asarray(points, dtype=object)]
    if lines.size:
        coords, idx = shapely.get_coordinates(lines, return_index=True)
        same = idx[1:] == idx[:-1]
        starts, ends = coords[:-1][same], coords[1:][same]
        if starts.size:
            out.append(np.asarray(shapely.linestrings(np.stack([starts, ends], axis=1))))
    pieces = np.concatenate(out).astype(object)
    return pieces if pieces.size else None


def build_targets(
    specs: Sequence[DistanceSpec],
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    planar_crs: CRS,
) -> tuple[list[DistanceTarget], list[str]]:
    """One target per ``[[distances]]`` entry, and a warning for each with nothing to measure."""
    targets, warnings = [], []
    for spec in specs:
        gdf = layers.get(spec.layer)
        geoms = None if gdf is None or gdf.empty else gdf.to_crs(planar_crs).geometry.values
        pieces = None if geoms is None else pieces_of(geoms)
        polys = None if geoms is None else geoms[np.isin(shapely.get_type_id(geoms), (3, 6))]
        if pieces is None:
            warnings.append(
                f"layer {spec.layer!r} ({spec.label}) has no geometry; its distance is null"
            )
        targets.append(DistanceTarget(spec.layer, spec.label, spec.label_en, pieces, polys))
    return targets, warnings


def measure(
    targets: Sequence[DistanceTarget], planar: ObjArray, *, planar_crs: CRS
) -> list[list[SiteDistance]]:
    """Per site (rows of ``planar``), its distance to each target, in the targets' order."""
    to_lonlat = cached_transformer(planar_crs, STORAGE_CRS)
    out: list[list[SiteDistance]] = [[] for _ in range(planar.size)]
    for t in targets:
        dist = _geodesic(t, planar, to_lonlat)
        for i in range(planar.size):
            m = None if dist is None else float(dist[i])
            out[i].append(SiteDistance(t.layer, t.label, t.label_en, m))
    return out


def _geodesic(
    t: DistanceTarget, planar: ObjArray, to_lonlat: Transformer
) -> npt.NDArray[np.float64] | None:
    if t._tree is None or t.pieces is None:
        return None
    s, j = t._tree.query_nearest(planar, all_matches=False)
    lines = shapely.shortest_line(planar[s], t.pieces[j])
    xy = shapely.get_coordinates(lines).reshape(-1, 2, 2)
    lon0, lat0 = to_lonlat.transform(xy[:, 0, 0], xy[:, 0, 1])
    lon1, lat1 = to_lonlat.transform(xy[:, 1, 0], xy[:, 1, 1])
    _, _, dist = GEOD.inv(lon0, lat0, lon1, lat1)
    out = np.zeros(planar.size)
    out[s] = np.asarray(dist, dtype=float)
    if t.polygons is not None and t.polygons.size:
        inside = shapely.STRtree(t.polygons).query(planar, predicate="intersects")[0]
        out[np.unique(inside)] = 0.0
    return out
