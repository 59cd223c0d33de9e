"""`qzgeo analyze` on big parcel files: read, analyze and write in chunks of rows.

Peak memory is bounded by the chunk, not by the file: each chunk of ``chunk_rows`` features is
read (with the same checks as :func:`qzgeo.io.vector.read_layer`), repaired, measured with the
one :class:`~qzgeo.analysis.parcels.ParcelPlan` and appended to ``parcels.gpkg``; only the
per-zone totals, the counts and the reports stay in memory. Every per-parcel number is computed
exactly as in memory (the engine's area scale lattice is fixed, chunks only cut the work), so
the rows are the same as those of :func:`qzgeo.analysis.parcels.analyze_parcels`.

Chunks follow the file's feature order. A spatially sorted file (a GeoPackage written in
Hilbert or tile order) gives each chunk a smaller extent, which only makes it faster.

How a chunk is measured is a :class:`ChunkMeasure`: threads on this machine
(:class:`ThreadedChunks`), or a Dask cluster (:class:`qzgeo.analysis.distributed.DaskChunks`,
``--dask``/``--scheduler``: the same chunks, read, repaired and written here, measured on the
cluster). Everything else, and so every row, is the same.
"""

from __future__ import annotations

import contextlib
import sys
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import geopandas as gpd
import pandas as pd
import pyogrio

from qzgeo._errors import InputError
from qzgeo.analysis.overlay import OverlayReport
from qzgeo.analysis.parcels import (
    ParcelPlan,
    build_parcel_plan,
    check_parcels,
    clean_parcels,
    finish_parcels,
    measure_parcels,
    overlay_crs,
    summary_from_totals,
    to_planar,
    zone_totals,
)
from qzgeo.geo.repair import RepairReport
from qzgeo.io.outdir import output_build
from qzgeo.io.vector import read_layer_features, sha256_file
from qzgeo.io.write_stream import prefetched, write_gpkg_stream
from qzgeo.pack.load import LoadedPack
from qzgeo.publish.parcel_tables import (
    ParcelOutputs,
    published_zone_names,
    results_public,
    write_parcel_tables,
)

__all__ = [
    "CHUNK_ROWS",
    "STREAM_ABOVE",
    "STREAM_SUFFIXES",
    "ChunkMeasure",
    "StreamedParcels",
    "ThreadedChunks",
    "analyze_parcels_streamed",
    "chunk_measure",
    "chunk_rows_for",
    "feature_count",
    "stream_parcels_into",
]

#: Formats read in chunks (GDAL can skip to a feature without parsing the ones before).
STREAM_SUFFIXES = frozenset({".gpkg", ".fgb", ".shp"})


@dataclass
class StreamedParcels:
    """What :func:`analyze_parcels_streamed` wrote and counted."""

    outputs: ParcelOutputs
    plan: ParcelPlan
    parcels: int = 0
    conflicts: int = 0
    available_m2: float = 0.0
    chunks: int = 0
    overlay: OverlayReport = field(default_factory=OverlayReport)
    files: list[Path] = field(default_factory=list)
    engine: str = ""

    @property
    def notes(self) -> list[str]:
        return list(self.outputs.notes)


#: Files with more parcels than this are analyzed in chunks of CHUNK_ROWS by default.
STREAM_ABOVE = 500_000
CHUNK_ROWS = 250_000


def chunk_rows_for(
    path: str | Path, layer: str | None, chunk_rows: int | None, *, make_map: bool
) -> int | None:
    """Parcels per chunk for ``qzgeo analyze``, or ``None`` to analyze them in memory.

    ``chunk_rows`` if given (refused with the map, which needs every parcel at once); else
    :data:`CHUNK_ROWS` for streamable files of more than :data:`STREAM_ABOVE` features. The
    threads and Dask stream alike.
    """
    if chunk_rows is not None:
        if make_map:
            msg = (
                f"chunk_rows={chunk_rows} streams the parcels, but the map needs every parcel "
                "at once; leave out the map or chunk_rows"
            )
            raise InputError(msg)
        return chunk_rows
    if make_map:
        return None
    n = feature_count(path, layer)
    return CHUNK_ROWS if n is not None and n > STREAM_ABOVE else None


Measured = tuple[pd.DataFrame, OverlayReport]


