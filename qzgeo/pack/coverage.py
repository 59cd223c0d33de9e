"""The pack's coverage: ``[pack] coverage_layer`` checked and merged within the extent.

See :mod:`qzgeo.geo.coverage` for what a coverage is and who uses it. The catalog checks that
the key names a layer of a pack with an ``extent`` (:mod:`qzgeo.pack.catalog_types`); here
its data: polygons, and some of them within the extent.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from qzgeo._errors import PackError
from qzgeo.geo.area import ellipsoidal_area
from qzgeo.geo.coverage import Coverage
from qzgeo.geo.crs import STORAGE_CRS
from qzgeo.geo.extent import format_extent
from qzgeo.pack.model import LayerSpec, Pack
from qzgeo.pack.overlaps import zone_name

__all__ = ["area_layer_problems", "coverage_problems", "coverage_reach_warnings", "pack_coverage"]


def area_layer_problems(spec: LayerSpec, gdf: gpd.GeoDataFrame) -> list[str]:
    """A zone or constraint layer is analysed as areas: its points and lines were left out
    without a word (a zone of lines: "0 zones"; a 城镇开发边界 drawn as a line: every zone
    wholly outside it, a conflict)."""
    if not (spec.role == "zone" or spec.is_constraint):
        return []
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    present = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    types = shapely.get_type_id(present)
    odd = ~np.isin(types, (3, 6))
    for i in np.flatnonzero(types == 7):  # a collection of polygons is polygonal
        odd[i] = not np.isin(shapely.get_type_id(shapely.get_parts(present[i])), (3, 6)).all()
    if not odd.any():
        return []
    kinds = ", ".join(sorted({g.geom_type for g in present[odd]}))
    return [
        f"catalog.toml layer {spec.id!r} ({spec.path}): a {spec.role} layer is analysed as "
        f"areas, but {int(odd.sum())} of its {len(present)} features are {kinds}, which the "
        "analysis would leave out; draw them as polygons (lines: QGIS Lines to Polygons, "
        'shapely.polygonize), or give the layer role = "base" (drawn, not analysed)'
    ]


def coverage_problems(pack: Pack, gdf: gpd.GeoDataFrame) -> list[str]:
    """What makes the coverage layer ``gdf`` (any CRS) unusable: no features, features that
    are not polygons, or no polygon within the pack extent."""
    where = f"catalog.toml [pack]: `coverage_layer` {pack.coverage_layer!r}"
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    present = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if not len(present):
        return [
            f"{where} has no features with a geometry; name the polygon layer of the land the "
            "pack covers (e.g. its districts), or remove the key"
        ]
    odd = ~np.isin(shapely.get_type_id(present), (3, 6))
    if odd.any():
        kinds = sorted({g.geom_type for g in present[odd]})
        return [
            f"{where} holds {', '.join(kinds)} ({int(odd.sum())} of {len(present)} features), "
            "not only polygons; name a polygon layer (e.g. the districts), or remove the key"
        ]
    if pack.extent is None or gdf.crs is None:
        return []  # reported by the catalog (coverage_layer needs an extent) or the reader
    lonlat = gdf.geometry.to_crs(STORAGE_CRS).values
    if not shapely.intersects(np.asarray(lonlat, dtype=object), shapely.box(*pack.extent)).any():
        return [
            f"{where}: none of its polygons lies within the extent {format_extent(pack.extent)}; "
            "fix `extent` or name the layer of the land the pack covers"
        ]
    return []


def pack_coverage(
    pack: Pack, layers: dict[str, gpd.GeoDataFrame]
) -> tuple[Coverage | None, list[str]]:
    """The area ``pack`` vouches for, from its loaded ``layers`` (lon/lat), and warnings.

    ``None`` without an extent; the extent box without a ``coverage_layer``; else the union of
    that layer's polygons cut to the box. A layer reaching past the box gets a warning: the
    land beyond the box stays unchecked.

    Raises
    ------
    PackError
        The coverage layer is not loaded, holds no polygon, or none within the extent.
    """
    if pack.extent is None:
        return None, []
    lid = pack.coverage_layer
    if lid is None:
        return Coverage(pack.extent), []
    if lid not in layers:
        msg = f"catalog.toml [pack]: `coverage_layer` {lid!r} was not loaded; is it a layer id?"
        raise PackError([msg])
    gdf = layers[lid]
    problems = coverage_problems(pack, gdf)
    if problems:
        raise PackError(problems)
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    warnings = []
    box = shapely.box(*pack.extent)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not shapely.covered_by(geoms[present], box).all():
        warnings.append(
            f"catalog.toml [pack]: `coverage_layer` {lid!r} reaches outside the extent "
            f"{format_extent(pack.extent)}: the coverage is cut to the extent, and parcels and "
            "sites beyond it are 未核查 (unchecked); widen `extent` if the pack's data cover "
            "that land"
        )
    return Coverage.of_polygons(geoms, pack.extent, layer=lid), warnings


#: Zone or boundary land outside the coverage below this (1 公顷) is drawing noise, not reach.
REACH_MIN_M2 = 10_000.0


def coverage_reach_warnings(
    pack: Pack, layers: dict[str, gpd.GeoDataFrame], coverage: Coverage | None
) -> list[str]:
    """Zone layers and boundary classes (城镇开发边界) that reach past the coverage layer.

    Land there is 未核查 (unchecked) for every parcel and site: neither available nor in
    conflict, whatever zone or boundary the pack draws over it. ``layers``: lon/lat, as
    loaded. One warning per layer, with the 公顷 outside and the feature with the most.
    """
    if coverage is None or coverage.is_box:
        return []
    cov = coverage.lonlat()
    out = []
    for spec in [*pack.zone_layers(), *pack.constraint_layers()]:
        gdf = layers.get(spec.id)
        if gdf is None or gdf.empty or spec.id == coverage.layer:
            continue
        keep = np.ones(len(gdf), dtype=bool)
        if spec.is_constraint:  # exclusions out there still count: only boundaries lose land
            classes = gdf[spec.class_field] if spec.class_field in gdf else [None] * len(gdf)
            keep = np.array([spec.constraint_mode(c) == "boundary" for c in classes], dtype=bool)
        geoms = np.asarray(gdf.geometry.values, dtype=object)
        m2 = np.zeros(len(gdf))
        if keep.any():
            m2[keep] = ellipsoidal_area(shapely.difference(geoms[keep], cov))
        if m2.sum() < REACH_MIN_M2:
            continue
        worst = int(np.argmax(m2))
        name = zone_name(spec, gdf, gdf.index[worst])
        out.append(
            f"catalog.toml layer {spec.id!r} ({spec.path}): {m2.sum() / 1e4:,.1f} 公顷 lie "
            f"outside the coverage layer {coverage.layer!r} (most of it {m2[worst] / 1e4:,.1f} "
            f"公顷 of {name}); parcels and sites there are 未核查 "
            "(unchecked), neither available nor in conflict. Extend the coverage layer over "
            "that land if the pack's red lines cover it, or cut the layer to the coverage"
        )
    return out
