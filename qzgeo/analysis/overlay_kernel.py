"""The per-chunk kernel of the overlay engine: STRtree query, full pairs, exact overlays.

:mod:`qzgeo.analysis.overlay` turns parcels and an :class:`~qzgeo.analysis.overlay_plan.OverlayPlan`
into tables; this module runs one chunk of parcels against the plan's targets, on a thread pool,
and records what went beyond a plain overlay in an :class:`OverlayReport`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from qzgeo.analysis.cell_index import CellIndex, ParcelTrees
from qzgeo.analysis.overlay_plan import POLYGONAL_TYPES, Target, polygonal
from qzgeo.analysis.overlay_report import OverlayReport, jsonable
from qzgeo.analysis.overlay_threads import (
    edge_index,
    prepared_copy,
    ring_runs,
    spans_of,
    start_indexes,
)
from qzgeo.geo.area import AreaScale, rounding_m2
from qzgeo.geo.area_lattice import lattice_wide
from qzgeo.geo.area_moments import Measured, ellipsoidal_m2, measure, remainder_m2, wide
from qzgeo.geo.convex_clip import clip_areas, convex_windows
from qzgeo.geo.green_area import agreement_m2, agrees, pair_areas
from qzgeo.geo.overlay_retry import RETRY_GRID_SIZE, retry_on_grid

__all__ = [
    "PREFILTER_MIN_PARCELS",
    "ChunkRunner",
    "OverlayReport",
    "TargetResult",
    "jsonable",
    "run_targets",
    "start_cell_indexes",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
ObjArray = npt.NDArray[np.object_]

#: A target's cell prefilter (:mod:`qzgeo.analysis.cell_index`) is built once a process has
#: measured this many parcels against it (a one-site check never builds one; the chunks of a
#: streamed analysis add up). Break-even, measured: ~85 000 parcels for the 1 128 parts of the
#: overlay benchmark (build 0.05 s, 0.6 µs saved per parcel), ~250 000 for the three light
#: targets of the bundled pack. ``None`` turns the prefilter off (tests, benchmarks).
PREFILTER_MIN_PARCELS: int | None = 100_000


@dataclass
class TargetResult:
    pos: IntArray  # parcel position within the whole input
    group: IntArray
    part: IntArray
    m2: FloatArray
    rem_pos: IntArray  # parcels measured by the remainder overlay (partial ones)
    rem_m2: FloatArray
    full_pos: IntArray  # parcels properly inside one part (remainder 0)


@dataclass
class _Pairs:
    """The (parcel, part) pairs of one chunk and one target, sorted by parcel then part.

    ``pieces`` measures the intersection pieces of the boundary pairs (zeros for full pairs).
    """

    ci: IntArray  # parcel, within the chunk
    pi: IntArray  # part
    full: npt.NDArray[np.bool_]  # the part contains_properly the parcel
    m2: FloatArray  # measured overlap (ellipsoidal if the runner is)
    pieces: Measured


@dataclass
class _Rules:
    """Per parcel of a chunk: ``curved`` gets the curvature term, ``cut`` the area lattice
    (:func:`~qzgeo.geo.area_moments.measure`); their pieces follow them."""

    curved: npt.NDArray[np.bool_]
    cut: npt.NDArray[np.bool_]

    def at(self, idx: IntArray) -> _Rules:
        return _Rules(self.curved[idx], self.cut[idx])


class ChunkRunner:
    """Runs chunks on threads; each thread prepares its own copy of every target's parts.

    ``indexes``: a cell index per target (:mod:`qzgeo.analysis.cell_index`, ``None`` for
    none), to take the parcels far from every part boundary without GEOS, or a future of them
    (:func:`start_cell_indexes`), waited for once a chunk needs them.
    """

    def __init__(
        self,
        targets: Sequence[Target],
        scale: AreaScale | None,
        ids: npt.NDArray[Any],
        check: bool = True,
        indexes: Sequence[CellIndex | None] | Future[list[CellIndex | None]] = (),
    ) -> None:
        self.check = check
        self.targets = list(targets)
        self.scale = scale
        self.ids = ids
        self._pending = indexes if isinstance(indexes, Future) else None
        given = [] if isinstance(indexes, Future) else list(indexes)
        self.indexes: list[CellIndex | None] = given or [None] * len(self.targets)

    def index(self, k: int) -> CellIndex | None:
        """The cell index of target ``k`` (waits for a pending build)."""
        pending = self._pending
        if pending is not None:
            # Threads may both resolve it: the same list, and ``indexes`` is set first.
            self.indexes = pending.result()
            self._pending = None
        return self.indexes[k]

    def parts(self, k: int) -> ObjArray:
        return prepared_copy(self.targets[k].parts)

    def measure(self, geoms: ObjArray, rules: _Rules) -> Measured:
        """Areas of ``geoms``; with a scale, ellipsoidal (:func:`~qzgeo.geo.area_moments.measure`:
        the wide parcels and their pieces get the curvature term, the widest the lattice)."""
        return measure(geoms, self.scale, rules.curved, rules.cut)

    def run(
        self, start: int, geoms: ObjArray, bounds: FloatArray | None = None
    ) -> tuple[FloatArray, list[TargetResult], OverlayReport]:
        """Measure one chunk; ``bounds``: ``shapely.bounds(geoms)`` if the caller has them."""
        report = OverlayReport()
        trees = ParcelTrees(geoms, bounds=bounds)
        # Only ellipsoidal areas need the curvature term (planar ones are exact as they are).
        curved = wide(trees.bounds()) & (self.scale is not None)
        rules = _Rules(curved, curved & lattice_wide(trees.bounds()))
        parcels = self.measure(geoms, rules)
        results = []
        for k, target in enumerate(self.targets):
            parts = self.parts(k)
            pairs = self._pairs(trees, k, parts, parcels, rules, target, start, report)
            rem_pos = np.zeros(0, dtype=np.int64)
            rem_m2 = np.zeros(0)
            if target.remainder and self.check:
                rem_pos, rem_m2 = self._remainder(
                    k, trees, (parcels, rules), pairs, parts, start, report
                )
            results.append(
                TargetResult(
                    pos=start + pairs.ci,
                    group=target.group[pairs.pi],
                    part=pairs.pi,
                    m2=pairs.m2,
                    rem_pos=start + rem_pos,
                    rem_m2=rem_m2,
                    full_pos=start + np.unique(pairs.ci[pairs.full]),
                )
            )
        return parcels.m2, results, report

    def _pairs(
        self,
        trees: ParcelTrees,
        k: int,
        parts: ObjArray,
        parcels: Measured,
        rules: _Rules,
        target: Target,
        start: int,
        report: OverlayReport,
    ) -> _Pairs:
        """The pairs of one target and their overlaps: parcel area or an intersection.

        Parcels that the target's cell index passes come with their (full) pairs; the others
        are queried in an STRtree and told full by ``contains_properly``.
        """
        geoms, area = trees.geoms, parcels.m2
        index = self.index(k)
        sel = kci = kpi = None
        if index is not None:
            passed, kci, kpi = index.pairs(trees.bounds())
            sel = np.flatnonzero(~passed)
        pi, ci = trees.query(parts, sel)
        full = shapely.contains_properly(parts[pi], geoms[ci])
        if kci is not None and kpi is not None and len(kci):
            pi, ci, full = np.r_[pi, kpi], np.r_[ci, kci], np.r_[full, np.ones(len(kci), bool)]
        order = np.lexsort((pi, ci))
        pi, ci, full = pi[order], ci[order], full[order]
        part_idx = np.flatnonzero(~full)
        measured = self._pieces(k, (geoms, rules), ci[part_idx], parts, pi[part_idx], start, report)
        m2 = np.empty(len(pi))
        m2[full] = area[ci[full]]
        m2[part_idx] = measured.m2
        spread = Measured.zeros(len(pi))
        spread.put(part_idx, measured)
        return _Pairs(ci=ci, pi=pi, full=full, m2=m2, pieces=spread)

    def _pieces(
        self,
        k: int,
        chunk: tuple[ObjArray, _Rules],
        ci: IntArray,
        parts: ObjArray,
        pi: IntArray,
        start: int,
        report: OverlayReport,
    ) -> Measured:
        """Planar area, centroid and m² of each ``geoms[ci] ∩ parts[pi]`` (``chunk``: the
        parcels and their :class:`_Rules`).

        A pair whose parcel is convex is clipped in numpy (:mod:`qzgeo.geo.convex_clip`,
        ~4x cheaper than a GEOS overlay; with second moments for the pieces of curved
        parcels); the others, and the pairs it is not sure of (a touch, which the overlay
        reports as dropped lines or points), are overlaid by GEOS.
        """
        geoms, rules = chunk
        uniq, inv = np.unique(ci, return_inverse=True)
        windows = convex_windows(geoms[uniq])
        # A parcel the area lattice cuts (qzgeo.geo.area_lattice) has its pieces cut too: they
        # need their geometry, so GEOS's overlay.
        sel = np.flatnonzero(((windows.of >= 0) & ~rules.cut[uniq])[inv])
        runs, win = ring_runs(self.targets[k].parts), windows.of[inv][sel]
        clip = clip_areas(runs, pi[sel], windows, win, second=rules.curved[ci[sel]])
        done, rest = sel[clip.sure], np.ones(len(ci), dtype=bool)
        rest[done] = False
        rest = np.flatnonzero(rest)
        pieces = self._overlay(
            "intersection", geoms[ci[rest]], parts[pi[rest]], start + ci[rest], self.targets[k],
            report,
        )  # fmt: skip
        out = Measured.zeros(len(ci))
        out.put(rest, self.measure(pieces, rules.at(ci[rest])))
        s = clip.sure
        out.planar[done], out.x[done], out.y[done] = clip.area[s], clip.x[s], clip.y[s]
        out.sxx[done], out.sxy[done], out.syy[done] = clip.sxx[s], clip.sxy[s], clip.syy[s]
        out.m2[done] = out.planar[done]
        if self.scale is not None:
            moments = (out.sxx[done], out.sxy[done], out.syy[done])
            curved = rules.curved[ci[done]]
            out.m2[done] = ellipsoidal_m2(
                self.scale, out.planar[done], out.x[done], out.y[done], moments, curved
            )
        return out

    def _remainder(
        self,
        k: int,
        trees: ParcelTrees,
        measured: tuple[Measured, _Rules],
        pairs: _Pairs,
        parts: ObjArray,
        start: int,
        report: OverlayReport,
    ) -> tuple[IntArray, FloatArray]:
        """Area of parcel − union(its boundary parts), for each parcel with boundary pairs.

        Each intersection piece is first checked against the planar area of parcel ∩ part by
        Green's theorem (:mod:`qzgeo.geo.green_area`, no GEOS overlay). A parcel whose pieces
        all agree has the remainder parcel − Σ pieces, its centroid from the moments, or 0
        where that is within the rounding the agreement allows (a parcel covered by two
        parts of a subdivided class). The others (undecided configurations such as shared
        edges, a disagreement) are measured by a second, independent overlay, a difference,
        which the conservation check then compares with the pieces.
        """
        geoms = trees.geoms
        parcels, rules = measured
        inside = np.zeros(len(geoms), dtype=bool)
        inside[pairs.ci[pairs.full]] = True
        sel = np.flatnonzero(~inside[pairs.ci])
        ci_p, pi_p = pairs.ci[sel], pairs.pi[sel]
        if len(ci_p) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        # Pairs are sorted by parcel: runs of one parcel.
        first = np.r_[True, ci_p[1:] != ci_p[:-1]]
        uniq, slot = ci_p[first], np.cumsum(first) - 1
        planar = pairs.pieces.planar[sel]
        rest = parcels.planar[uniq] - np.bincount(slot, planar, len(uniq))
        slack = np.bincount(slot, agreement_m2(parcels.planar[ci_p]), len(uniq))
        edges = edge_index(self.targets[k].parts)
        green, decided = pair_areas(geoms, ci_p, parts, pi_p, edges, bounds=trees.bounds())
        ok = agrees(green, decided, planar, parcels.planar[ci_p])
        # Pieces that all agree and leave no more than rounding: covered, 0. The agreement's
        # slack is far above rounding for a large parcel (2.5 m² a pair at 50 km): a smaller
        # remainder than that is told from rounding by the difference.
        redo = np.zeros(len(uniq), dtype=bool)
        redo[slot[~ok]] = True
        per_piece = rounding_m2(trees.bounds()[uniq], shapely.length(geoms[uniq]))
        rounding = per_piece * np.bincount(slot, minlength=len(uniq))
        zero = ~redo & (np.abs(rest) <= np.minimum(slack, rounding))
        redo |= ~zero & (rest <= slack)
        rem = self._rest_m2(rest, (parcels, uniq, rules.cut[uniq]), slot, pairs, sel, redo | zero)
        if redo.any():
            again = redo[slot]
            rem[redo] = self._difference(
                (geoms, rules), ci_p[again], pi_p[again], parts, self.targets[k], start, report
            )
        return uniq, rem

    def _rest_m2(
        self,
        rest: FloatArray,
        of: tuple[Measured, IntArray, npt.NDArray[np.bool_]],
        slot: IntArray,
        pairs: _Pairs,
        sel: IntArray,
        redo: npt.NDArray[np.bool_],
    ) -> FloatArray:
        """m² of planar remainders ``rest`` (``redo``: to be measured otherwise, left 0) of
        the parcels ``uniq`` (``of``: the chunk's, these, and which the lattice ``cut``)."""
        parcels, uniq, cut = of
        keep = ~redo
        if self.scale is None or not keep.any():
            out = np.zeros(len(rest))
            out[keep] = rest[keep]
            return out
        pieces = pairs.pieces.take(sel)
        out = remainder_m2(self.scale, rest, parcels, uniq, pieces, pairs.ci[sel], slot, keep)
        # A cut parcel's m² is a sum over the lattice's cells, not one quadratic model: its
        # remainder is what its pieces leave of it, as additive as the cells are.
        k = np.flatnonzero(keep & cut)
        if len(k):
            out[k] = parcels.m2[uniq[k]] - np.bincount(slot, pieces.m2, len(rest))[k]
        return out

    def _difference(
        self,
        chunk: tuple[ObjArray, _Rules],
        ci_p: IntArray,
        pi_p: IntArray,
        parts: ObjArray,
        target: Target,
        start: int,
        report: OverlayReport,
    ) -> FloatArray:
        """parcel − its parts by GEOS, for the parcels of ``ci_p`` (sorted), in their order.

        The parts of one target are disjoint, so subtracting them one at a time is exact.
        """
        geoms, rules = chunk
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
        return self.measure(rest, rules.at(uniq)).m2

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
            for i in range(len(a)):
                context = f"parcel {self.ids[pos[i]]!r} with {target.name}"
                out[i], error = retry_on_grid(func, a[i], b[i], context=context)
                if error is not None:
                    report.retries.append(
                        {
                            "parcel": jsonable(self.ids[pos[i]]),
                            "target": target.name,
                            "op": op,
                            "error": error,
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
                        "parcel": jsonable(self.ids[pos[k]]),
                        "target": target.name,
                        "op": op,
                        "dropped": dropped,
                    }
                )
            out[k] = kept
        return out


def _progress_bar(total: int, enabled: bool, desc: str) -> Any:
    if not enabled:
        return None
    from qzgeo.progress import progress_bar

    return progress_bar(total=total, desc=desc, unit="parcel")


def start_cell_indexes(
    targets: Sequence[Target], *, parcels: int, edges: bool = False
) -> Future[list[CellIndex | None]]:
    """:func:`~qzgeo.analysis.overlay_threads.start_indexes` with ``PREFILTER_MIN_PARCELS``."""
    return start_indexes(targets, parcels=parcels, least=PREFILTER_MIN_PARCELS, edges=edges)


def run_targets(
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
    bounds: FloatArray | None = None,
    indexes: Future[list[CellIndex | None]] | None = None,
) -> tuple[FloatArray, list[TargetResult], OverlayReport]:
    """Measure ``geoms`` against ``targets`` chunk by chunk, on ``workers`` threads.

    ``bounds``: ``shapely.bounds(geoms)`` if the caller has them; ``indexes``: the targets'
    cell indexes from :func:`start_cell_indexes` if the caller started them already.
    """
    if chunk_size < 1:
        msg = f"chunk_size must be a positive number of parcels, got {chunk_size!r}"
        raise ValueError(msg)
    if indexes is None:
        indexes = start_cell_indexes(targets, parcels=len(geoms))
    runner = ChunkRunner(targets, scale, ids, check, indexes)
    if workers > 1:
        # At least ~4 chunks per thread, so that small inputs are shared out too.
        chunk_size = min(chunk_size, max(1_000, math.ceil(len(geoms) / (4 * workers))))
    spans = list(spans_of(len(geoms), chunk_size, workers))
    bar = _progress_bar(len(geoms), progress, desc)

    def job(span: tuple[int, int]) -> tuple[FloatArray, list[TargetResult], OverlayReport]:
        box = None if bounds is None else bounds[span[0] : span[1]]
        res = runner.run(span[0], geoms[span[0] : span[1]], box)
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
            TargetResult(
                *(
                    np.concatenate([getattr(r, f) for r in rs])
                    if rs
                    else np.zeros(0, dtype=np.int64 if f != "m2" and f != "rem_m2" else float)
                    for f in ("pos", "group", "part", "m2", "rem_pos", "rem_m2", "full_pos")
                )
            )
        )
    return area, merged, report
