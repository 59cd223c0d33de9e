"""A fast, exact overlay engine: per-parcel overlap areas with constraint classes.

Design (measured on a 2-core machine, see ``benchmarks/README_overlay.md``):

- Each constraint class is merged once (coverage union when its polygons form a coverage) and
  split into disjoint polygonal *parts*; parts with many vertices are subdivided so that one
  parcel/part intersection never walks a 50 000-vertex ring.
- Per chunk of parcels an STRtree over the parcels is queried with the prepared parts
  (``intersects``). Pairs where the part ``contains_properly`` the parcel take the parcel's full
  area without any overlay; only the remaining *boundary pairs* go through
  ``shapely.intersection``, on arrays. Parcels far from every part boundary skip the query and
  the predicate: a raster index of the cells that part boundaries pass through, built once per
  process and target (:mod:`qzgeo.analysis.cell_index`), gives their pairs exactly.
- The area that a parcel loses (exclusions ∪ everything outside the boundaries) is measured
  against one precomputed geometry, so classes that overlap each other are never counted twice:
  without boundary classes it is ``union(exclusions)``; with them, the *kept* land
  ``intersection(boundaries) − union(exclusions)`` is bounded, and the constrained area is the
  parcel's remainder outside it. Every intersection piece of a remainder target is checked
  against the area of parcel ∩ part computed independently by Green's theorem in numpy
  (:mod:`qzgeo.geo.green_area`); the parcels it cannot confirm (shared edges and other
  degenerate configurations, disagreements) get their remainder from a second GEOS overlay (a
  difference), and available + constrained is checked against the parcel area.
- Chunks run on a thread pool (shapely releases the GIL). GEOS prepared geometries are not
  thread-safe (libgeos/geos#825), so every thread prepares its own copy of the parts.
- Areas are ellipsoidal: planar Gauss-Krüger areas divided by the areal scale factor ``k²`` at
  the piece's centroid, interpolated from pyproj's ``get_factors`` on a 1 km lattice. The error
  against ``pyproj.Geod`` stays below 1e-7 relative across a 3-degree zone (tested).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import CRS

from qzgeo._errors import CRSError, GeometryError
from qzgeo.analysis.overlay_kernel import (
    OverlayReport,
    TargetResult,
    jsonable,
    run_targets,
    start_cell_indexes,
)
from qzgeo.analysis.overlay_plan import (
    DEFAULT_MAX_VERTICES,
    POLYGONAL_TYPES,
    ConstraintClass,
    OverlayPlan,
    Target,
    class_column,
    merge_polygons,
    plan_overlay,
)
from qzgeo.geo.area import AreaScale

__all__ = [
    "OverlayPlan",
    "OverlayReport",
    "class_column",
    "conflict_flags",
    "merge_polygons",
    "overlay_areas",
    "overlay_areas_and_groups",
    "overlay_groups",
    "plan_overlay",
]

#: available + constrained may miss the parcel by 0.01 m² + 1e-9 of its area, and never by
#: more than 1e-6 of it (the check before, kept for parcels under 1e4 m²). Measured residuals:
#: the bundled pack, 3000 parcels of 1 m² to 2e9 m² at its constraints' vertices, at most
#: 1e-3 m² (at 5e7 m²; 1.2e-4 m² at 8e4 m², the largest relative one, 1.5e-9; under 1e4 m²,
#: 2.5e-10 relative); county parcels of 8e8..2e10 m² far from their meridian, 0 (remainder
#: taken as parcel − pieces) or up to 0.07 m² (the remainder by GEOS's difference). 1e-9 is
#: the pieces' own agreement with Green's area (qzgeo.geo.green_area.AGREE_REL): a parcel
#: whose pieces agree to it is not remeasured, so a stricter check would judge only the
#: remeasured ones. 1e-6 alone let 1 000 m² through on a 1e9 m² parcel (34 m² went unseen);
#: this lets 1.01 m².
CONSERVATION_ATOL_M2 = 0.01
CONSERVATION_RTOL = 1e-9
CONSERVATION_RTOL_MAX = 1e-6

ObjArray = npt.NDArray[np.object_]
FloatArray = npt.NDArray[np.float64]


def _check_planar(crs: Any) -> CRS:
    if crs is None:
        msg = "the parcels have no CRS; set one (e.g. set_crs('EPSG:...')) before the overlay"
        raise CRSError(msg)
    c = CRS.from_user_input(crs)
    if c.is_geographic:
        msg = (
            f"the parcels are in {c.name} (lon/lat); the overlay needs a planar Gauss-Krüger CRS: "
            "use to_crs(loaded.planar_crs) or the GK zone of the data"
        )
        raise CRSError(msg)
    return c


def _prepare_parcels(
    parcels: gpd.GeoDataFrame, *, ellipsoidal: bool
) -> tuple[ObjArray, AreaScale | None, FloatArray | None]:
    """The parcels' geometries, the area scale over them and, with it, their bounds."""
    crs = _check_planar(parcels.crs)
    geoms = np.asarray(parcels.geometry.values, dtype=object)
    # A missing geometry has type id -1: one pass over the parcels tells both.
    bad = np.flatnonzero(~np.isin(shapely.get_type_id(geoms), POLYGONAL_TYPES))
    if len(bad):
        msg = (
            f"{len(bad)} parcel(s) are not polygons (first: {parcels.index[bad[0]]!r}); "
            "repair them with qzgeo.geo.repair.repair_layer first"
        )
        raise GeometryError(msg)
    if not (ellipsoidal and len(geoms)):
        return geoms, None, None
    # The chunks reuse the parcels' bounds (their trees, the Green check).
    bounds = shapely.bounds(geoms)
    with warnings.catch_warnings():  # as shapely.total_bounds: NaN if every parcel is empty
        warnings.simplefilter("ignore", RuntimeWarning)
        lo, hi = np.nanmin(bounds[:, :2], axis=0), np.nanmax(bounds[:, 2:], axis=0)
    scale = AreaScale(crs, (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])))
    return geoms, scale, bounds


