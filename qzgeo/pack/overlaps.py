"""Zones of one layer that overlap: a warning, since every zone's row counts the shared land.

Zones of *different* layers overlap by design (a 片区 range holds its 三区 and 六区); zones of
one layer are meant to tile, and a digitising slip that makes two of them overlap would
otherwise pass unnoticed: ``zone_summary`` counts the shared land in both rows while the
headline total (the area of the union) counts it once.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from qzgeo.geo.area import ellipsoidal_area
from qzgeo.geo.edges import densify_rings
from qzgeo.pack.model import LayerSpec, Pack

#: Shared land under this many m² is a sliver where outlines nearly coincide, not an overlap.
MIN_OVERLAP_M2 = 1.0
#: Edges are densified to this many metres in the planar CRS before the cut (as the analysis).
DENSIFY_M = 50.0
#: At most this many overlapping pairs are named per layer; the rest are counted.
MAX_PAIRS_NAMED = 10


def zone_name(spec: LayerSpec, zones: gpd.GeoDataFrame, fid: object) -> str:
    """The display name of a zone: its name field, else ``<layer title> #<fid>``."""
    field_name = spec.name_field or ("名称" if "名称" in zones.columns else None)
    if field_name and field_name in zones.columns:
        value = zones.at[fid, field_name]
        if isinstance(value, str) and value:
            return value
    return f"{spec.title} #{fid}"


def zone_overlap_warnings(
    pack: Pack, layers: dict[str, gpd.GeoDataFrame], planar_crs: CRS
) -> list[str]:
    """One warning per zone layer whose polygons overlap, naming the pairs and the m².

    ``layers`` are the loaded (repaired) layers in the pack's lon/lat storage CRS. The shared
    land is cut in ``planar_crs`` with edges densified to 50 m, as the analysis cuts, and
    measured on the ellipsoid.
    """
    out = []
    for spec in pack.zone_layers():
        gdf = layers.get(spec.id)
        if gdf is None or len(gdf) < 2:
            continue
        pairs = _overlapping_pairs(gdf.geometry, planar_crs)
        if not pairs:
            continue
        named = [
            f"{zone_name(spec, gdf, gdf.index[i])} (fid {gdf.index[i]}) and "
            f"{zone_name(spec, gdf, gdf.index[j])} (fid {gdf.index[j]}): {m2:,.0f} m²"
            for i, j, m2 in pairs[:MAX_PAIRS_NAMED]
        ]
        more = len(pairs) - len(named)
        out.append(
            f"zone layer {spec.id!r} ({spec.path}): zones overlap, "
            + "; ".join(named)
            + (f"; and {more} more pair(s)" if more else "")
            + ". Each zone's row in zone_summary counts the shared land, the headline total "
            "counts it once; fix the outlines if the zones should tile, or put overlapping "
            "zones in separate layers"
        )
    return out


def _overlapping_pairs(geoms: gpd.GeoSeries, planar_crs: CRS) -> list[tuple[int, int, float]]:
    """``(i, j, m²)`` for every pair ``i < j`` of polygons sharing at least 1 m²."""
    polygonal = np.array(
        [g is not None and not g.is_empty and shapely.get_type_id(g) in (3, 6) for g in geoms]
    )
    valid = densify_rings(np.asarray(geoms.to_crs(planar_crs).values, dtype=object), DENSIFY_M)
    valid[~polygonal] = None
    left, right = shapely.STRtree(valid).query(valid, predicate="intersects")
    keep = left < right
    if not keep.any():
        return []
    shared = shapely.intersection(valid[left[keep]], valid[right[keep]])
    lonlat = gpd.GeoSeries(shared, crs=planar_crs).to_crs(geoms.crs).values
    out = [
        (i, j, float(m2))
        for i, j, m2 in zip(
            left[keep].tolist(), right[keep].tolist(), ellipsoidal_area(lonlat), strict=True
        )
        if m2 >= MIN_OVERLAP_M2
    ]
    return sorted(out)
