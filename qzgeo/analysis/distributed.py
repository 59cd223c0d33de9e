"""Parcel analysis on a Dask cluster (dask-geopandas), for parcel sets beyond one machine.

The parcels are partitioned spatially (sorted along a Hilbert curve), the
:class:`~qzgeo.analysis.parcels.ParcelPlan` (merged constraints and zones) is broadcast to
every worker *once* with ``client.scatter``, and
each partition is measured by the same kernel as the single-machine path, so the numbers are
identical. Needs the ``dask`` extra: ``pip install 'qzgeo[dask]'``.

Two ways in: :func:`analyze_parcels_dask` measures parcels held in memory; :class:`DaskChunks`
measures the chunks of a streamed ``qzgeo analyze`` (big files, ``--chunk-rows``): the client
reads, repairs and writes each chunk, the cluster measures it (several Hilbert partitions per
chunk, the plan scattered once per run), and at most ``window`` chunks are in flight, so the
client's memory stays bounded by the chunk. See ``docs/dask.md``.

On one 2-core machine the threaded single-machine path is faster: processes pay for pickling
the parcels (see ``benchmarks/README_overlay.md``). The Dask path is for a real cluster.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import CancelledError
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from qzgeo._errors import InputError, QzgeoError
from qzgeo.analysis.overlay import OverlayPlan, OverlayReport, overlay_areas
from qzgeo.analysis.parcels import (
    ParcelPlan,
    build_parcel_plan,
    finish_parcels,
    measure_parcels,
    overlay_crs,
    to_planar,
)
from qzgeo.notices import counted
from qzgeo.pack.load import LoadedPack

__all__ = [
    "DaskChunks",
    "analyze_parcels_dask",
    "check_workers",
    "dask_chunks",
    "dask_client",
    "overlay_areas_dask",
    "worker_version",
]

_POS = "_qzgeo_pos"
#: Times a chunk is sent again after the cluster lost it (a worker died holding its data).
RESENDS = 2
logger = logging.getLogger(__name__)


def _imports() -> tuple[Any, Any]:
    try:
        import dask_geopandas
        import distributed
    except ImportError as exc:
        msg = (
            f"the Dask path needs dask-geopandas and distributed ({exc.name} is missing); "
            "pip install 'qzgeo[dask]'"
        )
        raise QzgeoError(msg) from exc
    return dask_geopandas, distributed


@contextlib.contextmanager
def dask_client(
    scheduler: str | None = None, *, n_workers: int = 2, threads_per_worker: int = 1
) -> Iterator[Any]:
    """A ``distributed.Client``: connected to ``scheduler`` or to a new local cluster.

    A local cluster is shut down on exit; a remote scheduler is only disconnected. Connecting
    to ``scheduler`` and waiting for its first worker each give up after Dask's connect
    timeout (``DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT``, default 30 s).
    """
    _, distributed = _imports()
    if scheduler:
        try:
            client = distributed.Client(scheduler)
        except TypeError as exc:  # tls:// without certificates in the Dask config
            msg = (
                f"cannot connect to the Dask scheduler {scheduler!r}: {exc}; a tls:// address "
                "needs the certificates in Dask's config (distributed.comm.tls.ca-file and "
                "distributed.comm.tls.client.cert/key, or DASK_DISTRIBUTED__COMM__TLS__CA_FILE...)"
            )
            raise QzgeoError(msg) from exc
        except (OSError, ValueError) as exc:
            msg = (
                f"cannot reach the Dask scheduler {scheduler!r} ({exc}); is it running? "
                "Start it with `dask scheduler` and give its address, e.g. tcp://host:8786"
            )
            raise QzgeoError(msg) from exc
        try:
            _wait_for_a_worker(client, scheduler)
            check_workers(client, scheduler)
            yield client
        except distributed.comm.CommClosedError as exc:  # not any OSError: the outputs' too
            msg = (
                f"lost the connection to the Dask scheduler {scheduler!r} during the run "
                f"({exc}); is it still running? Nothing was written: run again"
            )
            raise QzgeoError(msg) from exc
        finally:
            client.close()
        return
    with _quiet_logs() as mute:
        with _ctrl_c_ignored():  # by the worker processes started now (they inherit it)
            cluster = distributed.LocalCluster(
                n_workers=n_workers,
                threads_per_worker=threads_per_worker,
                processes=True,
                # any free port: None still serves HTTP on 8787, and warned when it was taken
                # (a second run, a notebook's cluster)
                dashboard_address=":0",
                silence_logs=logging.CRITICAL,  # the worker processes': see _quiet_logs
            )
        client = distributed.Client(cluster)
        try:
            yield client
        except BaseException:  # Ctrl-C, SIGTERM, an error: the cluster stops mid-work
            mute()
            raise
        finally:
            client.close()
            cluster.close()


@contextlib.contextmanager
def _quiet_logs() -> Iterator[Any]:
    """A local cluster's log lines kept off the terminal; yields ``mute`` for its shutdown.

    The scheduler and the nannies of a local cluster run in this process: their INFO lines
    (~20 a run) reached the terminal through the root handler of ``qzgeo -v``'s logging,
    and when a run is stopped mid-work (Ctrl-C) the cluster's shutdown logged tracebacks
    (``KeyError`` in a scatter, lost scattered data, closed comms) about work that was
    being dropped anyway. Warnings (memory) still show; ``qzgeo -v`` shows everything.
    """
    loggers = [logging.getLogger(name) for name in ("distributed", "asyncio")]
    levels = [lg.level for lg in loggers]
    if logging.getLogger().getEffectiveLevel() >= logging.WARNING:
        loggers[0].setLevel(logging.WARNING)

    def mute() -> None:
        for lg in loggers:
            lg.setLevel(logging.CRITICAL + 1)

    try:
        yield mute
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


@contextlib.contextmanager
def _ctrl_c_ignored() -> Iterator[None]:
    """SIGINT ignored while a local cluster starts: its worker processes inherit that.

    Ctrl-C reaches the terminal's whole process group; the workers answered it each with a
    ``KeyboardInterrupt`` traceback, while this process stops the cluster anyway. (A Ctrl-C
    pressed during the start, a second or two, is not seen: press it again.)
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _wait_for_a_worker(client: Any, scheduler: str) -> None:
    import dask

    try:
        client.wait_for_workers(1, timeout=dask.config.get("distributed.comm.timeouts.connect"))
    except (OSError, TimeoutError) as exc:
        msg = (
            f"the Dask scheduler {scheduler!r} has no worker; start some with "
            f"`dask worker {scheduler}` (with qzgeo installed: pip install 'qzgeo[dask]')"
        )
        raise QzgeoError(msg) from exc


