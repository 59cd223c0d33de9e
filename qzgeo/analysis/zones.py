"""Zone analysis of a plan pack: available land, conflict patches (冲突图斑) and a zone summary.

Constraint semantics come from the catalog: an *exclusion* class takes its area away from the
zones; a *boundary* class (城镇开发边界) makes whatever lies outside it the conflict. Geometry
work happens in the pack's planar Gauss-Krüger CRS; every reported area is ellipsoidal, measured
on the CGCS2000 ellipsoid after transforming the result back to lon/lat.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from qzgeo._errors import PackError
from qzgeo.analysis.overlay_plan import ConstraintClass, merge_polygons
from qzgeo.geo.area import ellipsoidal_area, m2_to_ha, m2_to_mu
from qzgeo.geo.crs import crs_label
from qzgeo.geo.edges import densify_rings
from qzgeo.geo.overlay_retry import overlay_op
from qzgeo.geo.repair import RepairReport, polygonal_part, valid_polygonal
from qzgeo.pack.class_values import class_texts
from qzgeo.pack.load import LoadedPack
from qzgeo.pack.model import LayerSpec, Pack
from qzgeo.pack.overlaps import zone_name

CONSERVATION_RTOL = 1e-6
#: Zone edges are densified to this length (m) in the planar CRS before the overlay (see
#: :func:`analyze_pack`); the area error of a vertex inserted on a straight planar edge of
#: length L is about k·L³/12, with k the curvature of a geodesic in the projection.
DENSIFY_M = 50.0
DEFAULT_MIN_PATCH_M2 = 1.0


def _classes_of(spec: LayerSpec, gdf: gpd.GeoDataFrame) -> pd.Series:
    if spec.class_field and spec.class_field in gdf.columns:
        # 1.0 of a REAL column is the class "1", as the pack's keys and every map spell it
        return class_texts(gdf[spec.class_field]).fillna("").astype("string")
    return pd.Series(spec.title, index=gdf.index, dtype="string")


def merge_constraints(
    pack: Pack, layers: dict[str, gpd.GeoDataFrame], *, planar_crs: CRS
) -> list[ConstraintClass]:
    """Merge each constraint class of the pack into one planar geometry, prepared for queries.

    Classes come from each layer's ``class_field``; a layer without one is a single class named
    after its title. Only classes with a declared mode (``constraint`` or
    ``constraint_classes``) are returned, sorted by layer and class for determinism.
    """
    out: list[ConstraintClass] = []
    for spec in pack.constraint_layers():
        if spec.id not in layers:
            continue
        gdf = layers[spec.id].to_crs(planar_crs)
        classes = _classes_of(spec, gdf)
        for cls in sorted(set(classes)):
            mode = spec.constraint_mode(cls)
            if mode is None:
                continue
            geoms = gdf.geometry.values[(classes == cls).to_numpy()]
            polys = [polygonal_part(g) for g in geoms if g is not None]
            merged = cast(BaseGeometry, merge_polygons(polys)) if polys else shapely.Polygon()
            shapely.prepare(merged)
            out.append(ConstraintClass(spec.id, str(cls), mode, spec.sensitivity, merged))
    return out


@dataclass
class AnalysisResult:
    """The outputs of :func:`analyze_pack`, all in the storage CRS."""

    available_land: gpd.GeoDataFrame
    conflicts: gpd.GeoDataFrame
    zone_summary: gpd.GeoDataFrame  # one row per zone feature, with the zone's geometry
    sensitivity: dict[str, str] = field(default_factory=dict)
    total_available_m2: float = 0.0  # area of the union of all available land
    notes: list[str] = field(default_factory=list)
    planar_crs: str = ""  # the CRS the geometry work used, e.g. "EPSG:4549 (CGCS2000 / ...)"
    max_residual_m2: float = 0.0  # worst |available + constrained - zone| over the zones

    @property
    def total_available_ha(self) -> float:
        """Available 公顷 of the union of every zone (zones of several layers overlap)."""
        return float(m2_to_ha(self.total_available_m2))


def _units(prefix: str, m2: float) -> dict[str, float]:
    return {
        f"{prefix}m2": m2,
        f"{prefix}ha": float(m2_to_ha(m2)),
        f"{prefix}mu": float(m2_to_mu(m2)),
    }


def _sorted_parts(geom: BaseGeometry) -> list[BaseGeometry]:
    parts = [p for p in shapely.get_parts(polygonal_part(geom)) if not p.is_empty]
    # A stable order (by representative point) keeps patch ids identical across runs.
    return sorted(
        parts,
        key=lambda p: (round(p.representative_point().x, 3), round(p.representative_point().y, 3)),
    )


@dataclass(frozen=True)
class ZoneFeature:
    """One polygonal zone of a pack, in the planar CRS."""

    layer_id: str
    fid: int
    name: str
    geometry: BaseGeometry


def planar_zones(loaded: LoadedPack) -> Iterator[ZoneFeature]:
    """Every polygonal feature of the pack's zone layers, in catalog order, in the planar CRS."""
    for spec in loaded.pack.zone_layers():
        zones = loaded.layers.get(spec.id)
        if zones is None or zones.empty:
            continue
        zp = zones.to_crs(loaded.planar_crs)
        for fid, geom in zip(zp.index, zp.geometry.values, strict=True):
            if geom is None or shapely.get_type_id(geom) not in (3, 6):
                continue  # only polygonal zones have land to analyze
            yield ZoneFeature(spec.id, int(fid), zone_name(spec, zones, fid), geom)