def overlay_areas(
    parcels: gpd.GeoDataFrame,
    constraints: Sequence[ConstraintClass] | OverlayPlan,
    *,
    workers: int = 2,
    chunk_size: int = 20_000,
    ellipsoidal: bool = True,
    progress: bool = False,
    tolerance_m2: float = 0.01,
    check_conservation: bool = True,
) -> tuple[pd.DataFrame, OverlayReport]:
    """Overlap of every parcel with every constraint class, and its available area.

    Parameters
    ----------
    parcels
        Polygons in a planar Gauss-Krüger CRS (the pack's ``planar_crs``), repaired.
    constraints
        Merged classes from :func:`qzgeo.analysis.zones.merge_constraints` (same planar CRS), or an
        :class:`OverlayPlan` built from them (reuse one plan for many calls).
    workers
        Threads (shapely releases the GIL; 2 threads give 1.3-1.7x on 2 cores).
    chunk_size
        Parcels per chunk (a chunk is the unit of work of one thread).
    ellipsoidal
        Areas on the CGCS2000 ellipsoid (default) rather than planar GK areas.
    progress
        Show a tqdm progress bar on stderr.
    tolerance_m2
        Overlaps at or below this area (m²) do not make a conflict.
    check_conservation
        Check every intersection piece against an independent Green's-theorem area of parcel
        ∩ part (to 1e-9 relative); a partly covered parcel whose pieces are not all confirmed
        (degenerate configurations, about 1 % of boundary pairs, or a disagreement) has its
        remainder measured by a second GEOS overlay (a difference), and
        ``available + constrained = area`` is checked to 0.01 m² + 1e-9 of the area, at
        most 1e-6 of it (:data:`CONSERVATION_ATOL_M2`, :data:`CONSERVATION_RTOL`,
        :data:`CONSERVATION_RTOL_MAX`); failures go to
        ``OverlayReport.conservation_failures``. Without it the remainder is
        ``area - overlap``.

    Returns
    -------
    (DataFrame, OverlayReport)
        Indexed like ``parcels``: ``area_m2``; one column ``"{layer}:{class}"`` per class with
        the overlap in m² (for a boundary class: the area *inside* the boundary);
        ``inside_boundary`` (share of the parcel inside every boundary class, NaN without
        boundary classes); ``constrained_m2`` (union of exclusion overlaps and parts outside
        boundaries); ``available_m2``; ``conflict``.

    Examples
    --------
    >>> from shapely import box
    >>> from qzgeo.analysis.overlay_plan import ConstraintClass
    >>> red = ConstraintClass("red", "生态保护红线", "exclusion", "internal", box(0, 0, 50, 100))
    >>> parcels = gpd.GeoDataFrame(geometry=[box(0, 0, 100, 100)], crs="EPSG:4548")
    >>> df, rep = overlay_areas(parcels, [red], ellipsoidal=False)
    >>> row = df.iloc[0]
    >>> float(row["area_m2"]), float(row["red:生态保护红线"]), float(row["available_m2"])
    (10000.0, 5000.0, 5000.0)
    >>> bool(row["conflict"])
    True
    """
    plan = constraints if isinstance(constraints, OverlayPlan) else plan_overlay(constraints)
    out, _, report = _measure(
        parcels, ellipsoidal, plan, None, workers, chunk_size, progress, tolerance_m2,
        check_conservation,
    )  # fmt: skip
    return out, report