def worker_version() -> str:
    """qzgeo's version where this runs: sent to every Dask worker by :func:`check_workers`.

    Unpickling it there imports this module, as every task does: a worker without qzgeo fails.
    """
    try:
        return version("qzgeo")
    except PackageNotFoundError:  # a source tree on sys.path, not installed
        return "(not installed)"


def check_workers(client: Any, scheduler: str) -> None:
    """Every worker of ``client`` imports qzgeo and has this machine's version, or an error.

    Without this a worker lacking qzgeo failed the run with a traceback from Dask; one with
    another version would measure with other code than the one this machine runs.
    """
    mine = worker_version()
    found = client.run(worker_version, on_error="return")
    wrong = {w: v for w, v in found.items() if v != mine}
    if not wrong:
        return
    said = "; ".join(
        f"{w}: {'qzgeo ' + v if isinstance(v, str) else f'cannot load qzgeo ({v})'}"
        for w, v in sorted(wrong.items())
    )
    msg = (
        f"{counted(len(wrong), 'worker')} of the Dask scheduler {scheduler!r} cannot run "
        f"qzgeo {mine} ({said}); install this version on every worker host "
        f"(pip install 'qzgeo[dask]=={mine}') and restart `dask worker`"
    )
    raise QzgeoError(msg)