def analyze_pack(loaded: LoadedPack) -> AnalysisResult:
    """Available land per zone, conflict patches and the zone summary of a loaded pack.

    Conflict pieces smaller than the pack's ``[params] min_patch_m2`` (default 1 m²: slivers
    left where schematic boundaries almost coincide) are not listed as patches, but their area
    stays in the zone's constrained total, so area is conserved; the count is in ``notes``.

    Every area is measured the same way: the planar pieces are transformed back to lon/lat and
    measured on the ellipsoid. Zone edges are densified to :data:`DENSIFY_M` in the planar CRS
    first, so that a vertex an overlay inserts on a zone edge lies (to well under a square
    millimetre) on the edge the zone's own area is measured along — this is what keeps
    available + constrained = zone far from the CRS's central meridian. Each piece is densified
    likewise before it is measured (its edges from a constraint may be kilometres long).

    Returns
    -------
    AnalysisResult
        ``available_land`` (one row per zone feature), ``conflicts`` (one row per patch, with a
        stable ``id``), ``zone_summary`` (per zone: areas in m², 公顷 and 亩, and its overlap
        with each class in the same three units).
        Outputs derived from an internal layer are marked internal in ``sensitivity``;
        ``planar_crs`` names the CRS the geometry work used.
    """
    pack, planar = loaded.pack, loaded.planar_crs
    storage = CRS.from_user_input(pack.storage_crs)
    ctx = _ZoneContext(
        constraints=merge_constraints(pack, loaded.layers, planar_crs=planar),
        to_storage=_transformer(planar, storage),
        report=loaded.report,
        min_patch=float(pack.params.get("min_patch_m2", DEFAULT_MIN_PATCH_M2)),
    )
    _refuse_summary_twins(ctx.constraints)
    outcomes = [_analyze_zone(z, ctx) for z in planar_zones(loaded)]
    # Zones of several layers overlap (片区 range, 三区, 六区): the headline total is the area of
    # the union of the available land, not a sum that would count land twice.
    union = _union([o.available for o in outcomes], report=ctx.report, context="total")
    slivers = sum(o.slivers for o in outcomes)
    notes = []
    if slivers:
        notes.append(
            f"{slivers} conflict piece(s) under {ctx.min_patch:g} m² are not listed as patches "
            "(their area stays in the zones' constrained totals); set [params] min_patch_m2"
        )
    # derived from every constraint AND zone layer that went in: internal if any of them is
    internal = any(c.sensitivity != "public" for c in ctx.constraints) or any(
        not s.is_public for s in loaded.pack.zone_layers()
    )
    sens = "internal" if internal else "public"
    return AnalysisResult(
        available_land=_frame([o.avail_row for o in outcomes], storage, _AVAIL_COLS),
        conflicts=_frame([r for o in outcomes for r in o.conflict_rows], storage, _CONFLICT_COLS),
        zone_summary=_summary_frame([o.summary_row for o in outcomes], ctx.constraints, storage),
        sensitivity={"available_land": sens, "conflicts": sens, "zone_summary": sens},
        total_available_m2=_m2(ctx.to_storage(_densified(union))),
        notes=notes,
        planar_crs=crs_label(planar),
        max_residual_m2=max((o.residual_m2 for o in outcomes), default=0.0),
    )


#: Class names whose zone summary columns would be a zone's own: ``available`` gives
#: ``available_m2``, which took the class's overlap in place of the zone's available land.
_SUMMARY_OWN = {"zone": "分区面积", "available": "可用面积", "constrained": "受限面积"}


