"""A fast, exact overlay engine: per-parcel overlap areas with constraint classes.

Design (measured on a 2-core machine, see ``benchmarks/README_overlay.md``):

- Each constraint class is merged once (coverage union when its polygons form a coverage) and
  split into disjoint polygonal *parts*; parts with many vertices are subdivided so that one
  parcel/part intersection never walks a 50 000-vertex ring.
- Per chunk of parcels an STRtree over the parcels is queried with the prepared parts
  (``intersects``). Pairs where the part ``contains_properly`` the parcel take the parcel's full
  area without any overlay; only the remaining *boundary pairs* go through
  ``shapely.intersection``, on arrays.
- The area that a parcel loses (exclusions ∪ everything outside the boundaries) is measured
  against one precomputed geometry, so classes that overlap each other are never counted twice:
  without boundary classes it is ``union(exclusions)``; with them, the *kept* land
  ``intersection(boundaries) − union(exclusions)`` is bounded, and the constrained area is the
  parcel's remainder outside it. Available and constrained areas are computed by two different
  overlays (intersection and difference) and checked against the parcel area.
- Chunks run on a thread pool (shapely releases the GIL). GEOS prepared geometries are not
  thread-safe (libgeos/geos#825), so every thread prepares its own copy of the parts.
- Areas are ellipsoidal: planar Gauss-Krüger areas divided by the areal scale factor ``k²`` at
  the piece's centroid, interpolated from pyproj's ``get_factors`` on a 1 km lattice. The error
  against ``pyproj.Geod`` stays below 1e-7 relative across a 3-degree zone (tested).
"""

from __future__ import annotations

import json
import math
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import CRS

from qzgeo._errors import CRSError, GeometryError
from qzgeo.analysis.overlay_plan import (
    DEFAULT_MAX_VERTICES,
    POLYGONAL_TYPES,
    ConstraintClass,
    OverlayPlan,
    Target,
    class_column,
    merge_polygons,
    plan_overlay,
    polygonal,
)
from qzgeo.geo.area import AreaScale

__all__ = [
    "OverlayPlan",
    "OverlayReport",
    "class_column",
    "merge_polygons",
    "overlay_areas",
    "overlay_groups",
    "plan_overlay",
]

CONSERVATION_RTOL = 1e-6
RETRY_GRID_SIZE = 0.001  # 1 mm: snap-rounding that makes GEOS overlays robust

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
ObjArray = npt.NDArray[np.object_]