def _measure_partition(part: gpd.GeoDataFrame, plan: ParcelPlan) -> tuple[pd.DataFrame, Any]:
    # One thread per task: Dask already runs one task per worker thread.
    df, report = measure_parcels(part, plan, workers=1, chunk_size=max(len(part), 1))
    df[_POS] = part[_POS].to_numpy()
    return df, report


def _partitions(client: Any, n: int) -> int:
    """Partitions for ``n`` parcels: 4 per worker thread, at least 500 parcels each."""
    threads = sum(client.nthreads().values()) or 1
    return max(1, min(4 * threads, n // 500 or 1))


def _map_partitions(
    client: Any, frame: gpd.GeoDataFrame, func: Any, plan: Any, npartitions: int | None
) -> list[Any]:
    """Run ``func(partition, plan)`` on Hilbert-sorted partitions; the plan is sent once."""
    dask_geopandas, _ = _imports()
    npartitions = npartitions or _partitions(client, len(frame))
    # Hilbert partitions: sort by the curve on the client (cheap) instead of a cluster shuffle,
    # so each partition is spatially compact and its STRtree prunes most constraint parts.
    order = np.argsort(frame.hilbert_distance().to_numpy(), kind="stable")
    ddf = dask_geopandas.from_geopandas(frame.iloc[order], npartitions=npartitions, sort=False)
    # Broadcast the merged constraints once; tasks receive the future, not the geometry.
    plan_future = client.scatter(plan, broadcast=True)
    parts = client.compute(ddf.to_delayed())
    futures = [client.submit(func, part, plan_future, pure=False) for part in parts]
    return list(client.gather(futures))


def _overlay_partition(
    part: gpd.GeoDataFrame, args: tuple[OverlayPlan, dict[str, Any]]
) -> tuple[pd.DataFrame, OverlayReport]:
    plan, options = args
    df, report = overlay_areas(part, plan, workers=1, chunk_size=max(len(part), 1), **options)
    df[_POS] = part[_POS].to_numpy()
    return df, report


def overlay_areas_dask(
    parcels: gpd.GeoDataFrame,
    plan: OverlayPlan,
    *,
    client: Any,
    npartitions: int | None = None,
    ellipsoidal: bool = True,
    check_conservation: bool = True,
) -> tuple[pd.DataFrame, OverlayReport]:
    """:func:`qzgeo.analysis.overlay.overlay_areas` on a Dask cluster: same result, same index."""
    frame = gpd.GeoDataFrame(
        {_POS: range(len(parcels))}, geometry=parcels.geometry.values, crs=parcels.crs
    )
    options = {"ellipsoidal": ellipsoidal, "check_conservation": check_conservation}
    outs = _map_partitions(client, frame, _overlay_partition, (plan, options), npartitions)
    df = pd.concat([o[0] for o in outs], ignore_index=True).sort_values(_POS)
    df = df.drop(columns=_POS)
    df.index = parcels.index
    report = OverlayReport()
    for o in outs:
        report.extend(o[1])
    return df, report


def analyze_parcels_dask(
    parcels: gpd.GeoDataFrame,
    loaded: LoadedPack,
    *,
    client: Any | None = None,
    scheduler: str | None = None,
    n_workers: int = 2,
    npartitions: int | None = None,
    report: OverlayReport | None = None,
    plan: ParcelPlan | None = None,
) -> gpd.GeoDataFrame:
    """:func:`qzgeo.analysis.parcels.analyze_parcels` on Dask: same columns, same numbers.

    Parameters
    ----------
    parcels, loaded, report, plan
        As for :func:`qzgeo.analysis.parcels.analyze_parcels`.
    client
        An existing ``distributed.Client``; otherwise one is made from ``scheduler``
        (``tcp://host:8786``) or a local cluster of ``n_workers`` processes.
    npartitions
        Spatial partitions (default: 4 per worker thread, at least 1).
    """
    if client is None:
        with dask_client(scheduler, n_workers=n_workers) as own:
            return analyze_parcels_dask(
                parcels, loaded, client=own, npartitions=npartitions, report=report, plan=plan
            )
    plan = plan or build_parcel_plan(loaded, planar_crs=overlay_crs(parcels.crs, loaded.planar_crs))
    planar = to_planar(parcels, plan.planar_crs)
    frame = gpd.GeoDataFrame(
        {_POS: range(len(planar))}, geometry=planar.geometry.values, crs=planar.crs
    )
    outs = _map_partitions(client, frame, _measure_partition, plan, npartitions)
    measured = pd.concat([o[0] for o in outs if len(o[0])], ignore_index=True)
    measured = measured.sort_values(_POS).set_index(_POS)
    if len(measured) != len(parcels):
        msg = f"the Dask path measured {len(measured)} of {len(parcels)} parcels; please report"
        raise QzgeoError(msg)
    measured.index = parcels.index
    if report is not None:
        for o in sorted(outs, key=lambda o: int(o[0][_POS].min()) if len(o[0]) else -1):
            report.extend(o[1])
    return finish_parcels(parcels, measured, plan)


Measured = tuple[pd.DataFrame, OverlayReport]
#: One partition of a chunk as sent to a worker: WKB, index labels, positions in the chunk.
Part = tuple[npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[Any]]


def _measure_wkb(part: Part, plan: ParcelPlan) -> Measured:
    """Measure one partition of a chunk: WKB in the plan's planar CRS, labels, positions."""
    wkb, labels, pos = part
    frame = gpd.GeoDataFrame(
        geometry=shapely.from_wkb(wkb), index=pd.Index(labels), crs=plan.planar_crs
    )
    # One thread per task: Dask already runs one task per worker thread.
    df, report = measure_parcels(frame, plan, workers=1, chunk_size=max(len(frame), 1))
    df[_POS] = pos
    return df, report


class DaskChunks:
    """Measures the chunks of a streamed parcel analysis on a Dask cluster.

    :meth:`put` sends one chunk to the cluster and returns the chunks measured meanwhile,
    oldest first (file order); :meth:`flush` waits for the rest. At most ``window`` chunks
    are in flight: while the cluster measures one, the client writes the previous one and
    reads and repairs the next. Each chunk is cut into ``npartitions`` Hilbert-ordered
    partitions (default: 4 per worker thread, see :func:`analyze_parcels_dask`) so that every
    worker is busy. Only the planar geometries cross the network, as WKB, with the parcels'
    index labels (the overlay report names parcels by them); the
    :class:`~qzgeo.analysis.parcels.ParcelPlan` is scattered to every worker once per run.

    Parameters
    ----------
    client
        A ``distributed.Client`` (see :func:`dask_client`).
    window
        Chunks in flight at most (1: one chunk at a time, the cluster idles while the client
        reads and writes).
    npartitions
        Partitions per chunk.

    Examples
    --------
    >>> chunks = DaskChunks(client)  # doctest: +SKIP
    >>> done = chunks.put(planar_chunk, plan)  # doctest: +SKIP
    >>> done += chunks.flush()  # doctest: +SKIP
    """

    def __init__(self, client: Any, *, window: int = 2, npartitions: int | None = None) -> None:
        if window < 1 or (npartitions is not None and npartitions < 1):
            msg = f"window and npartitions must be at least 1, got {window!r}, {npartitions!r}"
            raise InputError(msg)
        self.client, self.window, self.npartitions = client, window, npartitions
        self._plan: ParcelPlan | None = None
        self._plan_future: Any = None
        # per chunk in flight: its index, its partitions (kept to send again) and its futures
        self._inflight: deque[tuple[pd.Index, list[Part], list[Any]]] = deque()
        workers = len(client.nthreads())
        self.label = f"dask ({client.scheduler.address}, {counted(workers, 'worker')})"

    def put(self, planar: gpd.GeoDataFrame, plan: ParcelPlan) -> list[Measured]:
        """Send one chunk, in the plan's planar CRS; return the chunks measured meanwhile.

        Each returned ``(DataFrame, OverlayReport)`` is that of
        :func:`~qzgeo.analysis.parcels.measure_parcels` on one earlier chunk, indexed like it.
        """
        if plan is not self._plan:  # once per run: every chunk is measured with one plan
            self._plan, self._plan_future = plan, self.client.scatter(plan, broadcast=True)
        parts = self._partitions(planar)
        self._inflight.append((planar.index, parts, self._send(parts)))
        done = []
        while len(self._inflight) >= self.window:
            done.append(self._gather(*self._inflight.popleft()))
        return done

    def flush(self) -> list[Measured]:
        """Wait for the chunks still in flight; their results, oldest first."""
        done = []
        while self._inflight:
            done.append(self._gather(*self._inflight.popleft()))
        return done

    def _partitions(self, planar: gpd.GeoDataFrame) -> list[Part]:
        n = len(planar)
        order = np.argsort(planar.hilbert_distance().to_numpy(), kind="stable")
        wkb = shapely.to_wkb(planar.geometry.to_numpy()[order])
        labels = planar.index.to_numpy()[order]
        cuts = np.array_split(
            np.arange(n), min(self.npartitions or _partitions(self.client, n), max(n, 1))
        )
        return [(wkb[c], labels[c], order[c]) for c in cuts if len(c)]

    def _send(self, parts: list[Part]) -> list[Any]:
        # Scattered, not embedded in the task graph: the scheduler passes them to a worker.
        data = self.client.scatter(parts, hash=False)
        return [self.client.submit(_measure_wkb, d, self._plan_future, pure=False) for d in data]

    def _gather(self, index: pd.Index, parts: list[Part], futures: list[Any]) -> Measured:
        outs = self._results(parts, futures)
        df = pd.concat([o[0] for o in outs]).sort_values(_POS).drop(columns=_POS)
        if len(df) != len(index):
            msg = f"the Dask path measured {len(df)} of {len(index)} parcels; please report"
            raise QzgeoError(msg)
        df.index = index
        report = OverlayReport()
        for o in outs:
            report.extend(o[1])
        return df, report

    def _results(self, parts: list[Part], futures: list[Any]) -> list[Measured]:
        """The chunk's results; sent again (``RESENDS`` times) if the cluster lost them.

        Scattered data live on one worker only: when it dies (killed, out of memory, its host
        gone) the scheduler cannot recompute them and cancels the chunk's tasks. The client
        still holds the partitions, so it sends them, and the plan, again.
        """
        for attempt in range(RESENDS + 1):
            try:
                return list(self.client.gather(futures))
            except CancelledError as exc:
                if self.client.status != "running":  # the scheduler is gone, not a worker
                    msg = (
                        "lost the connection to the Dask scheduler "
                        f"{self.client.scheduler.address!r} during the run ({exc}); is it "
                        "still running? Nothing was written: run again"
                    )
                    raise QzgeoError(msg) from exc
                if attempt == RESENDS:
                    msg = (
                        f"the Dask cluster at {self.client.scheduler.address} lost a chunk "
                        f"{RESENDS + 1} times ({exc}): its workers keep dying; see their logs "
                        "(memory limit? dask worker --memory-limit) or run without --scheduler"
                    )
                    raise QzgeoError(msg) from exc
                logger.warning("a Dask worker was lost (%s); sending its chunk again", exc)
                _wait_for_a_worker(self.client, self.client.scheduler.address)
                self._plan_future = self.client.scatter(self._plan, broadcast=True)
                futures = self._send(parts)
        raise AssertionError  # unreachable: the last attempt returns or raises


@contextlib.contextmanager
def dask_chunks(
    scheduler: str | None = None, *, n_workers: int = 2, window: int = 2
) -> Iterator[DaskChunks]:
    """:class:`DaskChunks` on a client of :func:`dask_client` (closed on exit)."""
    with dask_client(scheduler, n_workers=n_workers) as client:
        yield DaskChunks(client, window=window)