class ChunkMeasure(Protocol):
    """How the chunks are measured: threads here, or a cluster.

    :meth:`put` takes one repaired chunk in the plan's planar CRS and returns the chunks
    measured meanwhile, oldest first, each as :func:`qzgeo.analysis.parcels.measure_parcels`
    returns it; :meth:`flush` returns the rest; ``label`` names the engine in the output.
    """

    @property
    def label(self) -> str: ...

    def put(self, planar: gpd.GeoDataFrame, plan: ParcelPlan) -> list[Measured]: ...

    def flush(self) -> list[Measured]: ...


@dataclass
class ThreadedChunks:
    """Measures each chunk at once on ``workers`` threads of this machine."""

    workers: int = 2

    @property
    def label(self) -> str:
        return f"threads ({self.workers})"

    def put(self, planar: gpd.GeoDataFrame, plan: ParcelPlan) -> list[Measured]:
        return [measure_parcels(planar, plan, workers=self.workers)]

    def flush(self) -> list[Measured]:
        return []


def chunk_measure(
    *, dask: bool, scheduler: str | None, workers: int
) -> contextlib.AbstractContextManager[ChunkMeasure]:
    """The measure of ``qzgeo analyze``'s chunks: ``workers`` threads, or a Dask cluster.

    With ``dask``, the cluster at ``scheduler`` (``tcp://host:8786``), else a local cluster of
    ``workers`` processes; it is disconnected (a local one shut down) on exit.
    """
    if not dask:
        return contextlib.nullcontext(ThreadedChunks(workers))
    from qzgeo.analysis.distributed import dask_chunks

    return dask_chunks(scheduler, n_workers=workers)


def feature_count(path: str | Path, layer: str | None = None) -> int | None:
    """Number of features of a streamable file (see :data:`STREAM_SUFFIXES`), else ``None``."""
    if Path(path).suffix.lower() not in STREAM_SUFFIXES or not Path(path).is_file():
        return None
    try:
        n = pyogrio.read_info(path, layer=layer)["features"]
    except Exception:  # unreadable: the normal reader reports it with a clear message
        return None
    return int(n) if n is not None and n >= 0 else None


def analyze_parcels_streamed(
    parcels_path: str | Path,
    loaded: LoadedPack,
    out_dir: str | Path,
    *,
    chunk_rows: int,
    layer: str | None = None,
    crs: str | None = None,
    datum: str | None = None,
    read_kwargs: dict[str, Any] | None = None,
    workers: int = 2,
    progress: bool = False,
    repairs: RepairReport | None = None,
    extra: dict[str, Any] | None = None,
    report_dir: str | Path | None = None,
    rename: Callable[[gpd.GeoDataFrame], gpd.GeoDataFrame] | None = None,
    measure: ChunkMeasure | None = None,
) -> StreamedParcels:
    """Analyze a parcel file chunk by chunk into ``out_dir`` (the outputs of ``qzgeo analyze``).

    Parameters
    ----------
    parcels_path
        A GeoPackage, FlatGeobuf or Shapefile of parcel polygons.
    loaded
        The pack, from :func:`qzgeo.pack.load.load_pack_layers`.
    out_dir
        Receives ``parcels.gpkg``, ``parcels_summary.csv`` (+ ``.xlsx``) and ``report.json``.
    chunk_rows
        Features per chunk (e.g. 200 000: ~0.5 GB of peak memory).
    layer, crs, datum, read_kwargs
        As for :func:`qzgeo.io.vector.read_layer` (``read_kwargs``: ``ReadOptions.kwargs()``).
        Parcels wholly outside the pack extent are refused, as in memory.
    workers, progress
        Threads of the overlay; a progress bar over the chunks on stderr.
    repairs
        Collects the repairs of every chunk (feature ids are the file's FIDs).
    extra, report_dir
        More entries for ``report.json``, and its folder (default ``out_dir``).
    rename
        Applied to each chunk's result before it is written and summed (unpublished names).
    measure
        Measures the chunks (default :class:`ThreadedChunks` of ``workers`` threads), e.g.
        :class:`qzgeo.analysis.distributed.DaskChunks` on a Dask cluster.
    """
    n = _streamable_count(parcels_path, layer, chunk_rows, crs, read_kwargs)
    measure = measure if measure is not None else ThreadedChunks(workers)
    acc = _Chunks(loaded, measure, repairs if repairs is not None else RepairReport(), rename)
    out = Path(out_dir)
    bar = _bar(n, progress)
    chunks = _read_chunks(
        parcels_path, n, chunk_rows, layer=layer, crs=crs, datum=datum, read_kwargs=read_kwargs
    )
    results = acc.stream(chunks, source=str(parcels_path), bar=bar)
    # The next chunk is read and analyzed in a background thread while GDAL writes this one;
    # the layer is declared MultiPolygon (a later chunk may hold multipolygons).
    write_gpkg_stream(out / "parcels.gpkg", "parcels", prefetched(results))
    if bar is not None:
        bar.close()
    if acc.plan is None:  # no polygon at all: the error of an empty parcel layer
        check_parcels(acc.last_empty, where=str(parcels_path))
    return acc.finish(out, extra, Path(report_dir) if report_dir is not None else out)