def overlay_areas_and_groups(
    parcels: gpd.GeoDataFrame,
    plan: OverlayPlan,
    groups: Target,
    *,
    workers: int = 2,
    chunk_size: int = 20_000,
    progress: bool = False,
    tolerance_m2: float = 0.01,
    check_conservation: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame, OverlayReport]:
    """:func:`overlay_areas` and :func:`overlay_groups` in one pass over the parcels.

    One STRtree and one (ellipsoidal) parcel area per chunk serve the constraint classes and
    the groups (zones): what a parcel analysis needs, for the price of one overlay call.
    ``groups`` is a :class:`~qzgeo.analysis.overlay_plan.Target` (``Target.build``); the group
    table has the columns of :func:`overlay_groups`.
    """
    out, pairs, report = _measure(
        parcels, True, plan, groups, workers, chunk_size, progress, tolerance_m2,
        check_conservation,
    )  # fmt: skip
    assert pairs is not None
    return out, pairs, report


def _measure(
    parcels: gpd.GeoDataFrame,
    ellipsoidal: bool,
    plan: OverlayPlan,
    groups: Target | None,
    workers: int,
    chunk_size: int,
    progress: bool,
    tolerance_m2: float,
    check: bool,
) -> tuple[pd.DataFrame, pd.DataFrame | None, OverlayReport]:
    targets = [plan.classes] if plan.balance is None else [plan.classes, plan.balance]
    every = [*targets, *([groups] if groups is not None else [])]
    # The cell indexes depend on the plan only: built while the parcels are checked.
    indexes = start_cell_indexes(every, parcels=len(parcels), edges=check)
    geoms, scale, bounds = _prepare_parcels(parcels, ellipsoidal=ellipsoidal)
    index = parcels.index
    ids = np.asarray(index)
    area, res, report = run_targets(
        geoms,
        ids,
        every,
        scale,
        workers=workers,
        chunk_size=chunk_size,
        progress=progress,
        desc="overlay",
        check=check,
        bounds=bounds,
        indexes=indexes,
    )
    mat, constrained, available = _balance(plan, area, res[: len(targets)], check)
    out = _area_table(index, plan, area, mat, constrained, available, tolerance_m2)
    if check:
        _check_conservation(out, ids, report)
    pairs = _group_pairs(res[-1], ids, groups.labels) if groups is not None else None
    return out, pairs, report


def _group_pairs(r: TargetResult, ids: npt.NDArray[Any], labels: Sequence[str]) -> pd.DataFrame:
    raw = pd.DataFrame({"pos": r.pos, "group": r.group, "m2": r.m2})
    df = pd.DataFrame(raw.groupby(["pos", "group"], sort=True, as_index=False)["m2"].sum())
    df.insert(0, "parcel", ids[df["pos"].to_numpy()])
    df["label"] = [labels[g] for g in df["group"].to_numpy()]
    return df[["parcel", "pos", "group", "label", "m2"]]


