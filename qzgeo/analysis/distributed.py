"""Parcel analysis on a Dask cluster (dask-geopandas), for parcel sets beyond one machine.

The parcels are partitioned spatially (sorted along a Hilbert curve), the
:class:`~qzgeo.analysis.parcels.ParcelPlan` (merged constraints and zones) is broadcast to
every worker *once* with ``client.scatter``, and
each partition is measured by the same kernel as the single-machine path, so the numbers are
identical. Needs the ``dask`` extra: ``pip install 'qzgeo[dask]'``.

On one 2-core machine the threaded single-machine path is faster: processes pay for pickling
the parcels (see ``benchmarks/README_overlay.md``). The Dask path is for a real cluster.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from qzgeo._errors import QzgeoError
from qzgeo.analysis.overlay import OverlayPlan, OverlayReport, overlay_areas
from qzgeo.analysis.parcels import (
    ParcelPlan,
    build_parcel_plan,
    finish_parcels,
    measure_parcels,
    overlay_crs,
    to_planar,
)
from qzgeo.pack.load import LoadedPack

__all__ = ["analyze_parcels_dask", "dask_client", "overlay_areas_dask"]

_POS = "_qzgeo_pos"


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

    A local cluster is shut down on exit; a remote scheduler is only disconnected.
    """
    _, distributed = _imports()
    if scheduler:
        try:
            client = distributed.Client(scheduler, timeout="20s")
        except OSError as exc:
            msg = f"cannot reach the Dask scheduler {scheduler!r} ({exc}); is it running?"
            raise QzgeoError(msg) from exc
        try:
            yield client
        finally:
            client.close()
        return
    cluster = distributed.LocalCluster(
        n_workers=n_workers,
        threads_per_worker=threads_per_worker,
        processes=True,
        dashboard_address=None,
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _measure_partition(part: gpd.GeoDataFrame, plan: ParcelPlan) -> tuple[pd.DataFrame, Any]:
    # One thread per task: Dask already runs one task per worker thread.
    df, report = measure_parcels(part, plan, workers=1, chunk_size=max(len(part), 1))
    df[_POS] = part[_POS].to_numpy()
    return df, report


def _map_partitions(
    client: Any, frame: gpd.GeoDataFrame, func: Any, plan: Any, npartitions: int | None
) -> list[Any]:
    """Run ``func(partition, plan)`` on Hilbert-sorted partitions; the plan is sent once."""
    dask_geopandas, _ = _imports()
    if npartitions is None:
        threads = sum(client.nthreads().values()) or 1
        npartitions = max(1, min(4 * threads, len(frame) // 500 or 1))
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