def _streamable_count(
    path: str | Path,
    layer: str | None,
    chunk_rows: int,
    crs: str | None,
    read_kwargs: dict[str, Any] | None,
) -> int:
    """The number of features to stream, or the reader's error (corrupt file) or a refusal."""
    if chunk_rows < 1:
        msg = f"chunk_rows must be a positive number of features, got {chunk_rows!r}"
        raise InputError(msg)
    n = feature_count(path, layer)
    if n is None and Path(path).suffix.lower() in STREAM_SUFFIXES:
        read_layer_features(path, (0, 1), layer=layer, crs=crs, **(read_kwargs or {}))
    if n is None:
        msg = (
            f"{path}: cannot be read in chunks; give a GeoPackage, FlatGeobuf or "
            "Shapefile, or analyze it without chunks"
        )
        raise InputError(msg)
    return n


def _read_chunks(
    path: str | Path,
    n: int,
    chunk_rows: int,
    *,
    layer: str | None,
    crs: str | None,
    datum: str | None,
    read_kwargs: dict[str, Any] | None,
) -> Iterator[tuple[int, gpd.GeoDataFrame]]:
    """``(start, chunk)`` of ``chunk_rows`` features each, in the file's order."""
    fid = _fid_column(path, layer)
    last: Any = None
    for start in range(0, max(n, 1), chunk_rows):
        # A GeoPackage continues after the last FID (its primary key: no re-reading);
        # other formats skip to the feature by its position.
        after: int | str = start if fid is None or last is None else f'"{fid}" > {last}'
        chunk = read_layer_features(
            path, (after, chunk_rows), layer=layer, crs=crs, datum=datum, **(read_kwargs or {})
        )
        last = chunk.index.max() if len(chunk) else last
        yield start, chunk