def _refuse_summary_twins(constraints: list[ConstraintClass]) -> None:
    """Refuse a class whose summary columns (``<class>_m2``…, in the CSV ``<class>(m²)``…)
    are the zone's own area columns: the class's figures replaced the zone's without a word."""
    problems = []
    for c in constraints:
        cls = c.conflict_class
        if cls in _SUMMARY_OWN or cls in _SUMMARY_OWN.values():
            problems.append(
                f"constraint class {cls!r} of layer {c.layer_id!r} would name the zone summary's "
                f"columns {cls}_m2/_ha/_mu ({cls}(m²)… in zone_summary.csv), which are each "
                "zone's own area columns; rename that class value in the layer's data (and in "
                f"catalog.toml and styles/), e.g. to '{cls}类'"
            )
    if problems:
        raise PackError(sorted(set(problems)))


@dataclass
class _ZoneContext:
    constraints: list[ConstraintClass]
    to_storage: Callable[[BaseGeometry], BaseGeometry]
    report: RepairReport
    min_patch: float


@dataclass
class _ZoneOutcome:
    avail_row: dict[str, object]
    summary_row: dict[str, object]
    conflict_rows: list[dict[str, object]]
    available: BaseGeometry  # planar, for the union of all available land
    slivers: int
    residual_m2: float


def _analyze_zone(z: ZoneFeature, ctx: _ZoneContext) -> _ZoneOutcome:
    """Available land, conflict patches and the summary row of one zone."""
    where = f"zone {z.layer_id}#{z.fid}"
    zone = _densified(z.geometry)
    zone_area = _m2(ctx.to_storage(zone))
    constrained: list[BaseGeometry] = []
    per_class: dict[str, float] = {}
    rows: list[dict[str, object]] = []
    slivers = 0
    for c in ctx.constraints:
        op = "difference" if c.mode == "boundary" else "intersection"
        piece = overlay_op(zone, c.geometry, op=op, report=ctx.report, context=where)
        parts = _sorted_parts(piece)
        if not parts:
            continue
        constrained.append(piece)
        geos = [ctx.to_storage(_densified(p)) for p in parts]
        areas = ellipsoidal_area(geos)
        per_class[c.conflict_class] = per_class.get(c.conflict_class, 0.0) + areas.sum()
        kept = [(g, m2) for g, m2 in zip(geos, areas, strict=True) if m2 >= ctx.min_patch]
        slivers += len(geos) - len(kept)
        for k, (geo, m2) in enumerate(kept, start=1):
            rows.append(
                {
                    "id": f"{z.layer_id}-{z.fid}-{c.layer_id}-{c.conflict_class}-{k}",
                    "zone_layer": z.layer_id,
                    "zone_fid": z.fid,
                    "名称": z.name,
                    "constraint_layer": c.layer_id,
                    "类别": c.conflict_class,
                    "mode": c.mode,
                    "area_m2": float(m2),
                    "geometry": geo,
                }
            )
    removed = _union(constrained, report=ctx.report, context=where)
    available = polygonal_part(
        overlay_op(zone, removed, op="difference", report=ctx.report, context=where)
    )
    avail_geo = ctx.to_storage(_densified(available))
    avail_m2 = _m2(avail_geo)
    removed_m2 = _m2(ctx.to_storage(_densified(polygonal_part(removed))))
    residual = _check_conservation(where, zone_area, avail_m2, removed_m2)
    ids = {"zone_layer": z.layer_id, "zone_fid": z.fid, "名称": z.name}
    summary: dict[str, object] = {
        **ids,
        **_units("zone_", zone_area),
        **_units("available_", avail_m2),
        **_units("constrained_", removed_m2),
        "conflict_patches": len(rows),
    }
    for cls, m2 in sorted(per_class.items()):  # in m², 公顷 and 亩, as the headline columns
        summary.update(_units(f"{cls}_", m2))
    summary["geometry"] = _valid(ctx.to_storage(zone))
    avail_row = {"id": f"{z.layer_id}-{z.fid}", **ids, "area_m2": avail_m2, "geometry": avail_geo}
    return _ZoneOutcome(avail_row, summary, rows, available, slivers, residual)


def _summary_frame(
    rows: list[dict[str, object]], constraints: list[ConstraintClass], storage: CRS
) -> gpd.GeoDataFrame:
    if rows:
        summary = gpd.GeoDataFrame(rows, geometry="geometry", crs=storage)
    else:
        summary = gpd.GeoDataFrame(
            columns=[*_SUMMARY_COLS, "geometry"], geometry="geometry", crs=storage
        )
    # Three columns per constraint class (m², 公顷, 亩), zero where a zone does not touch it,
    # the classes in name order.
    classes = sorted({c.conflict_class for c in constraints})
    class_cols = [f"{cls}_{unit}" for cls in classes for unit in ("m2", "ha", "mu")]
    for col in class_cols:
        summary[col] = summary[col].fillna(0.0) if col in summary else 0.0
    base_cols = [c for c in summary.columns if c not in class_cols and c != "geometry"]
    return summary[[*base_cols, *class_cols, "geometry"]]


