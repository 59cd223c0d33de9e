"""Siting check (选址合规性检查): does a proposed site respect the plan's constraints?

A :class:`SitingContext` is built once from a plan pack (or from the user's own red-line
files): the constraint classes merged and planned for the shared overlay engine
(:func:`qzgeo.analysis.overlay.plan_overlay`) in the pack's planar Gauss-Krüger CRS, the planned
zones in an STRtree, the corridor lines as indexed segments.
:func:`~qzgeo.analysis.site_check.check_sites` then checks any number of site polygons with
vectorised calls, so one site takes milliseconds and ten thousand take about a second.
Reports are rendered by :mod:`qzgeo.publish.site_report`.

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

from qzgeo._errors import InputError, PackError
from qzgeo.analysis.distances import DistanceTarget, build_targets
from qzgeo.analysis.overlay import OverlayPlan
from qzgeo.analysis.overlay_plan import POLYGONAL_TYPES, ConstraintClass
from qzgeo.analysis.site_overlap import ClassOverlap
from qzgeo.analysis.sites import (
    BOUNDARY_HINT,
    merge_user_constraints,
    read_user_constraints,
)
from qzgeo.analysis.siting_cache import CachedContext, context_key, load_context, save_context
from qzgeo.analysis.zones import merge_constraints, planar_zones
from qzgeo.geo.coverage import CheckedArea, as_coverage
from qzgeo.geo.crs import planar_crs_for_bounds
from qzgeo.geo.repair import RepairReport
from qzgeo.io.vector import ReadOptions
from qzgeo.pack.model import DistanceSpec, Pack
from qzgeo.pack.prepared import prepare_pack

# --- the context --------------------------------------------------------------------------


@dataclass
class SitingContext:
    """Everything a siting check needs, loaded and indexed once.

    Build it with :meth:`from_pack` (or :meth:`from_layers`), then call
    :func:`~qzgeo.analysis.site_check.check_sites` as often as needed.

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
    zone_tree: shapely.STRtree = field(init=False, repr=False)

    def __post_init__(self, given_plan: OverlayPlan | None) -> None:
        self.overlap = ClassOverlap(self.planar_crs, self.classes, self.boundary_class, given_plan)
        self.plan = self.overlap.plan
        shapely.prepare(self.zone_geoms)
        self.zone_tree = shapely.STRtree(self.zone_geoms)

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