class _Chunks:
    """Analyzes chunk after chunk with one plan; keeps only totals, counts and reports.

    A chunk waits in ``pending`` (repaired, in its own CRS) until ``measure`` returns its
    numbers; measures return chunks in the order they were put.
    """

    def __init__(
        self,
        loaded: LoadedPack,
        measure: ChunkMeasure,
        repairs: RepairReport,
        rename: Callable[[gpd.GeoDataFrame], gpd.GeoDataFrame] | None,
    ) -> None:
        self.loaded, self.measure, self.repairs, self.rename = loaded, measure, repairs, rename
        self.pending: deque[gpd.GeoDataFrame] = deque()
        self.plan: ParcelPlan | None = None
        self.overlay = OverlayReport()
        self.totals: list[pd.DataFrame] = []
        self.parcels = self.conflicts = 0
        self.available_m2 = 0.0
        self.last_empty: gpd.GeoDataFrame = gpd.GeoDataFrame()

    def stream(
        self, chunks: Iterator[tuple[int, gpd.GeoDataFrame]], *, source: str, bar: Any = None
    ) -> Iterator[gpd.GeoDataFrame]:
        """The result rows of every chunk in file order (the measure may hold a few back)."""
        for start, chunk in chunks:
            yield from self.analyze(chunk, source=source, start=start, bar=bar)
        yield from self.flush()

    def analyze(
        self, chunk: gpd.GeoDataFrame, *, source: str, start: int, bar: Any = None
    ) -> list[gpd.GeoDataFrame]:
        """Repair the chunk and put it to the measure; the results of the chunks measured.

        A chunk whose every feature was dropped comes back at once, empty.
        """
        if bar is not None:
            bar.update(len(chunk))
        where = f"{source} (features {start + 1}..)"
        extent = self.loaded.pack.extent
        chunk = clean_parcels(
            chunk, extent=extent, source=source, repairs=self.repairs, where=where
        )
        if chunk.empty:
            self.last_empty = chunk
            return [chunk]
        if self.plan is None:
            crs = overlay_crs(chunk.crs, self.loaded.planar_crs)
            self.plan = build_parcel_plan(self.loaded, planar_crs=crs)
        self.pending.append(chunk)
        return self._results(self.measure.put(to_planar(chunk, self.plan.planar_crs), self.plan))

    def flush(self) -> list[gpd.GeoDataFrame]:
        """The results of the chunks still being measured."""
        return self._results(self.measure.flush())

    def _results(self, measured: list[Measured]) -> list[gpd.GeoDataFrame]:
        """What :func:`~qzgeo.analysis.parcels.analyze_parcels` returns, chunk by chunk."""
        out = []
        for df, report in measured:
            assert self.plan is not None  # built with the first chunk put
            chunk = self.pending.popleft()
            self.overlay.extend(report)
            result = finish_parcels(chunk, df, self.plan)
            if self.rename is not None:
                result = self.rename(result)
            self.totals.append(zone_totals(result, self.plan))
            self.parcels += len(result)
            self.conflicts += int(result["conflict"].sum())
            self.available_m2 += float(result["available_m2"].sum())
            out.append(result)
        return out

    def finish(self, out: Path, extra: dict[str, Any] | None, report_dir: Path) -> StreamedParcels:
        """Write the summary and the report of every chunk beside ``parcels.gpkg``."""
        assert self.plan is not None
        outputs = write_parcel_tables(
            out,
            out / "parcels.gpkg",
            summary_from_totals(pd.concat(self.totals, ignore_index=True), self.plan),
            self.plan,
            counts=(self.parcels, self.conflicts),
            repairs=self.repairs,
            overlay_report=self.overlay,
            extra=extra,
            report_dir=report_dir,
        )
        return StreamedParcels(
            outputs, self.plan, self.parcels, self.conflicts, self.available_m2,
            len(self.totals), self.overlay,
        )  # fmt: skip


def stream_parcels_into(
    out_dir: str | Path,
    parcels_path: str | Path,
    loaded: LoadedPack,
    repairs: RepairReport,
    chunk_rows: int,
    **kwargs: Any,
) -> StreamedParcels:
    """:func:`analyze_parcels_streamed` into ``out_dir/public`` or ``out_dir/internal``.

    The same placement as the in-memory ``qzgeo analyze`` (:mod:`qzgeo.io.outdir`): public
    only if every zone and constraint layer is (then unpublished zone names are replaced);
    ``report.json`` always internal; the same outputs of an earlier run in the other part are
    removed. ``kwargs`` go to :func:`analyze_parcels_streamed`.
    """
    pack = loaded.pack
    public = results_public(pack)
    extra = {"inputs": {Path(parcels_path).name: sha256_file(parcels_path)}}
    with output_build(out_dir, inputs=[parcels_path], pack=pack.root, whole=False) as build:
        part, other = (build.public, "internal") if public else (build.internal, "public")
        streamed = analyze_parcels_streamed(
            parcels_path, loaded, part, chunk_rows=chunk_rows, repairs=repairs, extra=extra,
            report_dir=build.internal,
            rename=(lambda r: published_zone_names(r, pack)) if public else None, **kwargs,
        )  # fmt: skip
        o = streamed.outputs
        streamed.files = [o.gpkg, o.csv, *([o.xlsx] if o.xlsx else []), o.report]
        for stale in streamed.files[:-1]:  # the same outputs of an earlier run elsewhere
            (build.out / other / stale.name).unlink(missing_ok=True)
    measure = kwargs.get("measure") or ThreadedChunks(kwargs.get("workers", 2))
    streamed.engine = f"{measure.label}, {streamed.chunks} chunk(s) of {chunk_rows} parcels"
    return streamed


def _fid_column(path: str | Path, layer: str | None) -> str | None:
    """The primary key of a GeoPackage layer (FIDs ascend in reading order), else ``None``."""
    if Path(path).suffix.lower() != ".gpkg":
        return None
    fid = pyogrio.read_info(path, layer=layer).get("fid_column")
    return str(fid) if fid else None


def _bar(total: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc="parcels", unit="parcel", file=sys.stderr)