@dataclass
class OverlayReport:
    """What the engine had to do beyond the plain overlay, for ``report.json``.

    ``retries``: pairs whose overlay raised a GEOS error and were redone with a 1 mm grid.
    ``dropped_parts``: non-polygonal pieces (lines, points where a parcel only touches a class)
    left out of an overlay result; their area is zero. ``conservation_failures``: parcels whose
    available + constrained area differs from the parcel area by more than 1e-6 relative.
    """

    retries: list[dict[str, Any]] = field(default_factory=list)
    dropped_parts: list[dict[str, Any]] = field(default_factory=list)
    conservation_failures: list[dict[str, Any]] = field(default_factory=list)

    def extend(self, other: OverlayReport) -> None:
        self.retries.extend(other.retries)
        self.dropped_parts.extend(other.dropped_parts)
        self.conservation_failures.extend(other.conservation_failures)

    def to_dict(self) -> dict[str, Any]:
        """The records, each list sorted so that the output does not depend on scheduling."""

        def ordered(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return sorted(records, key=lambda r: json.dumps(r, sort_keys=True, default=str))

        return {
            "retries": ordered(self.retries),
            "dropped_parts": ordered(self.dropped_parts),
            "conservation_failures": ordered(self.conservation_failures),
        }


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


# --- the per-chunk kernel -------------------------------------------------------------------


@dataclass
class _TargetResult:
    pos: IntArray  # parcel position within the whole input
    group: IntArray
    part: IntArray
    m2: FloatArray
    rem_pos: IntArray  # parcels measured by the remainder overlay (partial ones)
    rem_m2: FloatArray
    full_pos: IntArray  # parcels properly inside one part (remainder 0)


# Per-thread prepared copies of plan parts, kept across calls: GEOS prepared geometries are not
# thread-safe (libgeos/geos#825), and re-preparing a large red line on every call made one
# siting check cost time in proportion to the red line's vertices. A few plans per thread.
_PREPARED = threading.local()
_PREPARED_PLANS = 8


def _prepared_copy(src: ObjArray) -> ObjArray:
    cache: dict[int, tuple[ObjArray, ObjArray]] | None = getattr(_PREPARED, "cache", None)
    if cache is None:
        cache = _PREPARED.cache = {}
    hit = cache.get(id(src))
    if hit is not None and hit[0] is src:
        return hit[1]
    copy = shapely.from_wkb(shapely.to_wkb(src)) if len(src) else src
    shapely.prepare(copy)
    if len(cache) >= _PREPARED_PLANS:
        cache.pop(next(iter(cache)))
    cache[id(src)] = (src, copy)
    return copy


class _Runner:
    """Runs chunks on threads; each thread prepares its own copy of every target's parts."""

    def __init__(
        self,
        targets: Sequence[Target],
        scale: AreaScale | None,
        ids: npt.NDArray[Any],
        check: bool = True,
    ) -> None:
        self.check = check
        self.targets = list(targets)
        self.scale = scale
        self.ids = ids

    def parts(self, k: int) -> ObjArray:
        return _prepared_copy(self.targets[k].parts)

    def ell(self, planar: FloatArray, geoms: ObjArray) -> FloatArray:
        if self.scale is None or len(planar) == 0:
            return planar
        out = np.zeros(len(planar))
        nz = planar > 0
        if nz.any():
            c = shapely.centroid(geoms[nz])
            out[nz] = planar[nz] / self.scale(shapely.get_x(c), shapely.get_y(c))
        return out

    def run(
        self, start: int, geoms: ObjArray
    ) -> tuple[FloatArray, list[_TargetResult], OverlayReport]:
        report = OverlayReport()
        area = self.ell(shapely.area(geoms), geoms)
        tree = shapely.STRtree(geoms)
        results = []
        for k, target in enumerate(self.targets):
            parts = self.parts(k)
            if len(parts) == 0:
                pi = ci = np.zeros(0, dtype=np.int64)
            else:
                pi, ci = tree.query(parts, predicate="intersects")
            order = np.lexsort((pi, ci))
            pi, ci = pi[order], ci[order]
            full = shapely.contains_properly(parts[pi], geoms[ci])
            m2 = np.empty(len(pi))
            m2[full] = area[ci[full]]
            part_idx = np.flatnonzero(~full)
            pieces = self._overlay(
                "intersection",
                geoms[ci[part_idx]],
                parts[pi[part_idx]],
                start + ci[part_idx],
                target,
                report,
            )
            m2[part_idx] = self.ell(shapely.area(pieces), pieces)
            rem_pos = np.zeros(0, dtype=np.int64)
            rem_m2 = np.zeros(0)
            full_pos = np.unique(ci[full])
            if target.remainder and self.check:
                rem_pos, rem_m2 = self._remainder(geoms, ci, pi, full, parts, target, start, report)
            results.append(
                _TargetResult(
                    pos=start + ci,
                    group=target.group[pi],
                    part=pi,
                    m2=m2,
                    rem_pos=start + rem_pos,
                    rem_m2=rem_m2,
                    full_pos=start + full_pos,
                )
            )
        return area, results, report

    def _remainder(
        self,
        geoms: ObjArray,
        ci: IntArray,
        pi: IntArray,
        full: npt.NDArray[np.bool_],
        parts: ObjArray,
        target: Target,
        start: int,
        report: OverlayReport,
    ) -> tuple[IntArray, FloatArray]:
        """Area of parcel − union(its boundary parts), by a difference, parcel by parcel.

        The parts of one target are disjoint, so subtracting them one at a time is exact.
        """
        inside = np.zeros(len(geoms), dtype=bool)
        inside[ci[full]] = True
        sel = ~inside[ci]
        ci_p, pi_p = ci[sel], pi[sel]
        if len(ci_p) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        # Pairs are sorted by parcel; the rank of a pair within its parcel gives the round.
        first = np.r_[True, ci_p[1:] != ci_p[:-1]]
        starts = np.flatnonzero(first)
        rank = np.arange(len(ci_p)) - np.repeat(starts, np.diff(np.r_[starts, len(ci_p)]))
        uniq = ci_p[starts]
        where = np.full(len(geoms), -1, dtype=np.int64)
        where[uniq] = np.arange(len(uniq))
        rest = geoms[uniq].copy()
        for r in range(int(rank.max()) + 1):
            m = rank == r
            slot = where[ci_p[m]]
            rest[slot] = self._overlay(
                "difference", rest[slot], parts[pi_p[m]], start + ci_p[m], target, report
            )
        return uniq, self.ell(shapely.area(rest), rest)

    def _overlay(
        self,
        op: str,
        a: ObjArray,
        b: ObjArray,
        pos: IntArray,
        target: Target,
        report: OverlayReport,
    ) -> ObjArray:
        func: Callable[..., Any] = getattr(shapely, op)
        if len(a) == 0:
            return np.zeros(0, dtype=object)
        try:
            out = np.asarray(func(a, b), dtype=object)
        except shapely.errors.GEOSException:
            out = np.empty(len(a), dtype=object)
            for k in range(len(a)):
                try:
                    out[k] = func(a[k], b[k])
                except shapely.errors.GEOSException as exc:
                    try:
                        out[k] = func(a[k], b[k], grid_size=RETRY_GRID_SIZE)
                    except shapely.errors.GEOSException as exc2:
                        msg = (
                            f"the {op} of parcel {self.ids[pos[k]]!r} with {target.name} failed "
                            f"even on a 1 mm grid ({exc2}); repair the parcel or the layer"
                        )
                        raise GeometryError(msg) from exc2
                    report.retries.append(
                        {
                            "parcel": _jsonable(self.ids[pos[k]]),
                            "target": target.name,
                            "op": op,
                            "error": str(exc),
                            "grid_size": RETRY_GRID_SIZE,
                        }
                    )
        types = shapely.get_type_id(out)
        odd = np.flatnonzero(~np.isin(types, POLYGONAL_TYPES) & ~shapely.is_empty(out))
        for k in odd.tolist():
            kept = polygonal(out[k])
            dropped = sorted({p.geom_type for p in shapely.get_parts(out[k])} - {"Polygon"})
            if dropped:
                report.dropped_parts.append(
                    {
                        "parcel": _jsonable(self.ids[pos[k]]),
                        "target": target.name,
                        "op": op,
                        "dropped": dropped,
                    }
                )
            out[k] = kept
        return out


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v if isinstance(v, int | float | str) else str(v)


def _chunks(n: int, size: int) -> Iterator[tuple[int, int]]:
    for s in range(0, n, size):
        yield s, min(n, s + size)


def _progress_bar(total: int, enabled: bool, desc: str) -> Any:
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return None
    return tqdm(total=total, desc=desc, unit="parcel", file=sys.stderr)


def _run_targets(
    geoms: ObjArray,
    ids: npt.NDArray[Any],
    targets: Sequence[Target],
    scale: AreaScale | None,
    *,
    workers: int,
    chunk_size: int,
    progress: bool,
    desc: str,
    check: bool = True,
) -> tuple[FloatArray, list[_TargetResult], OverlayReport]:
    if chunk_size < 1:
        msg = f"chunk_size must be a positive number of parcels, got {chunk_size!r}"
        raise ValueError(msg)
    runner = _Runner(targets, scale, ids, check)
    if workers > 1:
        # At least ~4 chunks per thread, so that small inputs are shared out too.
        chunk_size = min(chunk_size, max(1_000, math.ceil(len(geoms) / (4 * workers))))
    spans = list(_chunks(len(geoms), chunk_size))
    bar = _progress_bar(len(geoms), progress, desc)

    def job(span: tuple[int, int]) -> tuple[FloatArray, list[_TargetResult], OverlayReport]:
        res = runner.run(span[0], geoms[span[0] : span[1]])
        if bar is not None:
            bar.update(span[1] - span[0])
        return res

    try:
        if workers > 1 and len(spans) > 1:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="qzgeo-overlay") as ex:
                outs = list(ex.map(job, spans))
        else:
            outs = [job(s) for s in spans]
    finally:
        if bar is not None:
            bar.close()
    report = OverlayReport()
    for o in outs:
        report.extend(o[2])
    area = np.concatenate([o[0] for o in outs]) if outs else np.zeros(0)
    merged = []
    for k in range(len(targets)):
        rs = [o[1][k] for o in outs]
        merged.append(
            _TargetResult(
                *(
                    np.concatenate([getattr(r, f) for r in rs])
                    if rs
                    else np.zeros(0, dtype=np.int64 if f != "m2" and f != "rem_m2" else float)
                    for f in ("pos", "group", "part", "m2", "rem_pos", "rem_m2", "full_pos")
                )
            )
        )
    return area, merged, report


