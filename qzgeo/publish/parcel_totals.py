"""What a streamed ``qzgeo analyze`` keeps of its chunks, and what it wrote and counted.

:class:`StreamTotals` takes each chunk's result as it is written (totals, counts, reports, the
rows' boxes) and, once the rows are in ``parcels.gpkg``, finds the overlapping parcels of
different chunks and writes the summary and the report (:class:`StreamedParcels`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import pyarrow as pa

from qzgeo._errors import InputError, OutputError
from qzgeo.analysis.chunk_plan import stale_count_read
from qzgeo.analysis.chunk_pool import ChunkResult, ChunkSource
from qzgeo.analysis.edge_notes import EdgeTally
from qzgeo.analysis.overlap_chunks import ChunkBoxes, MappedBoxes, cross_chunk_overlaps
from qzgeo.analysis.overlay import OverlayReport
from qzgeo.analysis.parcel_overlaps import ParcelOverlaps
from qzgeo.analysis.parcels import ParcelPlan, summary_from_totals
from qzgeo.geo.repair import RepairReport
from qzgeo.io.gpkg_rtree import LeafPack
from qzgeo.publish.parcel_tables import ParcelOutputs, summary_xlsx, write_parcel_tables

__all__ = ["StreamTotals", "StreamedParcels"]

T = TypeVar("T")


@dataclass
class StreamedParcels:
    """What :func:`analyze_parcels_streamed` wrote and counted."""

    outputs: ParcelOutputs
    plan: ParcelPlan
    parcels: int = 0
    conflicts: int = 0
    available_m2: float = 0.0
    unchecked_m2: float = 0.0
    chunks: int = 0
    overlay: OverlayReport = field(default_factory=OverlayReport)
    files: list[Path] = field(default_factory=list)
    engine: str = ""
    overlaps: ParcelOverlaps | None = None

    @property
    def notes(self) -> list[str]:
        return list(self.outputs.notes)

    @property
    def counts(self) -> tuple[int, int, float, float]:
        """Parcels, in conflict, available m², unchecked m² (``AnalyzeSummary.counts``)."""
        return (self.parcels, self.conflicts, self.available_m2, self.unchecked_m2)


_Boxes = ChunkBoxes | None  # the rows' boxes (:mod:`qzgeo.analysis.overlap_chunks`)


class StreamTotals:
    """Keeps what a streamed run needs of each chunk: totals, counts and reports."""

    def __init__(
        self, plan: ParcelPlan, repairs: RepairReport, source: ChunkSource, boxes: _Boxes = None
    ) -> None:
        self.plan, self.repairs, self.source = plan, repairs, source
        self.read = 0  # the features of every chunk: the file's, whatever its stored count
        self.cap: int | None = None  # --max-features: of the features read, not the count
        self.overlay = OverlayReport()
        self.totals: list[pd.DataFrame] = []
        self.leaves: list[LeafPack] | None = []  # None: a chunk came without (GDAL indexes)
        self.parcels = self.conflicts = 0
        self.available_m2 = self.unchecked_m2 = 0.0
        self.engine, self.edges = "", EdgeTally()  # the long lon/lat edges of every chunk
        self.overlaps, self.boxes = ParcelOverlaps(source.shown), boxes or ChunkBoxes()
        self.across: ParcelOverlaps | None = None  # pairs_across, if it ran
        self.finished: StreamedParcels | None = None  # finish_meanwhile
        # Runs a function in an idle worker (a pool's submit): the work of the run's tail, the
        # Excel summary and the pairs across chunks, goes there while this process writes
        # the output's index (the two threads here held each other up on the GIL).
        self.submit: Callable[..., Future[Any]] | None = None
        self.spill: str | None = None  # a folder (in memory) to hand the worker the boxes in
        self._xlsx: Callable[[], bytes] | None = None
        self._summary: pd.DataFrame | None = None

    def pairs_across(self, gpkg: Path) -> None:
        """The overlapping pairs of parcels of different chunks, from the rows written to
        ``gpkg`` (while its index is written: :func:`write_gpkg_stream`'s ``meanwhile``), in
        an idle worker if there is one (it reads the rows with SQLite as this process would)."""
        if self.boxes.chunks < 2:
            return
        if self.submit is None or self.spill is None:
            self.across = self._in_worker(cross_chunk_overlaps, gpkg, self.boxes)()
            return
        # mapped by the worker from the spill folder, not pickled to it (10M rows: ~400 MB)
        path = Path(self.spill) / f"boxes-{os.getpid()}.f32"
        try:
            try:
                found: ChunkBoxes | MappedBoxes = self.boxes.to_file(path)
            except OSError:  # the folder full (it is in memory): pickled to the worker then
                found = self.boxes
            self.across = self._in_worker(cross_chunk_overlaps, gpkg, found)()
        finally:
            path.unlink(missing_ok=True)

    def tables(self, results: Iterator[ChunkResult], bar: Any) -> Iterator[pa.Table | None]:
        """The chunks' Arrow tables in file order, each chunk's numbers added on the way."""
        try:
            for r in results:
                self.repairs.records.extend(r.repairs.records)
                self.repairs.extend_flattened(r.repairs)
                new = [m for m in r.repairs.warnings if m not in self.repairs.warnings]
                self.repairs.warnings.extend(new)  # each message once, as in memory
                self.overlay.extend(r.overlay)
                self.overlaps.extend(r.overlaps or ParcelOverlaps(""))  # pairs in the chunk
                self.edges.add(r.edges or EdgeTally())
                if r.totals is not None:
                    self.totals.append(r.totals)
                self.read += r.read
                self._check_cap()
                self.parcels += r.parcels
                self.conflicts += r.conflicts
                self.available_m2 += r.available_m2
                self.unchecked_m2 += r.unchecked_m2
                if bar is not None:
                    bar.update(r.read)
                if r.table is not None and r.table.num_rows:  # the tables written
                    if r.leaves is None or r.leaves.rows != r.table.num_rows:
                        self.leaves = None
                    elif self.leaves is not None:
                        self.leaves.append(r.leaves)
                        self.boxes.add(r.leaves.cells, r.table.num_rows)  # pairs across chunks
                yield r.table
        finally:
            if bar is not None:
                bar.close()
        self._start_xlsx()

    def summary(self) -> pd.DataFrame:
        """The summary table of every chunk's totals (once all chunks are in)."""
        if self._summary is None:
            totals = pd.concat(self.totals, ignore_index=True)
            self._summary = summary_from_totals(totals, self.plan)
        return self._summary

    def _start_xlsx(self) -> None:
        """Have an idle worker (:attr:`submit`) make the Excel summary while this process
        writes the index: openpyxl's import alone took ~0.2 s of the run's tail."""
        if self.submit is not None and self.totals:
            self._xlsx = self._in_worker(summary_xlsx, self.summary())

    def _in_worker(self, fn: Callable[..., T], *args: Any) -> Callable[[], T]:
        """``fn(*args)`` started in an idle worker (:attr:`submit`) if there is one; the call
        returned gives its result, or computes it here if no worker could (the pool shut
        down or broken, before or meanwhile). The worker's own errors are raised as they are."""
        started: Future[T] | None = None
        if self.submit is not None:
            with contextlib.suppress(RuntimeError, BrokenProcessPool):
                started = self.submit(fn, *args)

        def result() -> T:
            if started is not None:
                with contextlib.suppress(BrokenProcessPool):
                    return started.result()
            return fn(*args)

        return result

    def _check_cap(self) -> None:
        """Refuse the layer once its chunks hold more features than ``--max-features`` (a
        stale, too low, stored count passed the check made before the first chunk)."""
        if self.cap is not None and self.read > self.cap:
            msg = (
                f"{self.source.shown} has at least {self.read:,} features (more than its stored "
                f"feature count says), over the cap of {self.cap} per layer; raise it with "
                "--max-features N if the data are what you expect"
            )
            raise InputError(msg)

    def leaf_packs(self) -> list[LeafPack]:
        """The leaves of the rows written, for the R-tree (:func:`write_gpkg_stream`)."""
        if self.leaves is None:
            msg = "a chunk's rows came without their boxes"
            raise OutputError(msg)
        return self.leaves

    def finish(
        self,
        out: Path,
        extra: dict[str, Any] | Callable[[], dict[str, Any]] | None,
        report_dir: Path,
    ) -> StreamedParcels:
        """Write the summary and the report of every chunk beside ``parcels.gpkg``."""
        said = stale_count_read(self.source, self.read)  # a stale GeoPackage count
        if said is not None and said not in self.repairs.warnings:
            self.repairs.warnings.append(said)
        if self.across is None:  # pairs across chunks, read back from the rows written
            self.pairs_across(out / "parcels.gpkg")
        if self.across is not None:
            self.overlaps.extend(self.across)
        told = (self.overlaps.message(), self.edges.message(self.source.shown))
        self.repairs.warnings.extend(s for s in told if s is not None)  # as in memory
        outputs = write_parcel_tables(
            out,
            out / "parcels.gpkg",
            self.summary(),
            self.plan,
            counts=(self.parcels, self.conflicts),
            repairs=self.repairs,
            overlay_report=self.overlay,
            extra=extra() if callable(extra) else extra,
            report_dir=report_dir,
            overlaps=self.overlaps,
            excel=self._xlsx,
        )
        return StreamedParcels(
            outputs, self.plan, self.parcels, self.conflicts, self.available_m2,
            self.unchecked_m2, len(self.totals), self.overlay, engine=self.engine,
            overlaps=self.overlaps,
        )  # fmt: skip

    def finish_meanwhile(
        self,
        written: Path,
        *,
        out: Path,
        extra: dict[str, Any] | Callable[[], dict[str, Any]] | None,
        report_dir: Path,
    ) -> None:
        """:meth:`finish`, kept as :attr:`finished`: run in a thread while the index of
        ``written`` (the rows of a run of one chunk: no pairs across chunks) is written."""
        self.finished = self.finish(out, extra, report_dir)
