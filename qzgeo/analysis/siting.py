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
from dataclasses import InitVar, dataclass, field

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import CRS

from qzgeo._errors import CRSError, InputError, PackError
from qzgeo.analysis.distances import DistanceTarget, build_targets, measure
from qzgeo.analysis.edge_notes import site_edge_warnings
from qzgeo.analysis.overlay import OverlayPlan
from qzgeo.analysis.overlay_plan import POLYGONAL_TYPES, ConstraintClass
from qzgeo.analysis.parcel_extent import checked_polygon, outside_parts
from qzgeo.analysis.site_overlap import ClassOverlap, Unchecked
from qzgeo.analysis.site_results import SiteReport
from qzgeo.analysis.sites import (
    BOUNDARY_HINT,
    clean_sites,
    merge_user_constraints,
    read_user_constraints,
    site_extent_notices,
    site_labels,
    site_notes,
    site_origin,
    site_places,
)
from qzgeo.analysis.siting_cache import CachedContext, context_key, load_context, save_context
from qzgeo.analysis.zones import DENSIFY_M, merge_constraints, planar_zones
from qzgeo.geo.area import ellipsoidal_area
from qzgeo.geo.coverage import CheckedArea, as_coverage
from qzgeo.geo.crs import STORAGE_CRS, planar_crs_for_bounds
from qzgeo.geo.edges import PROJECTED_EDGE_M, drawn_edges, geodesic_edges
from qzgeo.geo.extent import extent_status
from qzgeo.geo.repair import RepairReport, polygonal_part
from qzgeo.io.vector import ReadOptions
from qzgeo.notices import Notices
from qzgeo.pack.model import DistanceSpec, Pack
from qzgeo.pack.prepared import prepare_pack

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
        Repeated in every site report (e.g. a distance layer without geometry, reader notices
        about the pack's and the constraint layers).
    report : RepairReport
        Repairs made while loading the pack and constraint layers.
    extent : tuple of float or Coverage, optional
        The pack's lon/lat extent, or its coverage (:class:`~qzgeo.geo.coverage.Coverage`):
        sites wholly outside the extent are refused, sites partly outside it (or outside the
        coverage) get a warning (:func:`qzgeo.analysis.sites.site_extent_notices`) and the
        verdict ``incomplete``.
    plan : OverlayPlan
        The classes prepared for :func:`qzgeo.analysis.overlay.overlay_areas` (built here, once;
        or ``given_plan``, the plan of the same classes made before: qzgeo's cache).
    """

    planar_crs: CRS
    classes: list[ConstraintClass]
    zone_names: list[str] = field(default_factory=list)
    zone_geoms: npt.NDArray[np.object_] = field(default_factory=lambda: np.empty(0, dtype=object))
    distances: list[DistanceTarget] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    report: RepairReport = field(default_factory=RepairReport)
    extent: CheckedArea | None = None
    given_plan: InitVar[OverlayPlan | None] = None
    plan: OverlayPlan = field(init=False, repr=False)
    overlap: ClassOverlap = field(init=False, repr=False)

    def __post_init__(self, given_plan: OverlayPlan | None) -> None:
        self.overlap = ClassOverlap(self.planar_crs, self.classes, self.boundary_class, given_plan)
        self.plan = self.overlap.plan
        shapely.prepare(self.zone_geoms)
        self._zone_tree = shapely.STRtree(self.zone_geoms)

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
        options: ReadOptions | None = None,
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
        crs, datum, options
            CRS for ``constraint_sources`` without one; ``"gcj02"`` for AMap coordinates;
            the other reading options (:class:`qzgeo.io.vector.ReadOptions`).
        """
        _check_arguments(pack, constraint_sources, class_field=class_field, mode=mode)
        report = RepairReport()
        user = read_user_constraints(
            constraint_sources or [],
            class_field=class_field,
            mode=mode,
            crs=crs,
            datum=datum,
            report=report,
            options=options,
        )
        if pack is None:
            return _without_pack(cls, user, mode=mode, report=report)
        wanted = [s.id for s in pack.zone_layers()] + [d.layer for d in pack.distances]
        key = None
        if not constraint_sources:
            wanted += [s.id for s in pack.constraint_layers()]
            key = context_key(pack, wanted)
            cached = load_context(key) if key is not None else None
            if cached is not None:
                return cls._of_cached(cached)
        loaded = prepare_pack(pack, only=wanted).loaded  # from the cache after the first run
        report.extend(loaded.report)
        planar = loaded.planar_crs
        if constraint_sources:
            classes = merge_user_constraints(user, mode=mode, planar=planar)
        else:
            classes = merge_constraints(pack, loaded.layers, planar_crs=planar)
        zones = list(planar_zones(loaded))
        targets, warnings = build_targets(pack.distances, loaded.layers, planar_crs=planar)
        if not classes:  # else every site is 合规 without a red line looked at
            warnings.append(_no_class_warning(pack))
        ctx = cls(
            planar_crs=planar,
            classes=sorted(classes, key=lambda c: (c.layer_id, c.cls)),
            zone_names=[z.name for z in zones],
            zone_geoms=np.asarray([z.geometry for z in zones], dtype=object),
            distances=targets,
            warnings=warnings,
            report=report,
            extent=loaded.coverage,
        )
        ctx.warnings.extend(report.warnings)  # about the inputs of every verdict
        # A file saved while it was read: the context matches neither state; not kept (under
        # the old files' key, a later run at the old files would get the new ones' context)
        if key is not None and context_key(pack, wanted) == key:
            save_context(key, ctx._to_cached())
        return ctx

    @classmethod
    def _of_cached(cls, c: CachedContext) -> SitingContext:
        return cls(
            planar_crs=c.planar_crs,
            classes=c.classes,
            zone_names=c.zone_names,
            zone_geoms=c.zone_geoms,
            distances=c.distances,
            warnings=c.warnings,
            report=c.report,
            extent=c.coverage,
            given_plan=c.plan,
        )

    def _to_cached(self) -> CachedContext:
        return CachedContext(
            planar_crs=self.planar_crs,
            classes=self.classes,
            plan=self.plan,
            zone_names=self.zone_names,
            zone_geoms=self.zone_geoms,
            distances=self.distances,
            warnings=self.warnings,
            report=self.report,
            coverage=as_coverage(self.extent),
        )


def _no_class_warning(pack: Pack) -> str:
    return (
        f"{pack.catalog_path}: the pack has no constraint class (a layer with role = "
        '"constraint" and `constraint` or `constraint_classes`), so no red line was '
        "checked; add the 生态保护红线, 永久基本农田 and 城镇开发边界 layers, "
        "or pass --constraint"
    )


def _check_arguments(
    pack: Pack | None,
    constraint_sources: Sequence[str] | None,
    *,
    class_field: str | None,
    mode: str | None,
) -> None:
    if pack is None and not constraint_sources:
        msg = "nothing to check against: give a plan pack or constraint layers (--constraint)"
        raise InputError(msg)
    if (class_field is not None or mode not in (None, "auto")) and not constraint_sources:
        msg = "class_field and mode apply to constraint_sources (--constraint) only"
        raise InputError(msg)
    if pack is not None and pack.problems:
        raise PackError(pack.problems)


def _without_pack(
    cls: type[SitingContext],
    user: list[tuple[str, gpd.GeoDataFrame, pd.Series]],
    *,
    mode: str | None,
    report: RepairReport,
) -> SitingContext:
    """A context of the user's constraint layers only, in the GK zone of their extent."""
    bounds = np.array([g.total_bounds for _, g, _ in user])
    planar = planar_crs_for_bounds(
        (bounds[:, 0].min(), bounds[:, 1].min(), bounds[:, 2].max(), bounds[:, 3].max())
    )
    ctx = cls.from_layers(
        constraints=merge_user_constraints(user, mode=mode, planar=planar), planar_crs=planar
    )
    ctx.report = report
    ctx.warnings.extend(report.warnings)
    return ctx


# --- the check ----------------------------------------------------------------------------


def check_sites(
    sites: gpd.GeoDataFrame,
    ctx: SitingContext,
    *,
    label_field: str | None = None,
    with_patches: bool = False,
    min_area_m2: float = MIN_AREA_M2,
    notices: Notices | None = None,
) -> list[SiteReport]:
    """Check every site polygon against the constraints, zones and distance layers of ``ctx``.

    Parameters
    ----------
    sites
        Site polygons in any CRS (e.g. :func:`read_sites`); invalid ones repaired (make_valid)
        and the repair reported; non-polygons raise GeometryError.
    ctx
        From :meth:`SitingContext.from_pack`. Returns one :class:`SiteReport` per site, in order.
    label_field
        Column naming the sites; default as :func:`qzgeo.analysis.sites.site_labels` says.
    with_patches, min_area_m2
        Also keep the conflict patches (lon/lat, for maps); overlaps under this are round-off.
    notices
        From :func:`qzgeo.analysis.sites.read_sites`: each in the report of its site (by source
        and feature id) or its source's. Partly outside ``ctx.extent``: a warning; wholly, CRSError.

    Examples
    --------
    >>> from shapely import box
    >>> from qzgeo.analysis.overlay_plan import ConstraintClass
    >>> x, y = 560_000, 3_500_000  # a 3-degree GK position on CM 117E (no zone prefix)
    >>> red = ConstraintClass("red", "红线", "exclusion", "internal", box(x, y, x + 500, y + 500))
    >>> ctx = SitingContext.from_layers(constraints=[red], planar_crs="EPSG:4548")
    >>> site = gpd.GeoDataFrame(geometry=[box(x + 250, y, x + 750, y + 500)], crs="EPSG:4548")
    >>> rep = check_sites(site, ctx)[0]; rep.verdict, round(rep.conflicts[0].share, 6)
    ('conflict', 0.5)
    """
    if sites.crs is None:
        msg = "the sites have no CRS; use set_crs() or pass --crs (qzgeo never guesses a CRS)"
        raise CRSError(msg)
    if (n := len(sites)) == 0:
        return []
    notes = Notices([*(notices or ()), *site_extent_notices(sites, ctx.extent)])
    labels, fields = site_labels(sites, label_field)
    geoms, repairs = clean_sites(sites.geometry.to_numpy(dtype=object), labels, site_places(sites))
    lonlat, planar = _project(gpd.GeoSeries(geoms, crs=sites.crs), ctx.planar_crs, repairs)
    site_m2 = ellipsoidal_area(lonlat)
    cent = shapely.get_coordinates(shapely.centroid(lonlat))
    inside = ctx.overlap.inside_m2(planar, site_m2, repairs)
    partly, unchecked = _outside(ctx, lonlat, planar, min_area_m2)
    conflicts, patches, boundary = ctx.overlap.conflicts(
        planar, site_m2, inside, with_patches=with_patches, min_area_m2=min_area_m2,
        unchecked=unchecked,
    )  # fmt: skip
    zones = _zones_of(ctx, planar, min_area_m2)
    distances = measure(ctx.distances, planar, planar_crs=ctx.planar_crs)
    srcs, fids = site_origin(sites)
    told = [site_notes(notes, srcs[i], fids[i], repairs[i]) for i in range(n)]
    long = site_edge_warnings(lonlat, CRS(STORAGE_CRS), ctx.planar_crs, labels, fids)
    return [
        SiteReport(
            site=labels[i],
            site_field=fields[i],
            source=srcs[i],
            index=fids[i],
            area_m2=float(site_m2[i]),
            centroid=(float(cent[i, 0]), float(cent[i, 1])),
            conflicts=conflicts[i],
            development_boundary=boundary[i],
            zones=zones[i],
            distances=distances[i],
            warnings=[*ctx.warnings, *told[i][0], *long[i]],
            repairs=told[i][1],
            geometry=lonlat[i],
            patches=patches[i],
            partly_outside=bool(partly[i]),
            unchecked_m2=0.0 if unchecked is None else float(unchecked.m2[i]),
        )
        for i in range(n)
    ]


def _project(
    gs: gpd.GeoSeries, planar_crs: CRS, repairs: list[list[str]]
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.object_]]:
    """The sites in lon/lat and in the planar CRS (repaired if reprojection folded a ring).

    A site's area is that of its lon/lat polygon, whose edges are geodesics: its long edges
    get points along them before the projection, so its overlaps are cut along the same
    edges. Straight in the planar CRS instead, a 10 km lon/lat square at 75.5E (CM 75E) was
    24 m² smaller than its area, and touching the 城镇开发边界 from inside at a vertex (so
    not wholly inside) it had those 24 m² "城镇开发边界外" and the verdict conflict.
    """
    gs = drawn_edges(gpd.GeoDataFrame(geometry=gs)).geometry  # a GK site: straight there
    lonlat = np.asarray(gs.to_crs(STORAGE_CRS).values, dtype=object)
    planar = np.asarray(gs.to_crs(planar_crs).values, dtype=object)
    dense = geodesic_edges(lonlat, PROJECTED_EDGE_M)  # what drawn_edges leaves is short
    if (moved := np.flatnonzero([d is not g for d, g in zip(dense, lonlat, strict=True)])).size:
        again = gpd.GeoSeries(dense[moved], crs=STORAGE_CRS).to_crs(planar_crs)
        planar[moved] = np.asarray(again.values, dtype=object)
    for i in np.flatnonzero(~shapely.is_valid(planar)).tolist():
        # Reprojection can fold a near-degenerate ring; repair rather than fail in GEOS.
        planar[i] = polygonal_part(shapely.make_valid(planar[i]))
        repairs[i].append("became invalid in the planar CRS; repaired with make_valid")
    return lonlat, planar


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


def _outside(
    ctx: SitingContext,
    lonlat: npt.NDArray[np.object_],
    planar: npt.NDArray[np.object_],
    min_area_m2: float,
) -> tuple[npt.NDArray[np.bool_], Unchecked | None]:
    """Which sites reach outside the area checked, and their parts outside.

    Against the extent box: sites partly outside it, by their lon/lat shape. Against a
    coverage: sites with at least ``min_area_m2`` outside it (a site drawn along a district
    line meets the coverage's edge to the nanometre), wholly outside ones included.
    """
    area = as_coverage(ctx.extent)
    if area is None:
        return np.zeros(len(planar), dtype=bool), None
    if area.is_box:
        partly = extent_status(lonlat, area.extent)[1]
        return partly, _unchecked(ctx, planar) if partly.any() else None
    unchecked = _unchecked(ctx, planar)
    assert unchecked is not None
    return unchecked.m2 >= min_area_m2, unchecked


def _unchecked(ctx: SitingContext, planar: npt.NDArray[np.object_]) -> Unchecked | None:
    """The parts of the sites outside the pack's extent (or coverage), measured against every
    class."""
    if ctx.extent is None:
        return None
    # The cut along the extent box in short pieces: its edges are GK chords, which the
    # overlay measures, and which Geod would take for the geodesics between their ends (a
    # 0.014 m² sliver on a 5.5 km cut 200 km off the central meridian). The site's own
    # edges stay as they are: geodesics between its vertices, as its area's.
    pos, pieces = outside_parts(planar, ctx.planar_crs, ctx.extent, edge_m=DENSIFY_M)
    n = len(planar)
    m2 = np.zeros(n)
    inside = np.zeros((n, len(ctx.overlap.classes)))
    if len(pos):
        m2[pos] = ellipsoidal_area([ctx.overlap.to_storage(g) for g in pieces])
        ignored: list[list[str]] = [[] for _ in pos]  # the whole site's retries are reported
        inside[pos] = ctx.overlap.inside_m2(pieces, m2[pos], ignored)
    return Unchecked(m2, inside, checked_polygon(ctx.planar_crs.to_wkt(), ctx.extent))
