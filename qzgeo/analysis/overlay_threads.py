"""What the overlay engine's threads keep and share, and how the parcels are cut for them.

- Each thread prepares its own copy of a plan's parts (GEOS prepared geometries are not
  thread-safe, libgeos/geos#825) and keeps it across calls.
- The edge indexes of the Green check (:class:`~qzgeo.geo.green_area.EdgeIndex`) and the ring
  runs of the convex clipping (:class:`~qzgeo.geo.convex_clip.RingRuns`) are built once and
  shared (read-only).
- The cell indexes (:mod:`qzgeo.analysis.cell_index`) and edge indexes of a large input are
  built on a thread of their own while the caller prepares the parcels (:func:`start_indexes`).
- :func:`spans_of` cuts the parcels into the chunks the threads take in turn.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt
import shapely

from qzgeo.analysis.cell_index import CellIndex, cached_cell_index
from qzgeo.analysis.overlay_plan import Target
from qzgeo.geo.convex_clip import RingRuns
from qzgeo.geo.green_area import EdgeIndex

__all__ = [
    "INDEX_THREAD_MIN_PARCELS",
    "edge_index",
    "prepared_copy",
    "ring_runs",
    "spans_of",
    "start_indexes",
]

ObjArray = npt.NDArray[np.object_]
T = TypeVar("T")

# Per-thread prepared copies of plan parts, kept across calls: GEOS prepared geometries are not
# thread-safe (libgeos/geos#825), and re-preparing a large red line on every call made one
# siting check cost time in proportion to the red line's vertices. A few plans per thread.
_PREPARED = threading.local()
_PREPARED_PLANS = 8


def prepared_copy(src: ObjArray) -> ObjArray:
    """This thread's prepared copy of the parts ``src`` (made on first use)."""
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


class _SharedByPlan(Generic[T]):
    """What ``build`` makes of a plan's parts, built once and shared by the threads (its
    queries are read-only); the last few plans are kept, keyed by the parts array itself."""

    def __init__(self, build: Callable[[ObjArray], T]) -> None:
        self._build = build
        self._items: dict[int, tuple[ObjArray, T]] = {}
        self._lock = threading.Lock()

    def get(self, src: ObjArray) -> T:
        with self._lock:
            hit = self._items.get(id(src))
            if hit is not None and hit[0] is src:
                return hit[1]
            made = self._build(src)
            if len(self._items) >= _PREPARED_PLANS:
                self._items.pop(next(iter(self._items)))
            self._items[id(src)] = (src, made)
            return made


# Edge indexes of plan parts for the Green check, and the ring runs of the convex clipping.
_EDGES = _SharedByPlan(EdgeIndex.build)
_RUNS = _SharedByPlan(RingRuns.build)


def edge_index(src: ObjArray) -> EdgeIndex:
    """The shared :class:`EdgeIndex` of the parts ``src`` (built on first use)."""
    return _EDGES.get(src)


def ring_runs(src: ObjArray) -> RingRuns:
    """The shared :class:`RingRuns` of the parts ``src`` (built on first use)."""
    return _RUNS.get(src)


def spans_of(n: int, size: int, workers: int = 1) -> Iterator[tuple[int, int]]:
    """Spans of ``size`` parcels; with threads, the last ``workers`` spans in quarters.

    The threads take spans in order, so a short tail lets them finish within a quarter of
    a span of each other instead of one idling while the other measures a whole span.
    Results do not depend on the spans (every parcel is measured on its own).
    """
    tail = 0 if workers < 2 else min(n, workers * size)
    head = n - tail
    for s in range(0, head, size):
        yield s, min(head, s + size)
    small = max(1, -(-size // 4))
    for s in range(head, n, small):
        yield s, min(n, s + small)


#: From this many parcels on, :func:`start_indexes` builds on a thread of its own.
INDEX_THREAD_MIN_PARCELS = 10_000


def start_indexes(
    targets: Sequence[Target], *, parcels: int, least: int | None, edges: bool = False
) -> Future[list[CellIndex | None]]:
    """The cell indexes of ``targets`` for ``parcels`` parcels (:func:`cached_cell_index`,
    built once ``least`` parcels were measured against a target; ``None``: never).

    For large inputs they are built on a thread of their own, so that the caller's serial
    preparation (parcel types and bounds, the area scale) and the chunks' first parcel areas
    run meanwhile; the chunks wait for them before their first query. That thread then also
    cuts the targets' rings into runs for the convex clipping and, with ``edges``, indexes the
    edges of the remainder targets for the Green check, which the chunks would otherwise build
    (one of them, the other waiting) at their first use.
    """
    done: Future[list[CellIndex | None]] = Future()
    threaded = least is not None and parcels >= INDEX_THREAD_MIN_PARCELS

    def build() -> None:
        try:
            done.set_result(
                [
                    None
                    if least is None
                    else cached_cell_index(t.parts, parcels=parcels, least=least)
                    for t in targets
                ]
            )
        except BaseException as exc:  # handed to the chunk that waits for it
            done.set_exception(exc)
            return
        try:
            for t in targets if threaded else ():
                if len(t.parts):
                    ring_runs(t.parts)
            for t in targets if edges and threaded else ():
                if t.remainder and len(t.parts):
                    edge_index(t.parts)
        except Exception:  # a chunk builds it again and raises where it is seen
            return

    if threaded:
        threading.Thread(target=build, name="qzgeo-indexes", daemon=True).start()
    else:
        build()
    return done