def _balance(
    plan: OverlayPlan, area: FloatArray, res: list[TargetResult], check: bool
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per-class overlap matrix, constrained and available m² from the targets' results."""
    n = len(area)
    mat = np.zeros((n, len(plan.classes.labels)))
    cls = res[0]
    np.add.at(mat, (cls.pos, cls.group), cls.m2)
    bal = res[0] if plan.balance is None else res[1]
    overlap = np.zeros(n)
    if plan.balance is None:
        overlap = mat[:, 0].copy()
    else:
        np.add.at(overlap, bal.pos, bal.m2)
    if check:
        remainder = area.copy()
        remainder[bal.full_pos] = 0.0
        remainder[bal.rem_pos] = bal.rem_m2
    else:
        remainder = np.maximum(area - overlap, 0.0)
    if plan.balance_kind == "removed":
        return mat, overlap, remainder
    return mat, remainder, overlap


def _area_table(
    index: pd.Index,
    plan: OverlayPlan,
    area: FloatArray,
    mat: FloatArray,
    constrained: FloatArray,
    available: FloatArray,
    tolerance_m2: float,
) -> pd.DataFrame:
    """The result columns of :func:`overlay_areas`."""
    n = len(area)
    # collected first and framed once: inserting columns one by one costs pandas a new column
    # index each time
    out: dict[str, Any] = {"area_m2": area}
    for k, col in enumerate(plan.columns):
        out[col] = mat[:, k]
    bcols = plan.boundary_columns
    with np.errstate(invalid="ignore", divide="ignore"):
        if not bcols:
            inside = np.full(n, np.nan)
        elif plan.inside_group is not None:
            inside = mat[:, plan.inside_group] / area
        else:
            inside = out[bcols[0]] / area
    out["inside_boundary"] = np.clip(inside, 0.0, 1.0)
    out["constrained_m2"] = constrained
    out["available_m2"] = available
    out["conflict"] = conflict_flags(out, plan, area, tolerance_m2)
    # Not copied into one block: the arrays are the frame's own (copying 1M rows costs up to
    # 0.1 s of page faults, serial, at the end of every overlay).
    return pd.DataFrame(out, index=index, copy=False)


def conflict_flags(
    table: pd.DataFrame | Mapping[str, FloatArray],
    plan: OverlayPlan,
    area: FloatArray,
    tolerance_m2: float,
) -> npt.NDArray[np.bool_]:
    """A parcel conflicts if it overlaps an exclusion class, or reaches outside a boundary
    class, by more than ``tolerance_m2``; ``area`` is the m² the boundary shortfall is taken
    from (the parcel's, or the part of it that was checked). ``table``: the class columns,
    as a frame or as arrays by name."""
    conflict = np.zeros(len(area), dtype=bool)
    for col in plan.exclusion_columns:
        conflict |= np.asarray(table[col]) > tolerance_m2
    for col in plan.boundary_columns:
        conflict |= (area - np.asarray(table[col])) > tolerance_m2
    return conflict


def _check_conservation(out: pd.DataFrame, ids: npt.NDArray[Any], report: OverlayReport) -> None:
    area = out["area_m2"].to_numpy()
    err = np.abs(out["available_m2"].to_numpy() + out["constrained_m2"].to_numpy() - area)
    avail = out["available_m2"].to_numpy()
    cons = out["constrained_m2"].to_numpy()
    size = np.abs(area)
    tol = np.minimum(CONSERVATION_ATOL_M2 + CONSERVATION_RTOL * size, CONSERVATION_RTOL_MAX * size)
    for k in np.flatnonzero(~(err <= tol)).tolist():  # a NaN residual is a failure too
        report.conservation_failures.append(
            {
                "parcel": jsonable(ids[k]),
                "area_m2": float(area[k]),
                "available_m2": float(avail[k]),
                "constrained_m2": float(cons[k]),
                "error_m2": float(err[k]),
                "relative_error": float(err[k] / area[k]) if area[k] > 0 else float("inf"),
            }
        )


def overlay_groups(
    parcels: gpd.GeoDataFrame,
    geoms: Sequence[shapely.Geometry],
    *,
    labels: Sequence[str] | None = None,
    workers: int = 2,
    chunk_size: int = 20_000,
    ellipsoidal: bool = True,
    max_vertices: int = DEFAULT_MAX_VERTICES,
    progress: bool = False,
) -> tuple[pd.DataFrame, OverlayReport]:
    """Sparse overlap areas of parcels with individual polygons (zones, sites...).

    The polygons may overlap each other; each is measured on its own. Returns one row per
    (parcel, polygon) pair that intersects, with columns ``parcel`` (the parcel's index value),
    ``pos`` (its position), ``group`` (the polygon's position in ``geoms``), ``label`` and
    ``m2``, sorted by ``pos`` then ``group``.
    """
    pgeoms, scale, bounds = _prepare_parcels(parcels, ellipsoidal=ellipsoidal)
    labels = [str(k) for k in range(len(geoms))] if labels is None else list(labels)
    target = Target.build("groups", list(geoms), labels, max_vertices=max_vertices)
    ids = np.asarray(parcels.index)
    _, res, report = run_targets(
        pgeoms,
        ids,
        [target],
        scale,
        workers=workers,
        chunk_size=chunk_size,
        progress=progress,
        desc="zones",
        bounds=bounds,
    )
    return _group_pairs(res[0], ids, labels), report
