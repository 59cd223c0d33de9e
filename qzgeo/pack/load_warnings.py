"""Warnings about a pack's layers that bear on every result computed from them.

Said when the layers are loaded (:func:`qzgeo.pack.load.load_pack_layers`), so that they travel
with whatever is computed from that load: ``check``'s and ``analyze``'s reports and JSON,
``publish``'s ``report.json`` and ``validate``'s list, and the cached load and siting context
keep them (a cold ``check`` pays nothing for them). What only the maps draw differently
(a class value without a symbol) is :func:`qzgeo.pack.validate.pack_warnings`.
"""

from __future__ import annotations

import math

import geopandas as gpd
import pandas as pd
from pyproj import CRS

from qzgeo.geo.crs import central_meridian, crs_label, gk_epsg, gk_zone
from qzgeo.geo.edges import DENSIFY_STEP_DEG, LONG_EDGE_M, Edge, long_edges
from qzgeo.pack.class_values import class_texts
from qzgeo.pack.model import LayerSpec, Pack
from qzgeo.pack.overlaps import zone_name

__all__ = [
    "PLANAR_CRS_REACH_DEG",
    "long_edge_warnings",
    "planar_reach_warnings",
    "unclassed_constraint_warnings",
]

#: A planar CRS whose central meridian is farther than this from any of the data is "far".
PLANAR_CRS_REACH_DEG = 3.0
#: Feature ids named in one warning; the count says the rest.
_IDS_SHOWN = 10


def planar_reach_warnings(
    pack: Pack, layers: dict[str, gpd.GeoDataFrame], planar: CRS
) -> list[str]:
    """A ``planar_crs`` whose central meridian is far from the loaded ``layers`` (lon/lat),
    naming the right zone: areas and lengths there are scaled by the projection (0.6 % at 4°
    from the meridian at 22°N), so every verdict and available area carries it."""
    if not pack.planar_crs:
        return []  # chosen from the data: the zone of their centre
    cm = central_meridian(planar)
    bounds = [g.total_bounds for g in layers.values() if not g.empty]
    bounds = [b for b in bounds if all(map(math.isfinite, b))]
    if cm is None or not bounds:
        return []
    west, east = min(b[0] for b in bounds), max(b[2] for b in bounds)
    if max(abs(west - cm), abs(east - cm)) <= PLANAR_CRS_REACH_DEG:
        return []
    try:
        right = CRS.from_epsg(gk_epsg(gk_zone((west + east) / 2.0)))
    except ValueError:
        return []  # outside China's GK zones; the extent checks report that
    return [
        f"catalog.toml [pack]: planar_crs {crs_label(planar)} has its central meridian at "
        f"{cm:g}°E but the data span {west:.2f}–{east:.2f}°E; use {crs_label(right)} "
        "(the 3° Gauss-Krüger zone of the data's centre)"
    ]


def long_edge_warnings(pack: Pack, lonlat: dict[str, gpd.GeoDataFrame], planar: CRS) -> list[str]:
    """One warning per layer stored in a geographic CRS with edges longer than ~1 km.

    ``lonlat``: such layers as read (repaired), by id. The maps draw an edge straight in
    lon/lat (QGIS) or Web Mercator (the web maps), the analysis straight in the planar CRS: a
    site drawn just outside a long edge is partly inside it for the analysis. The warning names
    the longest edge, the widest gap and the fix.
    """
    out = []
    for lid, gdf in lonlat.items():
        spec = pack.layers[lid]
        if gdf.crs is None or not gdf.crs.is_geographic or gdf.empty:
            continue
        found = long_edges(gdf.geometry.values, crs=gdf.crs, planar=planar, min_m=LONG_EDGE_M)
        if found is None:
            continue

        def where(e: Edge, gdf: gpd.GeoDataFrame = gdf, spec: LayerSpec = spec) -> str:
            fid = gdf.index[e.row]
            return (
                f"{_shown_name(spec, gdf, fid)} (fid {fid}), {e.start[0]:.5f}°E "
                f"{e.start[1]:.5f}°N – {e.end[0]:.5f}°E {e.end[1]:.5f}°N"
            )

        gap = found.worst.value
        out.append(
            f"catalog.toml layer {spec.id!r} ({spec.path}): {found.count} edge(s) longer than "
            f"{LONG_EDGE_M / 1000:g} km in lon/lat, the longest {found.longest.value / 1000:.1f}"
            f" km ({where(found.longest)}). The maps draw an edge straight in lon/lat (Web "
            f"Mercator), the analysis straight in {crs_label(planar)}: the two lines are up to "
            f"{gap:.2f} m apart ({where(found.worst)}), so a site drawn up to {gap:.2f} m "
            "outside such an edge on the map can be inside it for the analysis. Densify the "
            f"layer to edges of ~200 m in lon/lat: `ogr2ogr -segmentize {DENSIFY_STEP_DEG:g} "
            f"out.gpkg in.gpkg`, or shapely.segmentize(geometry, {DENSIFY_STEP_DEG:g})"
        )
    return out


