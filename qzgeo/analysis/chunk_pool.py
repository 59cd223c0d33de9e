"""Parcel chunks analyzed in worker processes: each reads, cleans, measures and encodes its own.

Threads cannot use a second core for most of the per-parcel work (pandas, Arrow conversion and
the reading glue hold the GIL: two threads made a 1M-parcel run no faster). Here every chunk is
one task for a process: it reads its features from the file itself (a GeoPackage by a range of
its primary key or a tile of its R-tree, other formats by position), repairs them, measures
them with the pack's plan, and returns the rows as an Arrow table with the chunk's totals and
reports. The caller writes the tables in file order while the workers go on, and keeps at most
``workers + AHEAD`` chunks in flight, so memory is bounded by the chunks, not the file.

Every number is computed by the same functions as in memory
(:func:`~qzgeo.analysis.parcels.measure_parcels` and
:func:`~qzgeo.analysis.parcels.finish_parcels`), one chunk at a time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import os
import pickle
import shutil
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from qzgeo._errors import QzgeoError
from qzgeo.analysis.chunk_plan import ChunkSource, ChunkStart, chunk_starts, fid_column
from qzgeo.analysis.edge_notes import EdgeTally
from qzgeo.analysis.overlay import OverlayReport
from qzgeo.analysis.parcel_extent import count_unchecked
from qzgeo.analysis.parcel_overlaps import ParcelOverlaps, find_overlaps
from qzgeo.analysis.parcels import (
    ParcelPlan,
    clean_parcels,
    finish_parcels,
    measure_parcels,
    to_planar,
    zone_totals,
)
from qzgeo.analysis.processes import alive, stop_workers, worker_pool
from qzgeo.geo.coverage import CheckedArea
from qzgeo.geo.repair import RepairReport
from qzgeo.io.gpkg_rtree import LeafPack, pack_leaves
from qzgeo.io.guard import ReadCaps, read_caps
from qzgeo.io.postgis_uri import redact_uri
from qzgeo.io.raw_wkb import RawWKB, keep_raw_wkb
from qzgeo.io.vector import read_layer_features
from qzgeo.io.write_stream import arrow_batch

__all__ = [
    "ChunkContext",
    "ChunkMeasure",
    "ChunkPool",
    "ChunkResult",
    "ChunkSource",
    "ChunkStart",
    "analyze_chunk",
    "chunk_pool",
    "chunk_starts",
    "complete_chunk",
    "fid_column",
    "measure_elsewhere",
    "one_thread_span",
    "read_chunk",
    "run_chunks",
]


@dataclass(frozen=True)
class ChunkContext:
    """Everything a worker needs besides the chunk.

    Sent with every task (~150 KB for the bundled pack); a worker keeps the first copy it
    gets by ``key``, so the plan's prepared geometries are reused from chunk to chunk.
    """

    source: ChunkSource
    plan: ParcelPlan
    extent: CheckedArea | None  # the pack's extent box, or its coverage
    caps: ReadCaps
    rename: Callable[[gpd.GeoDataFrame], gpd.GeoDataFrame] | None = None
    key: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass
class ChunkResult:
    """One chunk's rows (Arrow, for the GeoPackage) and what the run keeps of it."""

    start: int
    read: int
    table: pa.Table | None
    totals: pd.DataFrame | None
    repairs: RepairReport
    overlay: OverlayReport
    parcels: int = 0
    conflicts: int = 0
    available_m2: float = 0.0
    unchecked_m2: float = 0.0
    table_path: str | None = None  # the table, spilled to an Arrow file (see _spill)
    leaves_path: str | None = None  # the leaves, spilled beside it
    leaves: LeafPack | None = None  # the table's rows packed for the output's R-tree
    overlaps: ParcelOverlaps | None = None  # the chunk's parcels that overlap one another
    edges: EdgeTally | None = None  # the chunk's long lon/lat edges (qzgeo.analysis.edge_notes)


