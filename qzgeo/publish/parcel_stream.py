"""`qzgeo analyze` on big parcel files: read, analyze and write in chunks of rows.

Peak memory is bounded by the chunks, not by the file: each chunk of ``chunk_rows`` features is
read (with the checks of :func:`qzgeo.io.vector.read_layer`), repaired, measured with the one
:class:`~qzgeo.analysis.parcels.ParcelPlan` and encoded (in worker processes, here, or on a
Dask cluster), then written in file order into ``parcels.gpkg`` as one Arrow stream; only the
per-zone totals, the counts and the reports stay in memory. Every per-parcel number is computed
exactly as in memory (the engine's area scale lattice is fixed, chunks only cut the work), so
the rows are the same as those of :func:`qzgeo.analysis.parcels.analyze_parcels`.

Chunks follow the file's feature order. A spatially sorted file (a GeoPackage written in
Hilbert or tile order) gives each chunk a smaller extent, which only makes it faster. A PostGIS
table with a one-column primary key is streamed like a file, in key order (ranges of its key,
see :func:`qzgeo.io.postgis_read.postgis_key_ranges`); one without is read whole.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio

from qzgeo._errors import InputError
from qzgeo.analysis.chunk_pool import (
    ChunkContext,
    ChunkMeasure,
    ChunkPool,
    ChunkSource,
    ChunkStart,
    chunk_starts,
    fid_column,
    measure_elsewhere,
    run_chunks,
)
from qzgeo.analysis.overlap_chunks import ChunkBoxes
from qzgeo.analysis.parcel_columns import kept_declared
from qzgeo.analysis.parcels import (
    build_parcel_plan,
    check_parcels,
    overlay_crs,
)
from qzgeo.geo.repair import RepairReport
from qzgeo.io.digest import input_digest, sha256_path
from qzgeo.io.guard import ReadCaps, current_caps, read_caps
from qzgeo.io.layer_info import declared_fields
from qzgeo.io.postgis_read import chunk_refusal, postgis_keyed_count
from qzgeo.io.postgis_uri import is_postgis_uri
from qzgeo.io.vector import read_layer_features
from qzgeo.io.write_stream import write_gpkg_stream
from qzgeo.notices import counted
from qzgeo.pack.load import LoadedPack
from qzgeo.publish.parcel_tables import (
    parcel_place,
    published_zone_names,
    results_public,
)
from qzgeo.publish.parcel_totals import StreamedParcels, StreamTotals

__all__ = [
    "CHUNK_ROWS",
    "POOL_ABOVE",
    "STREAM_ABOVE",
    "STREAM_SUFFIXES",
    "StreamChoice",
    "StreamedParcels",
    "analyze_parcels_streamed",
    "chunk_measure",
    "feature_count",
    "stream_choice",
    "stream_parcels_into",
]

#: Formats read in chunks (GDAL can skip to a feature without parsing the ones before).
STREAM_SUFFIXES = frozenset({".gpkg", ".fgb", ".shp"})


#: Files with more parcels than this are streamed by default (threads: in chunks of
#: CHUNK_ROWS; worker processes: see :func:`stream_choice`).
STREAM_ABOVE = 500_000
CHUNK_ROWS = 250_000
#: Files of at least this many parcels are analyzed by worker processes when allowed.
POOL_ABOVE = 50_000


@dataclass(frozen=True)
class StreamChoice:
    """How ``qzgeo analyze`` reads a parcel file: chunks of ``rows``, in ``processes``."""

    rows: int
    processes: int


def stream_choice(
    path: str | Path,
    layer: str | None,
    chunk_rows: int | None,
    *,
    dask: bool,
    make_map: bool,
    workers: int = 1,
) -> StreamChoice | None:
    """Chunks for ``qzgeo analyze``, or ``None`` to analyze the parcels in memory.

    ``chunk_rows`` if given (refused with the map, which needs every parcel at once). With
    ``workers`` > 1 processes allowed (and no Dask), a streamable file
    (:data:`STREAM_SUFFIXES`) of at least :data:`POOL_ABOVE` parcels goes to ``workers``
    processes in chunks of about an eighth of the file per worker (25 000 to
    :data:`CHUNK_ROWS`): small enough to keep the processes and the writer busy together.
    Otherwise files of more than :data:`STREAM_ABOVE` parcels are streamed in chunks of
    :data:`CHUNK_ROWS` (threads, or measured on the Dask cluster).
    """
    if chunk_rows is not None and make_map:
        msg = (
            f"chunk_rows={chunk_rows} streams the parcels, but the map needs every parcel "
            "at once; leave out the map or chunk_rows"
        )
        raise InputError(msg)
    if make_map:
        return None
    n = feature_count(path, layer)
    if n is None:
        if chunk_rows is not None:
            return StreamChoice(chunk_rows, 1)  # analyze_parcels_streamed explains the refusal
        return None
    if workers > 1 and n >= POOL_ABOVE and not dask:
        rows = chunk_rows or min(CHUNK_ROWS, max(25_000, -(-n // (8 * workers))))
        return StreamChoice(rows, workers)
    if chunk_rows is not None:
        return StreamChoice(chunk_rows, 1)
    return StreamChoice(CHUNK_ROWS, 1) if n > STREAM_ABOVE else None


def chunk_measure(
    *, dask: bool, scheduler: str | None, workers: int
) -> contextlib.AbstractContextManager[ChunkMeasure | None]:
    """Where ``qzgeo analyze`` measures streamed chunks: here (``None``), or a Dask cluster.

    With ``dask``, the cluster at ``scheduler`` (``tcp://host:8786``), else a local cluster of
    ``workers`` processes; it is disconnected (a local one shut down) on exit.
    """
    if not dask:
        return contextlib.nullcontext(None)
    from qzgeo.analysis.distributed import dask_chunks

    return dask_chunks(scheduler, n_workers=workers)


def feature_count(path: str | Path, layer: str | None = None) -> int | None:
    """Number of features of a streamable file (see :data:`STREAM_SUFFIXES`) or PostGIS
    table (one with a one-column primary key), else ``None``."""
    if is_postgis_uri(str(path)):
        return postgis_keyed_count(str(path))  # errors (no table, a key of 2 columns) now
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
    extra: dict[str, Any] | Callable[[], dict[str, Any]] | None = None,
    report_dir: str | Path | None = None,
    rename: Callable[[gpd.GeoDataFrame], gpd.GeoDataFrame] | None = None,
    pool: ChunkPool | None = None,
    measure: ChunkMeasure | None = None,
) -> StreamedParcels:
    """Analyze a parcel file chunk by chunk into ``out_dir`` (the outputs of ``qzgeo analyze``).

    Parameters
    ----------
    parcels_path
        A GeoPackage, FlatGeobuf or Shapefile of parcel polygons, or a keyed PostGIS table.
    loaded
        The pack, from :func:`qzgeo.pack.load.load_pack_layers`.
    out_dir
        Receives ``parcels.gpkg``, ``parcels_summary.csv`` (+ ``.xlsx``), the report.
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
        More entries for ``parcels_report.json`` (or a function giving them, called at the
        end), and its folder (default ``out_dir``).
    rename
        Applied to each chunk's result before it is written and summed (unpublished names).
    pool
        Worker processes (:func:`qzgeo.analysis.chunk_pool.chunk_pool`) that analyze the
        chunks while this process writes; without one the chunks are analyzed here with
        ``workers`` threads.
    measure
        Measures the chunks elsewhere, e.g. on a Dask cluster
        (:class:`qzgeo.analysis.distributed.DaskChunks`); the chunks are read, repaired and
        written here.
    """
    read = {"layer": layer, "crs": crs, "datum": datum, **(read_kwargs or {})}
    counted, caps = _chunked_caps(parcels_path, layer, current_caps())
    with read_caps(caps):
        n, probe = _probe(parcels_path, counted, chunk_rows, read)
    plan = build_parcel_plan(loaded, planar_crs=overlay_crs(probe.crs, loaded.planar_crs))
    source = _source(parcels_path, layer, crs, datum, read_kwargs)
    ctx = ChunkContext(source, plan, loaded.coverage, caps, rename)
    boxes = ChunkBoxes(probe.crs, chunk_rows, plan.planar_crs)
    acc = StreamTotals(plan, repairs or RepairReport(), source, boxes)
    acc.cap = caps.max_features if caps.features_given else None
    acc.submit = None if pool is None else pool.executor.submit  # the tail's work: a worker's
    acc.spill = None if pool is None else pool.spill  # where the rows' boxes go to it
    starts = chunk_starts(source, n, chunk_rows)
    results = (
        measure_elsewhere(ctx, starts, measure) if measure is not None
        else run_chunks(ctx, starts, pool=pool, threads=workers)
    )  # fmt: skip
    out, report = Path(out_dir), Path(report_dir if report_dir is not None else out_dir)
    acc.engine = _engine(pool, measure, workers, starts, chunk_rows)
    tables = acc.tables(results, _bar(n, progress))
    meanwhile = functools.partial(acc.finish_meanwhile, out=out, extra=extra, report_dir=report)
    write_gpkg_stream(
        out / "parcels.gpkg", "parcels", tables, crs=probe.crs, rows=n, leaves=acc.leaf_packs,
        meanwhile=acc.pairs_across if starts[1:] else meanwhile,  # one chunk: no pairs across
    )  # fmt: skip
    if acc.parcels == 0:  # no polygon at all: the error of an empty parcel layer
        check_parcels(probe.iloc[:0], where=str(parcels_path))
    return acc.finished or acc.finish(out, extra, report)


def _source(
    path: str | Path,
    layer: str | None,
    crs: str | None,
    datum: str | None,
    read_kwargs: dict[str, Any] | None,
) -> ChunkSource:
    """Where each chunk is read from, and how (the options of ``read_layer``)."""
    return ChunkSource(
        str(path), layer, crs, datum, dict(read_kwargs or {}), fid_column(path, layer),
        kept_declared(declared_fields(path, layer)),
    )  # fmt: skip


def _engine(
    pool: ChunkPool | None,
    measure: ChunkMeasure | None,
    workers: int,
    starts: list[ChunkStart],
    rows: int,
) -> str:
    """How the chunks were analyzed, for the command's last line and the report."""
    way = f"{pool.processes} processes" if pool is not None else f"threads ({workers})"  # >= 2
    way = measure.label if measure is not None else way
    spatial = any(spec[3] is not None for spec in starts)  # tiles of the file's R-tree
    chunks = counted(len(starts), "spatial chunk" if spatial else "chunk")
    return f"{way}, {chunks} of {'up to ' if spatial else ''}{counted(rows, 'parcel')}"


def _chunked_caps(
    path: str | Path, layer: str | None, caps: ReadCaps
) -> tuple[int | None, ReadCaps]:
    """The layer's feature count, and its caps when read in chunks: the count is capped only
    if asked.

    The default feature cap bounds what one read holds in memory, and a chunked read holds
    one chunk. A cap given with ``--max-features`` still refuses the layer, on its first read.
    """
    n = feature_count(path, layer)
    if caps.features_given or n is None or n <= caps.max_features:
        return n, caps
    return n, dataclasses.replace(caps, max_features=n)


def _probe(
    path: str | Path, n: int | None, chunk_rows: int, read: dict[str, Any]
) -> tuple[int, gpd.GeoDataFrame]:
    """The number of features ``n`` (:func:`feature_count`), and the first feature read as
    every chunk will be (its CRS).

    Reading it first raises any reading error (CRS, encoding, driver) before a worker starts.
    """
    if chunk_rows < 1:
        msg = f"chunk_rows must be a positive number of features, got {chunk_rows!r}"
        raise InputError(msg)
    probe = read_layer_features(path, (0, 1), **read)
    if n is None and is_postgis_uri(str(path)):
        raise chunk_refusal(str(path))
    if n is None:
        msg = (
            f"{path}: cannot be read in chunks; give a GeoPackage, FlatGeobuf or "
            "Shapefile, or analyze it without chunks"
        )
        raise InputError(msg)
    return n, probe


def stream_parcels_into(
    out_dir: str | Path,
    parcels_path: str | Path,
    loaded: LoadedPack,
    repairs: RepairReport,
    chunk_rows: int,
    *,
    public: bool = False,
    **kwargs: Any,
) -> StreamedParcels:
    """:func:`analyze_parcels_streamed` into ``out_dir/public`` or ``out_dir/internal``.

    The same placement as the in-memory ``qzgeo analyze`` (:mod:`qzgeo.io.outdir`): public
    only if asked and allowed (:func:`~qzgeo.publish.parcel_tables.results_audience`; then
    unpublished zone names are replaced);
    ``parcels_report.json`` always internal; the same outputs of an earlier run in the other
    part are removed. ``kwargs`` go to :func:`analyze_parcels_streamed`.
    """
    pack = loaded.pack
    public = public and results_public(pack)
    failed = threading.Event()  # ends the hash at once: an error is not held back by it
    with (
        parcel_place(out_dir, parcels_path, pack, public=public) as place,
        ThreadPoolExecutor(1) as hasher,
    ):
        inputs = _inputs(parcels_path, hasher, failed)
        try:
            streamed = analyze_parcels_streamed(
                parcels_path, loaded, place.part, chunk_rows=chunk_rows, repairs=repairs,
                extra=lambda: {"inputs": inputs()},
                report_dir=place.build.internal,
                # a partial, not a lambda: worker processes receive it pickled
                rename=functools.partial(published_zone_names, pack=pack) if public else None,
                **kwargs,
            )  # fmt: skip
        except BaseException:
            failed.set()
            raise
        o = streamed.outputs
        place.files = o.results
    streamed.files = [*place.files, place.final(o.report)]
    return streamed


def _inputs(
    path: str | Path, hasher: ThreadPoolExecutor, stop: threading.Event
) -> Callable[[], dict[str, str]]:
    """The ``inputs`` of parcels_report.json, when asked: a file's hash is read meanwhile, while the
    chunks are analyzed; a PostGIS table is named by its URI (password hidden)."""
    if is_postgis_uri(str(path)):
        return lambda: input_digest(path)
    digest = hasher.submit(sha256_path, path, stop=stop)
    return lambda: {Path(path).name: digest.result()}


def _bar(total: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from qzgeo.progress import progress_bar

    return progress_bar(total=total, desc="parcels", unit="parcel")