def unclassed_constraint_warnings(pack: Pack, layers: dict[str, gpd.GeoDataFrame]) -> list[str]:
    """Features of a constraint layer in no constraint class: an empty class cell, or a value
    ``constraint_classes`` does not list (生态红线 typed for 生态保护红线). Nothing is checked
    against them (a layer's ``constraint`` mode, when it has one, takes them in). A value the
    layer's style draws as a class of its own is taken as meant not to constrain (the bundled
    pack's 运河保护范围 beside the 运河管理范围 that does)."""
    out = []
    for spec in pack.constraint_layers():
        gdf = layers.get(spec.id)
        field = spec.class_field
        if gdf is None or not field or field not in gdf.columns or spec.constraint is not None:
            continue
        # as the overlay reads them (qzgeo.analysis.zones): " 生态保护红线" is in no class
        texts = class_texts(gdf[field]).fillna("").astype("string")
        blank = (texts.str.strip() == "").to_numpy()
        if blank.any():
            out.append(
                f"{spec.id}: {blank.sum()} feature(s) of constraint layer {spec.id!r} "
                f"({spec.path}) have no {field} (fid {_ids(gdf.index[blank])}): they are in no "
                "constraint class, so no site or parcel is checked against them; fill in their "
                f"{field} with one of {', '.join(spec.constraint_classes)}"
            )
        drawn = _styled_classes(pack, spec)
        unlisted = sorted(
            {v for v in texts[~blank] if spec.constraint_mode(v) is None and v not in drawn}
        )
        for value in unlisted:
            rows = (texts == value).to_numpy()
            out.append(
                f"{spec.id}: {rows.sum()} feature(s) of constraint layer {spec.id!r} "
                f"({spec.path}) have {field} {value!r} (fid {_ids(gdf.index[rows])}), which is "
                "in no constraint class: no site or parcel is checked against them; declare it "
                f"in constraint_classes of catalog.toml layer {spec.id!r} (its classes: "
                f"{', '.join(spec.constraint_classes)}) if it constrains, or fix the value "
                "(a class that does not constrain on purpose is quiet once its style draws it)"
            )
    return out


def _shown_name(spec: LayerSpec, gdf: gpd.GeoDataFrame, fid: object) -> str:
    """A feature's name where the layer publishes it, else its layer's title and fid: the
    warning travels with public results too (a public ``check`` page)."""
    field = spec.name_field or ("名称" if "名称" in gdf.columns else None)
    if field is not None and field in spec.publish_fields:
        return zone_name(spec, gdf, fid)
    return f"{spec.title} #{fid}"


def _styled_classes(pack: Pack, spec: LayerSpec) -> set[str]:
    """The class values ``spec``'s style draws with a symbol of their own."""
    style = pack.styles.get(spec.id)
    if style is None or (style.class_field or spec.class_field) != spec.class_field:
        return set()
    return set(style.classes)


def _ids(index: pd.Index) -> str:
    shown = ", ".join(str(i) for i in index[:_IDS_SHOWN])
    return shown + (", ..." if len(index) > _IDS_SHOWN else "")