def analyze_chunk(ctx: ChunkContext, spec: ChunkStart, *, threads: int = 1) -> ChunkResult:
    """Read, clean, measure and encode one chunk (in a worker, or inline)."""
    start = spec[0]
    chunk, repairs, n_read, raw = read_chunk(ctx, spec)
    if chunk.empty:
        return ChunkResult(start, n_read, None, None, repairs, OverlayReport())
    planar = to_planar(chunk, ctx.plan.planar_crs)
    span = one_thread_span(len(planar)) if threads == 1 else 20_000
    measured, overlay = measure_parcels(planar, ctx.plan, workers=threads, chunk_size=span)
    return complete_chunk(
        ctx, chunk, (measured, overlay), repairs, start=start, read=n_read, raw=raw
    )


#: The most parcels one thread measures in one span (the engine's chunk). Each span builds
#: its own trees and asks every target about them: cut in spans of 20 000, a worker's chunk
#: of 25 000 (62 500 at 1M) cost 8 % (5-10 %) more CPU than in one; larger spans grow the
#: engine's pair arrays with the chunk (a 250 000-parcel chunk goes in 4).
SPAN_ROWS = 65_000


def one_thread_span(rows: int) -> int:
    """Parcels per span when one thread measures ``rows``: as few spans of at most
    :data:`SPAN_ROWS` as can be, of even size.

    Examples
    --------
    >>> one_thread_span(25_000), one_thread_span(62_500), one_thread_span(250_000)
    (25000, 62500, 62500)
    """
    spans = max(1, -(-rows // SPAN_ROWS))
    return max(1, -(-rows // spans))


def read_chunk(
    ctx: ChunkContext, spec: ChunkStart
) -> tuple[gpd.GeoDataFrame, RepairReport, int, RawWKB | None]:
    """One chunk as read and repaired (its notices and repairs), how many were read, and the
    WKB they were read with (:mod:`qzgeo.io.raw_wkb`; ``None`` if not kept)."""
    src = ctx.source
    start, selector, rows, expected = spec
    with read_caps(ctx.caps), keep_raw_wkb() as kept:
        chunk = read_layer_features(
            src.path, (selector, rows), layer=src.layer, crs=src.crs, datum=src.datum,
            **src.read_kwargs,
        )  # fmt: skip
    raw = kept[0] if len(kept) == 1 else None  # one read, or none kept: encode them all
    if isinstance(selector, int) and Path(src.path).suffix.lower() == ".shp":
        # GDAL skips to record `selector` (the FID) but then counts live records only (it
        # skips those flagged deleted): keep this chunk's records, or chunks would overlap.
        chunk = chunk[chunk.index < selector + rows]
    n_read = len(chunk)
    if expected is not None and n_read != expected:  # never drop a parcel silently
        msg = (
            f"{src.shown}: a spatial chunk read {n_read} features where the file's R-tree has "
            f"{expected}; please report this (analyze with --workers 1 meanwhile)"
        )
        raise QzgeoError(msg)
    repairs = RepairReport()
    where = f"{src.shown} (features {start + 1}..)"
    scope = f"its chunk of {n_read} features; the other chunks were not counted"
    chunk = clean_parcels(
        chunk, extent=ctx.extent, source=src.shown, repairs=repairs, where=where, scope=scope
    )
    return chunk, repairs, n_read, raw


def complete_chunk(
    ctx: ChunkContext,
    chunk: gpd.GeoDataFrame,
    measured: Measured,
    repairs: RepairReport,
    *,
    start: int,
    read: int,
    raw: RawWKB | None = None,
) -> ChunkResult:
    """The result rows of a measured chunk, encoded for the writer, with its totals.

    ``raw``: the WKB the chunk was read with; its untouched geometries are written with it.
    """
    plan = ctx.plan
    result = finish_parcels(chunk, measured[0], plan)
    tally = count_unchecked(result, plan.extent, source=redact_uri(ctx.source.path))
    if tally is not None:
        repairs.add_outside(tally)
    if ctx.rename is not None:
        result = ctx.rename(result)
    # pairs within the chunk; those across chunks: qzgeo.analysis.overlap_chunks
    shown = ctx.source.shown
    overlaps = find_overlaps(
        chunk.geometry.values, chunk.index, chunk.crs, source=shown, planar=plan.planar_crs
    )
    return ChunkResult(
        start, read, arrow_batch(result, declared=ctx.source.declared, raw=raw),
        zone_totals(result, plan, zone=measured[0]["zone"].to_numpy()), repairs, measured[1],
        len(result), int(result["conflict"].sum()), float(result["available_m2"].sum()),
        float(result["unchecked_m2"].sum()),
        # the boxes of the rows as written (the parcels' own CRS), packed here, in parallel
        leaves=pack_leaves(shapely.bounds(np.asarray(result.geometry.values))),
        overlaps=overlaps, edges=EdgeTally.of(chunk, plan.planar_crs),
    )  # fmt: skip


Measured = tuple[pd.DataFrame, OverlayReport]


class ChunkMeasure(Protocol):
    """Measures chunks elsewhere, e.g. on a Dask cluster
    (:class:`qzgeo.analysis.distributed.DaskChunks`).

    :meth:`put` takes one repaired chunk in the plan's planar CRS and returns the chunks
    measured meanwhile, oldest first, each as :func:`qzgeo.analysis.parcels.measure_parcels`
    returns it; :meth:`flush` returns the rest; ``label`` names the engine in the output.
    """

    @property
    def label(self) -> str: ...

    def put(self, planar: gpd.GeoDataFrame, plan: ParcelPlan) -> list[Measured]: ...

    def flush(self) -> list[Measured]: ...


def measure_elsewhere(
    ctx: ChunkContext, starts: Sequence[ChunkStart], measure: ChunkMeasure
) -> Iterator[ChunkResult]:
    """:func:`run_chunks` with the measuring done by ``measure``; reading, repairing and
    encoding here. Chunks wait (repaired) until their numbers come back, in file order."""
    waiting: deque[tuple[gpd.GeoDataFrame, RepairReport, int, int, RawWKB | None]] = deque()

    def completed(done: list[Measured]) -> Iterator[ChunkResult]:
        for m in done:
            while waiting[0][0].empty:  # chunks left empty by the repairs were not sent
                chunk, repairs, start, n_read, _ = waiting.popleft()
                yield ChunkResult(start, n_read, None, None, repairs, OverlayReport())
            chunk, repairs, start, n_read, raw = waiting.popleft()
            yield complete_chunk(ctx, chunk, m, repairs, start=start, read=n_read, raw=raw)

    for spec in starts:
        start = spec[0]
        chunk, repairs, n_read, raw = read_chunk(ctx, spec)
        waiting.append((chunk, repairs, start, n_read, raw))
        if not chunk.empty:
            yield from completed(measure.put(to_planar(chunk, ctx.plan.planar_crs), ctx.plan))
    yield from completed(measure.flush())
    for _chunk, repairs, start, n_read, _raw in waiting:  # trailing chunks left empty
        yield ChunkResult(start, n_read, None, None, repairs, OverlayReport())


# The context each worker process has seen, by key: the plan's prepared geometries are reused
# from chunk to chunk instead of being prepared again.
_CONTEXTS: dict[str, ChunkContext] = {}


def _task(ctx: ChunkContext, spec: ChunkStart, spill: str | None = None) -> ChunkResult:
    first = ctx.key not in _CONTEXTS
    ctx = _CONTEXTS.setdefault(ctx.key, ctx)
    result = _spill(analyze_chunk(ctx, spec), spill)
    if first:
        # The context and what its first chunk cached (prepared geometries, cell indexes:
        # arrays of many objects) stay for the run: the garbage collector's full passes
        # walked them all again (10-20 % of a worker's CPU on grid parcels).
        gc.freeze()
    return result


def _spill(result: ChunkResult, folder: str | None) -> ChunkResult:
    """``result`` with its table written to an Arrow file in ``folder`` (shared memory).

    A result crossing the pipe is pickled, sent, received and unpickled: four copies of
    ~280 bytes per parcel, ~0.8 CPU-s per million parcels in all. A file in ``/dev/shm`` is
    written once and memory-mapped by the writer (0.2 CPU-s). Where it cannot be written
    (full), the table goes through the pipe as before.
    """
    if folder is None or result.table is None:
        return result
    name = uuid.uuid4().hex
    path, leaves = Path(folder) / f"{name}.arrow", Path(folder) / f"{name}.leaves"
    try:
        with pa.OSFile(str(path), "wb") as f, pa.ipc.new_file(f, result.table.schema) as w:
            w.write_table(result.table)
        # The leaves too (~30 bytes a parcel): what crosses the pipe must stay small. A
        # worker stopped in the middle of sending a big result (Ctrl-C, kill) left half a
        # message in the pipe, and the pool's manager thread waited for the rest forever,
        # so the run never exited.
        leaves.write_bytes(pickle.dumps(result.leaves, protocol=pickle.HIGHEST_PROTOCOL))
    except OSError:
        path.unlink(missing_ok=True)
        leaves.unlink(missing_ok=True)
        return result
    return dataclasses.replace(
        result, table=None, table_path=str(path), leaves=None, leaves_path=str(leaves)
    )


def _landed(result: ChunkResult) -> ChunkResult:
    """``result`` with its spilled table mapped back (the file is removed at once: the
    mapping keeps its pages until the table is written and let go)."""
    if result.table_path is None:
        return result
    leaves = result.leaves
    try:
        table = pa.ipc.open_file(pa.memory_map(result.table_path)).read_all()
        if result.leaves_path is not None:
            leaves = pickle.loads(Path(result.leaves_path).read_bytes())  # our own file
    finally:
        Path(result.table_path).unlink(missing_ok=True)
        if result.leaves_path is not None:
            Path(result.leaves_path).unlink(missing_ok=True)
    return dataclasses.replace(
        result, table=table, table_path=None, leaves=leaves, leaves_path=None
    )


def _ready() -> int:
    return 0


@dataclass(frozen=True)
class ChunkPool:
    """Worker processes of :func:`chunk_pool`."""

    executor: ProcessPoolExecutor
    processes: int
    spill: str | None = None  # the folder the workers write their tables to (see _spill)


@contextlib.contextmanager
def chunk_pool(processes: int) -> Iterator[ChunkPool | None]:
    """Worker processes for :func:`run_chunks`, started now (``None`` for fewer than 2).

    Start it before the slow steps of the caller (reading the pack), and before it starts a
    thread: the workers are forked from this process where no other thread is alive (it has
    imported everything they need), else made by a ``forkserver`` that imports this module
    once, meanwhile (:func:`qzgeo.analysis.processes.worker_pool`). Like every
    multiprocessing pool, it needs the calling script's top level behind
    ``if __name__ == "__main__":`` (the ``qzgeo`` command's is). The workers go with the run
    however it ends (:mod:`qzgeo.analysis.processes`): on an error or Ctrl-C here they are
    stopped at once, not after their chunk.
    """
    if processes < 2:
        yield None
        return
    spill = _spill_folder()
    pool: ProcessPoolExecutor | None = None
    warm: threading.Thread | None = None
    # One `try` from the folder on: Ctrl-C between the workers' start and the body (the
    # warm-up thread's start) left the folder, and the workers to Python's exit handler,
    # which lets them leave without removing it.
    try:
        pool = worker_pool(processes, preload=__name__, spill=spill)
        # With a forkserver the first submit waits for it to import this module (~0.4 s): do
        # it in a thread, so that the caller reads the pack meanwhile (forked workers run).
        warm = threading.Thread(target=_warm, args=(pool, processes))
        warm.start()
        yield ChunkPool(pool, processes, spill)
    except BaseException:
        if pool is not None:
            stop_workers(pool)
        raise
    finally:
        # Ctrl-C while the workers are let go (the outputs written) skipped the folder's
        # removal, and left the workers to Python's exit.
        try:
            if warm is not None and warm.ident is not None:  # started
                warm.join()
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        except BaseException:
            if pool is not None:
                stop_workers(pool)
            raise
        finally:
            if spill is not None:  # tables of cancelled or failed chunks
                shutil.rmtree(spill, ignore_errors=True)


def _warm(pool: ProcessPoolExecutor, processes: int) -> None:
    for _ in range(processes):
        try:
            pool.submit(_ready)
        except Exception:  # a pool that broke or shut down meanwhile: the caller's tasks say why
            return


def _spill_folder(*places: Path) -> str | None:
    """A new folder for the workers' tables: in shared memory (``/dev/shm``), else in the
    temporary folder; ``None`` if neither takes one (then the tables go through the pipe).

    ``places``: where to try, in order (default :func:`spill_places`). Not the pipe where
    there is a folder: a worker stopped while sending a big result leaves half a message
    there, and the pool's manager thread waits for the rest forever (the run never exits).
    Named after this process: the folders of runs that were killed (no ``finally``) hold
    memory or disk until removed, and are removed here once their process is gone and they
    have not changed for an hour (a run in another PID namespace sharing the folder writes
    to its own all the time, and is never taken for dead).
    """
    for place in places or spill_places():
        if not place.is_dir():
            continue
        for old in place.glob("qzgeo-chunks-*-*"):
            pid = old.name.split("-")[2]
            if pid.isdigit() and not alive(int(pid)) and _idle(old, STALE_SPILL_S):
                shutil.rmtree(old, ignore_errors=True)
        try:
            return tempfile.mkdtemp(prefix=f"qzgeo-chunks-{os.getpid()}-", dir=place)
        except OSError:
            continue
    return None


def spill_places() -> tuple[Path, ...]:
    """Where the workers' tables may go, best first: shared memory, then ``$TMPDIR``."""
    return (Path("/dev/shm"), Path(tempfile.gettempdir()))


#: A spill folder of a dead process untouched this long (s) is a killed run's, to remove.
STALE_SPILL_S = 3600.0


def _idle(folder: Path, seconds: float) -> bool:
    try:
        newest = max([folder.stat().st_mtime, *(p.stat().st_mtime for p in folder.iterdir())])
    except OSError:  # removed meanwhile: nothing to do
        return False
    return time.time() - newest > seconds


#: Chunks in flight beyond one per worker. With one, a worker that finished its chunk while
#: the caller was writing one waited for the next to be handed out; with two, it has one.
AHEAD = 2


def run_chunks(
    ctx: ChunkContext,
    starts: Sequence[ChunkStart],
    *,
    pool: ChunkPool | None = None,
    threads: int = 2,
) -> Iterator[ChunkResult]:
    """The results of every chunk, in file order.

    With a ``pool`` (:func:`chunk_pool`) the chunks run in its worker processes, at most
    :data:`AHEAD` more than there are workers in flight; otherwise here, one after the other, with
    ``threads`` overlay threads. An error in a chunk is raised here, and the chunks not yet
    started are cancelled.
    """
    if pool is None or len(starts) <= 1:
        for spec in starts:
            yield analyze_chunk(ctx, spec, threads=threads)
        return
    pending: deque[Future[ChunkResult]] = deque()
    try:
        for spec in starts:
            pending.append(pool.executor.submit(_task, ctx, spec, pool.spill))
            if len(pending) >= pool.processes + AHEAD:
                yield _landed(pending.popleft().result())
        while pending:
            yield _landed(pending.popleft().result())
    except BrokenProcessPool as exc:
        msg = (
            f"a worker process analyzing {ctx.source.shown} died ({exc}); out of memory? "
            "Run again with --workers 1, or smaller chunks with --chunk-rows"
        )
        raise QzgeoError(msg) from exc
    finally:
        for f in pending:
            f.cancel()