def _densified(planar: BaseGeometry) -> BaseGeometry:
    """``planar`` with no edge over :data:`DENSIFY_M`, to be measured along its planar edges.

    A piece keeps the constraint's own edges, which may be kilometres long (a 城镇开发边界
    digitised in GK with four vertices); transformed as they are, the piece is measured along the
    geodesic between their vertices, not the straight GK line the overlay cut along: 1,154 m²
    on a 40 km boundary edge 120 km from the central meridian.
    """
    return densify_rings(np.array([planar], dtype=object), DENSIFY_M)[0]


def _m2(geom: BaseGeometry) -> float:
    return float(ellipsoidal_area([geom])[0])


def _union(geoms: list[BaseGeometry], *, report: RepairReport, context: str) -> BaseGeometry:
    """Union of planar polygons, retried on a 1 mm grid if GEOS fails (as overlay_op does)."""
    if not geoms:
        return shapely.Polygon()
    try:
        return shapely.union_all(geoms)
    except shapely.errors.GEOSException as exc:
        report.warnings.append(f"union ({context}): GEOS failed ({exc}); retried on a 1 mm grid")
        return shapely.union_all(geoms, grid_size=0.001)


def _transformer(src: CRS, dst: CRS) -> Callable[[BaseGeometry], BaseGeometry]:
    from pyproj import Transformer

    t = Transformer.from_crs(src, dst, always_xy=True)

    def apply(geom: BaseGeometry) -> BaseGeometry:
        return shapely.transform(geom, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))

    return apply


def _valid(geom: BaseGeometry) -> BaseGeometry:
    """A valid copy of a transformed output geometry.

    A needle-thin spike that is valid in GK can cross itself after the transform to lon/lat.
    Areas are measured on the transformed rings as they are (the signed ring areas keep the
    planar topology, so area is conserved); only the stored geometry is repaired.
    """
    if geom.is_valid:
        return geom
    return valid_polygonal(geom)


#: The columns of the outputs, for an empty one: a plan whose zones touch no red line has no
#: conflicts, and its maps still style them by 类别; a pack of red lines alone has no zones.
_AVAIL_COLS = ("id", "zone_layer", "zone_fid", "名称", "area_m2", "area_ha", "area_mu")
_CONFLICT_COLS = (
    *_AVAIL_COLS[:4], "constraint_layer", "类别", "mode", "area_m2", "area_ha", "area_mu"
)  # fmt: skip
_SUMMARY_COLS = (
    *_AVAIL_COLS[1:4],
    *(f"{k}_{u}" for k in ("zone", "available", "constrained") for u in ("m2", "ha", "mu")),
    "conflict_patches",
)


def _frame(rows: list[dict[str, object]], crs: CRS, cols: tuple[str, ...]) -> gpd.GeoDataFrame:
    if not rows:
        return gpd.GeoDataFrame(columns=[*cols, "geometry"], geometry="geometry", crs=crs)
    df = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)
    df["area_ha"] = m2_to_ha(df["area_m2"].to_numpy())
    df["area_mu"] = m2_to_mu(df["area_m2"].to_numpy())
    df["geometry"] = [
        shapely.MultiPolygon(list(shapely.get_parts(v))) if not (v := _valid(g)).is_empty else v
        for g in df.geometry.values
    ]
    return df[[c for c in df.columns if c != "geometry"] + ["geometry"]]


def _check_conservation(where: str, zone: float, avail: float, removed: float) -> float:
    """The residual ``|available + constrained - zone|`` in m², or an error past the tolerance."""
    from qzgeo._errors import GeometryError

    residual = abs(avail + removed - zone)
    # Not the parcels' 0.01 m² + 1e-9·A (overlay.CONSERVATION_RTOL): the bundled packs' zones
    # miss by 1.5e-5 m² at most, but a class drawn from two layers, or a near-degenerate
    # spike, leaves 0.03 m² on 1e6 m² zones (tests/analysis/test_zone_class_totals.py,
    # test_zones.py), 3x that rule. A NaN residual (a NaN area) is a failure too.
    if zone > 0 and not residual <= max(CONSERVATION_RTOL * zone, 0.01):
        msg = (
            f"area not conserved for {where}: available {avail:.3f} + constrained "
            f"{removed:.3f} != zone {zone:.3f} m²; please report this with the input data"
        )
        raise GeometryError(msg)
    return residual