def _prepare_parcels(
    parcels: gpd.GeoDataFrame, *, ellipsoidal: bool
) -> tuple[ObjArray, AreaScale | None]:
    crs = _check_planar(parcels.crs)
    geoms = np.asarray(parcels.geometry.values, dtype=object)
    bad = np.flatnonzero(
        shapely.is_missing(geoms) | ~np.isin(shapely.get_type_id(geoms), POLYGONAL_TYPES)
    )
    if len(bad):
        msg = (
            f"{len(bad)} parcel(s) are not polygons (first: {parcels.index[bad[0]]!r}); "
            "repair them with qzgeo.geo.repair.repair_layer first"
        )
        raise GeometryError(msg)
    scale = None
    if ellipsoidal and len(geoms):
        b = shapely.total_bounds(geoms)
        scale = AreaScale(crs, (float(b[0]), float(b[1]), float(b[2]), float(b[3])))
    return geoms, scale


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
        Measure the remainder of each partly covered parcel by a second, independent overlay
        (a difference) and check ``available + constrained = area`` to 1e-6 relative; failures
        go to ``OverlayReport.conservation_failures``. Costs one more overlay per boundary pair;
        without it the remainder is ``area - overlap``.

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
    >>> parcels = gpd.GeoDataFrame(geometry=[box(0, 0, 100, 100)], crs="EPSG:4545")
    >>> df, rep = overlay_areas(parcels, [red], ellipsoidal=False)
    >>> row = df.iloc[0]
    >>> float(row["area_m2"]), float(row["red:生态保护红线"]), float(row["available_m2"])
    (10000.0, 5000.0, 5000.0)
    >>> bool(row["conflict"])
    True
    """
    plan = constraints if isinstance(constraints, OverlayPlan) else plan_overlay(constraints)
    geoms, scale = _prepare_parcels(parcels, ellipsoidal=ellipsoidal)
    ids = np.asarray(parcels.index)
    targets = [plan.classes] if plan.balance is None else [plan.classes, plan.balance]
    area, res, report = _run_targets(
        geoms,
        ids,
        targets,
        scale,
        workers=workers,
        chunk_size=chunk_size,
        progress=progress,
        desc="overlay",
        check=check_conservation,
    )
    n = len(geoms)
    n_groups = len(plan.classes.labels)
    mat = np.zeros((n, n_groups))
    cls = res[0]
    np.add.at(mat, (cls.pos, cls.group), cls.m2)
    bal = res[0] if plan.balance is None else res[1]
    overlap = np.zeros(n)
    if plan.balance is None:
        overlap = mat[:, 0].copy()
    else:
        np.add.at(overlap, bal.pos, bal.m2)
    if check_conservation:
        remainder = area.copy()
        remainder[bal.full_pos] = 0.0
        remainder[bal.rem_pos] = bal.rem_m2
    else:
        remainder = np.maximum(area - overlap, 0.0)
    if plan.balance_kind == "removed":
        constrained, available = overlap, remainder
    else:
        available, constrained = overlap, remainder

    out = pd.DataFrame(index=parcels.index)
    out["area_m2"] = area
    for k, col in enumerate(plan.columns):
        out[col] = mat[:, k]
    bcols = plan.boundary_columns
    with np.errstate(invalid="ignore", divide="ignore"):
        if not bcols:
            inside = np.full(n, np.nan)
        elif plan.inside_group is not None:
            inside = mat[:, plan.inside_group] / area
        else:
            inside = out[bcols[0]].to_numpy() / area
    out["inside_boundary"] = np.clip(inside, 0.0, 1.0)
    out["constrained_m2"] = constrained
    out["available_m2"] = available
    conflict = np.zeros(n, dtype=bool)
    for col in plan.exclusion_columns:
        conflict |= out[col].to_numpy() > tolerance_m2
    for col in bcols:
        conflict |= (area - out[col].to_numpy()) > tolerance_m2
    out["conflict"] = conflict
    if check_conservation:
        _check_conservation(out, ids, report)
    return out, report


def _check_conservation(out: pd.DataFrame, ids: npt.NDArray[Any], report: OverlayReport) -> None:
    area = out["area_m2"].to_numpy()
    err = np.abs(out["available_m2"].to_numpy() + out["constrained_m2"].to_numpy() - area)
    avail = out["available_m2"].to_numpy()
    cons = out["constrained_m2"].to_numpy()
    for k in np.flatnonzero(err > CONSERVATION_RTOL * np.maximum(area, 1e-300)).tolist():
        report.conservation_failures.append(
            {
                "parcel": _jsonable(ids[k]),
                "area_m2": float(area[k]),
                "available_m2": float(avail[k]),
                "constrained_m2": float(cons[k]),
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
    pgeoms, scale = _prepare_parcels(parcels, ellipsoidal=ellipsoidal)
    labels = [str(k) for k in range(len(geoms))] if labels is None else list(labels)
    target = Target.build("groups", list(geoms), labels, max_vertices=max_vertices)
    ids = np.asarray(parcels.index)
    _, res, report = _run_targets(
        pgeoms,
        ids,
        [target],
        scale,
        workers=workers,
        chunk_size=chunk_size,
        progress=progress,
        desc="zones",
    )
    r = res[0]
    raw = pd.DataFrame({"pos": r.pos, "group": r.group, "m2": r.m2})
    df = pd.DataFrame(raw.groupby(["pos", "group"], sort=True, as_index=False)["m2"].sum())
    df.insert(0, "parcel", ids[df["pos"].to_numpy()])
    df["label"] = [labels[g] for g in df["group"].to_numpy()]
    return df[["parcel", "pos", "group", "label", "m2"]], report
