"""How much of each site lies in each constraint class, and the conflict patches.

The constraint classes of a :class:`qzgeo.analysis.siting.SitingContext`, planned once for the
shared overlay engine (:func:`qzgeo.analysis.overlay.plan_overlay`) and indexed for patches.
"""

from __future__ import annotations

from dataclasses import InitVar, dataclass, field, replace
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS, Transformer

from qzgeo.analysis.overlay import OverlayPlan, overlay_areas, plan_overlay
from qzgeo.analysis.overlay_plan import ConstraintClass
from qzgeo.analysis.site_results import BoundaryShare, Conflict
from qzgeo.geo.crs import STORAGE_CRS
from qzgeo.geo.repair import polygonal_part
from qzgeo.geo.reproject import cached_transformer

__all__ = ["ClassOverlap", "Unchecked"]


@dataclass(frozen=True)
class Unchecked:
    """The parts of sites outside the pack's extent (or coverage): m² of each site (0 for
    most), m² of that part inside each class (rows: sites, columns: classes) and the extent
    or coverage (planar polygon)."""

    m2: npt.NDArray[np.float64]
    inside: npt.NDArray[np.float64]
    extent: Any


@dataclass
class ClassOverlap:
    """Constraint classes (planar), their overlay plan and an index of the plan's parts.

    ``given_plan``: the plan of these classes, made before (qzgeo's cache); else it is made.
    """

    planar_crs: CRS
    classes: list[ConstraintClass]
    boundary_class: ConstraintClass | None
    given_plan: InitVar[OverlayPlan | None] = None
    plan: OverlayPlan = field(init=False, repr=False)
    part_tree: shapely.STRtree = field(init=False, repr=False)
    to_lonlat: Transformer = field(init=False, repr=False)

    def __post_init__(self, given_plan: OverlayPlan | None) -> None:
        shapely.prepare([c.geometry for c in self.classes])
        # The plan's columns are read by position; positional layer ids keep two --constraint
        # files with the same stem (and so the same "layer:class") apart.
        if given_plan is None:
            given_plan = plan_overlay(
                [replace(c, layer_id=str(k)) for k, c in enumerate(self.classes)]
            )
        self.plan = given_plan
        self.part_tree = shapely.STRtree(self.plan.classes.parts)
        self.to_lonlat = cached_transformer(self.planar_crs, STORAGE_CRS)

    def inside_m2(
        self,
        planar: npt.NDArray[np.object_],
        site_m2: npt.NDArray[np.float64],
        repairs: list[list[str]],
    ) -> npt.NDArray[np.float64]:
        """Ellipsoidal m² of each site (rows) inside each class (columns), by the overlay engine.

        A site wholly inside a class gets exactly its own geodesic area (share exactly 1), as the
        engine's tiled parts cannot tell a site straddling two tiles from a partial one.
        """
        parcels = gpd.GeoDataFrame(geometry=planar, crs=self.planar_crs)
        df, rep = overlay_areas(parcels, self.plan, check_conservation=False)
        for r in rep.retries:
            repairs[int(r["parcel"])].append(
                f"the {r['op']} with the constraints failed in GEOS ({r['error']}); "
                f"redone on a {r['grid_size'] * 1000:g} mm grid"
            )
        m2 = df[list(self.plan.columns)].to_numpy(dtype=float, copy=True).reshape(len(df), -1)
        for k, c in enumerate(self.classes):
            hit = np.flatnonzero(m2[:, k] > 0)
            whole = hit[shapely.contains_properly(c.geometry, planar[hit])]
            m2[whole, k] = site_m2[whole]
        return m2

    def patches(self, k: int, sites: npt.NDArray[np.object_], *, clip: Any = None) -> list[Any]:
        """Conflict patches (planar) of sites with class ``k``: the overlap, or the part outside.

        Kept local: the overlay engine returns areas only. Pieces come from the plan's parts near
        each site, so a patch never walks a whole red line. ``clip``: the area checked (the
        pack's extent), for the part outside a boundary.
        """
        if len(sites) == 0:
            return []
        target = self.plan.classes
        si, pi = self.part_tree.query(sites, predicate="intersects")
        keep = target.group[pi] == k
        si, pi = si[keep], pi[keep]
        pieces = shapely.intersection(sites[si], target.parts[pi])
        cuts = np.searchsorted(si, np.arange(1, len(sites)))  # query results are sorted by site
        inside = np.asarray([shapely.union_all(g) for g in np.split(pieces, cuts)], dtype=object)
        out = shapely.difference(sites, inside) if self.classes[k].mode == "boundary" else inside
        if clip is not None:
            out = shapely.intersection(out, clip)
        return [polygonal_part(g) for g in out]

    def to_storage(self, geom: Any) -> Any:
        t = self.to_lonlat
        return shapely.transform(geom, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))

    def conflicts(
        self,
        planar: npt.NDArray[np.object_],
        site_m2: npt.NDArray[np.float64],
        inside: npt.NDArray[np.float64],
        *,
        with_patches: bool,
        min_area_m2: float,
        unchecked: Unchecked | None = None,
    ) -> tuple[list[list[Conflict]], list[list[tuple[Conflict, Any]]], list[BoundaryShare | None]]:
        """Conflicts, conflict patches and the development-boundary share of each site.

        ``unchecked``: the parts of the sites outside the pack's extent. A boundary that
        ends at the extent says nothing of the land beyond, so only the checked part can
        leave it; an exclusion class the pack holds out there is a conflict there too.
        """
        n = len(planar)
        conflicts: list[list[Conflict]] = [[] for _ in range(n)]
        patches: list[list[tuple[Conflict, Any]]] = [[] for _ in range(n)]
        boundary: list[BoundaryShare | None] = [None] * n
        bclass = self.boundary_class
        out_m2 = np.zeros(n) if unchecked is None else unchecked.m2
        for k, c in enumerate(self.classes):
            inside_m2 = inside[:, k]
            conflict_m2 = inside_m2
            if c.mode == "boundary":
                beyond = 0.0 if unchecked is None else unchecked.inside[:, k]
                conflict_m2 = (site_m2 - out_m2) - (inside_m2 - beyond)
            conflict_m2 = np.where(conflict_m2 < min_area_m2, 0.0, np.minimum(conflict_m2, site_m2))
            share = np.divide(conflict_m2, site_m2, out=np.zeros(n), where=site_m2 > 0)
            hit = np.flatnonzero(conflict_m2 > 0)
            drawn = [None] * hit.size
            if with_patches:
                clip = None if unchecked is None or c.mode != "boundary" else unchecked.extent
                drawn = self.patches(k, planar[hit], clip=clip)
            for i, patch in zip(hit.tolist(), drawn, strict=True):
                conf = Conflict(
                    c.layer_id, c.conflict_class, c.mode, float(conflict_m2[i]), float(share[i])
                )
                conflicts[i].append(conf)
                if patch is not None and not patch.is_empty:
                    patches[i].append((conf, self.to_storage(patch)))
            if c is bclass:
                # beyond the extent or coverage: unchecked, inside the boundary or not (a
                # boundary drawn into the sea past the districts is unchecked there, as in
                # analyze and the site's warning); the rest of the checked part inside
                off = np.divide(out_m2, site_m2, out=np.zeros(n), where=site_m2 > 0)
                off = np.clip(off, 0.0, 1.0 - share)
                boundary = [
                    BoundaryShare(
                        c.layer_id,
                        c.cls,
                        1.0 - float(share[i]) - float(off[i]),
                        float(share[i]),
                        float(off[i]),
                    )
                    for i in range(n)
                ]
        return conflicts, patches, boundary
