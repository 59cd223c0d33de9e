"""Siting check (选址合规性检查): does a proposed site respect the plan's constraints?

A :class:`SitingContext` is built once from a plan pack (or from the user's own red-line
files): the constraint classes merged and planned for the shared overlay engine
(:func:`qzgeo.analysis.overlay.plan_overlay`) in the pack's planar Gauss-Krüger CRS, the planned
zones in an STRtree, the corridor lines as indexed segments. :func:`check_sites` then checks any
number of site polygons with vectorised calls, so one site takes milliseconds and ten thousand
take about a second. Reports are rendered by :mod:`qzgeo.publish.site_report`.

Areas are ellipsoidal (CGCS2000/GRS80): a site's own area with
:func:`qzgeo.geo.area.ellipsoidal_area`, overlaps by :func:`qzgeo.analysis.overlay.overlay_areas`
(planar GK areas divided by the areal scale factor); a site wholly inside a class overlaps it by
exactly its own area. Distances are geodesic, measured on the ellipsoid between the nearest
points found in the GK plane.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from qzgeo._errors import CRSError, GeometryError, InputError, PackError
from qzgeo.analysis.distances import DistanceTarget, build_targets, measure
from qzgeo.analysis.overlay import OverlayPlan, overlay_areas, plan_overlay
from qzgeo.analysis.overlay_plan import POLYGONAL_TYPES, ConstraintClass
from qzgeo.analysis.site_results import BoundaryShare, Conflict, SiteReport
from qzgeo.analysis.sites import (
    BOUNDARY_HINT,
    FID_COL,
    SOURCE_COL,
    merge_user_constraints,
    read_user_constraints,
    split_source,
)
from qzgeo.analysis.zones import merge_constraints, planar_zones
from qzgeo.geo.area import ellipsoidal_area
from qzgeo.geo.crs import STORAGE_CRS, planar_crs_for_bounds
from qzgeo.geo.repair import RepairReport, polygonal_part
from qzgeo.pack.load import load_pack_layers
from qzgeo.pack.model import DistanceSpec, Pack

LABEL_COLUMNS = ("名称", "地块名称", "name", "NAME")
# Overlaps below the reporting precision (0.01 m²) are coordinate round-off, not conflicts.
MIN_AREA_M2 = 0.01


# --- the context --------------------------------------------------------------------------


@dataclass
class SitingContext:
    """Everything a siting check needs, loaded and indexed once.

    Build it with :meth:`from_pack` (or :meth:`from_layers`), then call :func:`check_sites`
    as often as needed.

    Attributes
    ----------
    planar_crs : pyproj.CRS
        Gauss-Krüger CRS of all geometry work.
    classes : list of ConstraintClass
        Merged, prepared constraint classes (planar), sorted by layer and class.
    zone_names, zone_geoms
        Planned zones (planar), in catalog order.
    distances
        The layers site reports measure distances to (the pack's ``[[distances]]``), indexed.
    warnings : list of str
        Repeated in every site report (e.g. a distance layer without geometry).
    report : RepairReport
        Repairs made while loading the pack and constraint layers.
    plan : OverlayPlan
        The classes prepared for :func:`qzgeo.analysis.overlay.overlay_areas` (built here, once).
    """

    planar_crs: CRS
    classes: list[ConstraintClass]
    zone_names: list[str] = field(default_factory=list)
    zone_geoms: npt.NDArray[np.object_] = field(default_factory=lambda: np.empty(0, dtype=object))
    distances: list[DistanceTarget] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    report: RepairReport = field(default_factory=RepairReport)
    plan: OverlayPlan = field(init=False, repr=False)

    def __post_init__(self) -> None:
        shapely.prepare([c.geometry for c in self.classes])
        # The plan's columns are read by position; positional layer ids keep two --constraint
        # files with the same stem (and so the same "layer:class") apart.
        self.plan = plan_overlay([replace(c, layer_id=str(k)) for k, c in enumerate(self.classes)])
        self._part_tree = shapely.STRtree(self.plan.classes.parts)
        shapely.prepare(self.zone_geoms)
        self._zone_tree = shapely.STRtree(self.zone_geoms)
        self._to_lonlat = Transformer.from_crs(self.planar_crs, STORAGE_CRS, always_xy=True)

    @property
    def boundary_class(self) -> ConstraintClass | None:
        """The class reported as ``development_boundary`` (the first 城镇开发边界 boundary)."""
        bounds = [c for c in self.classes if c.mode == "boundary"]
        named = [c for c in bounds if BOUNDARY_HINT in c.cls]
        chosen = named or bounds
        return chosen[0] if chosen else None

    @classmethod
    def from_layers(
        cls,
        *,
        constraints: Sequence[ConstraintClass],
        planar_crs: CRS | str,
        zones: gpd.GeoDataFrame | None = None,
        zone_name_field: str = "name",
        distances: Sequence[tuple[DistanceSpec, gpd.GeoDataFrame]] = (),
    ) -> SitingContext:
        """Build a context from ready-made pieces (constraint classes already planar).

        ``zones`` (any CRS) name their features by ``zone_name_field``; ``distances`` pairs
        each distance entry with its layer's features (any CRS).
        """
        planar = CRS.from_user_input(planar_crs)
        names: list[str] = []
        zgeoms = np.empty(0, dtype=object)
        if zones is not None and not zones.empty:
            if zone_name_field not in zones.columns:
                msg = f"zones have no column {zone_name_field!r}; pass zone_name_field="
                raise InputError(msg)
            zp = zones.to_crs(planar)
            keep = np.isin(shapely.get_type_id(zp.geometry.values), POLYGONAL_TYPES)
            zgeoms = np.asarray(zp.geometry.values[keep], dtype=object)
            names = [str(v) for v in zp.loc[keep, zone_name_field]]
        targets, warnings = build_targets(
            [d for d, _ in distances], {d.layer: g for d, g in distances}, planar_crs=planar
        )
        return cls(
            planar_crs=planar,
            classes=sorted(constraints, key=lambda c: (c.layer_id, c.cls)),
            zone_names=names,
            zone_geoms=zgeoms,
            distances=targets,
            warnings=warnings,
        )

    @classmethod
    def from_pack(
        cls,
        pack: Pack | None,
        *,
        constraint_sources: Sequence[str] | None = None,
        class_field: str | None = None,
        mode: str | None = None,
        crs: str | CRS | None = None,
        datum: str | None = None,
    ) -> SitingContext:
        """Load a pack's constraints, zones and distance layers once, merged and indexed.

        Parameters
        ----------
        pack
            A pack from :func:`qzgeo.pack.catalog.load_pack`, or ``None`` to check against
            ``constraint_sources`` only (no zones, no distances).
        constraint_sources
            ``PATH[:LAYER]`` polygon layers that REPLACE the pack's constraint layers.
            Classes come from ``class_field``, else a column 类别/class/CLASS/DLMC, else the
            file stem; all are exclusions except classes naming 城镇开发边界 (boundaries).
        class_field
            Class column of the ``constraint_sources``.
        mode
            ``"auto"`` (default, as above), ``"exclusion"`` or ``"boundary"`` for every class
            of the ``constraint_sources``.
        crs, datum
            CRS for ``constraint_sources`` without one; ``"gcj02"`` for AMap coordinates.

        Examples
        --------
        >>> from qzgeo.pack.catalog import load_pack
        >>> ctx = SitingContext.from_pack(load_pack("tests/data/minipack"))  # doctest: +SKIP
        """
        if pack is None and not constraint_sources:
            msg = "nothing to check against: give a plan pack or constraint layers (--constraint)"
            raise InputError(msg)
        if (class_field is not None or mode not in (None, "auto")) and not constraint_sources:
            msg = "class_field and mode apply to constraint_sources (--constraint) only"
            raise InputError(msg)
        if pack is not None and pack.problems:
            raise PackError(pack.problems)
        report = RepairReport()
        user = read_user_constraints(
            constraint_sources or [],
            class_field=class_field,
            mode=mode,
            crs=crs,
            datum=datum,
            report=report,
        )
        if pack is None:
            bounds = np.array([g.total_bounds for _, g, _ in user])
            planar = planar_crs_for_bounds(
                (bounds[:, 0].min(), bounds[:, 1].min(), bounds[:, 2].max(), bounds[:, 3].max())
            )
            ctx = cls.from_layers(
                constraints=merge_user_constraints(user, mode=mode, planar=planar),
                planar_crs=planar,
            )
            ctx.report = report
            return ctx
        wanted = [s.id for s in pack.zone_layers()] + [d.layer for d in pack.distances]
        if not constraint_sources:
            wanted += [s.id for s in pack.constraint_layers()]
        loaded = load_pack_layers(pack, only=wanted)
        report.extend(loaded.report)
        planar = loaded.planar_crs
        if constraint_sources:
            classes = merge_user_constraints(user, mode=mode, planar=planar)
        else:
            classes = merge_constraints(pack, loaded.layers, planar_crs=planar)
        zones = list(planar_zones(loaded))
        targets, warnings = build_targets(pack.distances, loaded.layers, planar_crs=planar)
        return cls(
            planar_crs=planar,
            classes=sorted(classes, key=lambda c: (c.layer_id, c.cls)),
            zone_names=[z.name for z in zones],
            zone_geoms=np.asarray([z.geometry for z in zones], dtype=object),
            distances=targets,
            warnings=warnings,
            report=report,
        )


# --- the check ----------------------------------------------------------------------------


def _origin(sites: gpd.GeoDataFrame) -> tuple[list[str | None], list[Any]]:
    """Source argument and feature id of each site (``None`` and the index without them)."""
    n = len(sites)
    srcs: list[str | None] = (
        [str(v) for v in sites[SOURCE_COL].tolist()] if SOURCE_COL in sites.columns else [None] * n
    )
    fids = sites[FID_COL].tolist() if FID_COL in sites.columns else sites.index.tolist()
    return srcs, [f.item() if hasattr(f, "item") else f for f in fids]


def _labels(sites: gpd.GeoDataFrame, label_field: str | None) -> list[str]:
    if label_field is not None and label_field not in sites.columns:
        msg = f"label field {label_field!r} is not a column of the sites; they have {list(sites)}"
        raise InputError(msg)
    cols = [label_field] if label_field else [c for c in LABEL_COLUMNS if c in sites.columns]
    values = [sites[c].tolist() for c in cols]
    srcs, fids = _origin(sites)
    out = []
    for i in range(len(sites)):
        label = None
        for col in values:
            value = col[i]
            if isinstance(value, str):
                if value.strip():
                    label = value.strip()
                    break
            elif value is not None and not pd.isna(value):
                label = str(value)
                break
        if label is None:
            if srcs[i] is not None:
                path, layer = split_source(str(srcs[i]))
                label = Path(path).name + (f":{layer}" if layer else "") + f":{fids[i]}"
            else:
                label = str(fids[i])
        out.append(label)
    return out


def _clean_sites(geoms: npt.NDArray[np.object_], labels: list[str]) -> tuple[Any, list[list[str]]]:
    """Polygonal, valid, 2-D site geometries; a repair note per site touched."""
    repairs: list[list[str]] = [[] for _ in range(len(geoms))]
    out = np.array(geoms, dtype=object)
    bad = shapely.is_missing(out) | shapely.is_empty(out)
    types = shapely.get_type_id(out)
    for i in np.flatnonzero(bad | ~np.isin(types, (*POLYGONAL_TYPES, 7))):
        what = "no geometry" if bad[i] else f"a {out[i].geom_type}"
        msg = f"site {labels[i]!r} has {what}; a site must be a polygon (read_sites skips these)"
        raise GeometryError(msg)
    for i in np.flatnonzero(shapely.has_z(out)):
        out[i] = shapely.force_2d(out[i])
        repairs[i].append("Z/M coordinates removed (2D check)")
    for i in np.flatnonzero(types == 7):
        out[i] = polygonal_part(out[i])
        if out[i].is_empty:
            msg = f"site {labels[i]!r} is a GeometryCollection without polygons"
            raise GeometryError(msg)
        repairs[i].append("GeometryCollection: non-polygonal parts dropped")
    for i in np.flatnonzero(~shapely.is_valid(out)):
        reason = shapely.is_valid_reason(out[i])
        fixed = polygonal_part(shapely.make_valid(out[i], method="structure", keep_collapsed=False))
        if fixed.is_empty:
            msg = f"site {labels[i]!r} is invalid ({reason}) and nothing polygonal remains"
            raise GeometryError(msg)
        repairs[i].append(f"invalid ({reason}); repaired with make_valid")
        out[i] = fixed
    return out, repairs


def check_sites(
    sites: gpd.GeoDataFrame,
    ctx: SitingContext,
    *,
    label_field: str | None = None,
    with_patches: bool = False,
    min_area_m2: float = MIN_AREA_M2,
) -> list[SiteReport]:
    """Check every site polygon against the constraints, zones and distance layers of ``ctx``.

    Parameters
    ----------
    sites
        Site polygons in any CRS (e.g. from :func:`read_sites`). Invalid polygons are repaired
        with ``make_valid`` and the repair is reported; non-polygons raise GeometryError.
    ctx
        From :meth:`SitingContext.from_pack`.
    label_field
        Column naming the sites; default 名称/name/NAME, else ``file:fid`` (or the index).
    with_patches
        Also keep the conflict patches (lon/lat geometries) for maps.
    min_area_m2
        Overlaps smaller than this are round-off, not conflicts.

    Returns
    -------
    list of SiteReport, one per row of ``sites``, in order.

    Examples
    --------
    >>> from shapely import box
    >>> from qzgeo.analysis.overlay_plan import POLYGONAL_TYPES, ConstraintClass
    >>> x, y = 560_000, 2_400_000  # EPSG:4545, near 钦州港
    >>> red = ConstraintClass("red", "生态保护红线", "exclusion", "internal",
    ...                       box(x, y, x + 500, y + 500))
    >>> ctx = SitingContext.from_layers(constraints=[red], planar_crs="EPSG:4545")
    >>> site = gpd.GeoDataFrame(geometry=[box(x + 250, y, x + 750, y + 500)], crs="EPSG:4545")
    >>> rep = check_sites(site, ctx)[0]
    >>> rep.verdict, round(rep.conflicts[0].share, 6)
    ('conflict', 0.5)
    """
    if sites.crs is None:
        msg = "the sites have no CRS; use set_crs() or pass --crs (qzgeo never guesses a CRS)"
        raise CRSError(msg)
    n = len(sites)
    if n == 0:
        return []
    labels = _labels(sites, label_field)
    geoms, repairs = _clean_sites(np.asarray(sites.geometry.values, dtype=object), labels)
    gs = gpd.GeoSeries(geoms, crs=sites.crs)
    lonlat = np.asarray(gs.to_crs(STORAGE_CRS).values, dtype=object)
    planar = np.asarray(gs.to_crs(ctx.planar_crs).values, dtype=object)
    for i in np.flatnonzero(~shapely.is_valid(planar)).tolist():
        # Reprojection can fold a near-degenerate ring; repair rather than fail in GEOS.
        planar[i] = polygonal_part(shapely.make_valid(planar[i]))
        repairs[i].append("became invalid in the planar CRS; repaired with make_valid")
    site_m2 = ellipsoidal_area(lonlat)
    cent = shapely.get_coordinates(shapely.centroid(lonlat))
    inside = _inside_m2(ctx, planar, site_m2, repairs)

    conflicts: list[list[Conflict]] = [[] for _ in range(n)]
    patches: list[list[tuple[Conflict, Any]]] = [[] for _ in range(n)]
    boundary: list[BoundaryShare | None] = [None] * n
    bclass = ctx.boundary_class
    for k, c in enumerate(ctx.classes):
        inside_m2 = inside[:, k]
        conflict_m2 = site_m2 - inside_m2 if c.mode == "boundary" else inside_m2
        conflict_m2 = np.where(conflict_m2 < min_area_m2, 0.0, np.minimum(conflict_m2, site_m2))
        share = np.divide(conflict_m2, site_m2, out=np.zeros(n), where=site_m2 > 0)
        hit = np.flatnonzero(conflict_m2 > 0)
        drawn = _patches(ctx, k, planar[hit]) if with_patches else [None] * hit.size
        for i, patch in zip(hit.tolist(), drawn, strict=True):
            conf = Conflict(
                c.layer_id, c.conflict_class, c.mode, float(conflict_m2[i]), float(share[i])
            )
            conflicts[i].append(conf)
            if patch is not None and not patch.is_empty:
                patches[i].append((conf, _to_storage(ctx, patch)))
        if c is bclass:
            boundary = [BoundaryShare(c.layer_id, c.cls, 1.0 - float(x), float(x)) for x in share]

    zones = _zones_of(ctx, planar, min_area_m2)
    distances = measure(ctx.distances, planar, planar_crs=ctx.planar_crs)
    srcs, fids = _origin(sites)
    return [
        SiteReport(
            site=labels[i],
            source=srcs[i],
            index=fids[i],
            area_m2=float(site_m2[i]),
            centroid=(float(cent[i, 0]), float(cent[i, 1])),
            conflicts=conflicts[i],
            development_boundary=boundary[i],
            zones=zones[i],
            distances=distances[i],
            warnings=list(ctx.warnings),
            repairs=repairs[i],
            geometry=lonlat[i],
            patches=patches[i],
        )
        for i in range(n)
    ]


def _inside_m2(
    ctx: SitingContext,
    planar: npt.NDArray[np.object_],
    site_m2: npt.NDArray[np.float64],
    repairs: list[list[str]],
) -> npt.NDArray[np.float64]:
    """Ellipsoidal m² of each site (rows) inside each class (columns), by the overlay engine.

    A site wholly inside a class gets exactly its own geodesic area (share exactly 1), as the
    engine's tiled parts cannot tell a site straddling two tiles from a partial one.
    """
    parcels = gpd.GeoDataFrame(geometry=planar, crs=ctx.planar_crs)
    df, rep = overlay_areas(parcels, ctx.plan, check_conservation=False)
    for r in rep.retries:
        repairs[int(r["parcel"])].append(
            f"the {r['op']} with the constraints failed in GEOS ({r['error']}); "
            f"redone on a {r['grid_size'] * 1000:g} mm grid"
        )
    m2 = df[list(ctx.plan.columns)].to_numpy(dtype=float, copy=True).reshape(len(df), -1)
    for k, c in enumerate(ctx.classes):
        hit = np.flatnonzero(m2[:, k] > 0)
        whole = hit[shapely.contains_properly(c.geometry, planar[hit])]
        m2[whole, k] = site_m2[whole]
    return m2


def _patches(ctx: SitingContext, k: int, sites: npt.NDArray[np.object_]) -> list[Any]:
    """Conflict patches (planar) of sites with class ``k``: the overlap, or the part outside.

    Kept local: the overlay engine returns areas only. Pieces come from the plan's parts near
    each site, so a patch never walks a whole red line.
    """
    if len(sites) == 0:
        return []
    target = ctx.plan.classes
    si, pi = ctx._part_tree.query(sites, predicate="intersects")
    keep = target.group[pi] == k
    si, pi = si[keep], pi[keep]
    pieces = shapely.intersection(sites[si], target.parts[pi])
    cuts = np.searchsorted(si, np.arange(1, len(sites)))  # query results are sorted by site
    inside = np.asarray([shapely.union_all(g) for g in np.split(pieces, cuts)], dtype=object)
    out = shapely.difference(sites, inside) if ctx.classes[k].mode == "boundary" else inside
    return [polygonal_part(g) for g in out]


def _to_storage(ctx: SitingContext, geom: Any) -> Any:
    t = ctx._to_lonlat
    return shapely.transform(geom, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


def _zones_of(
    ctx: SitingContext, planar: npt.NDArray[np.object_], min_area_m2: float
) -> list[list[str]]:
    """Names of the zones each site overlaps with area (a shared edge is not a touch).

    Kept local: :func:`qzgeo.analysis.overlay.overlay_groups` has no reusable plan and would
    re-split every zone on each call, while a yes/no per zone needs no areas beyond round-off; the
    STRtree built once in the context keeps a one-site check independent of the zone count.
    """
    out: list[list[str]] = [[] for _ in range(planar.size)]
    if ctx.zone_geoms.size == 0:
        return out
    s, z = ctx._zone_tree.query(planar, predicate="intersects")
    if s.size == 0:
        return out
    within = shapely.within(planar[s], ctx.zone_geoms[z])
    keep = within.copy()
    rest = np.flatnonzero(~within)
    if rest.size:
        keep[rest] = (
            shapely.area(shapely.intersection(planar[s[rest]], ctx.zone_geoms[z[rest]]))
            >= min_area_m2
        )
    order = np.lexsort((z, s))
    for k in order[keep[order]]:
        name = ctx.zone_names[z[k]]
        if name not in out[s[k]]:
            out[s[k]].append(name)
    return out
