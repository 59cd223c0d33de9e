"""The Dask path on a real 2-process LocalCluster gives the single-machine numbers."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from qzgeo.analysis.overlay import OverlayReport
from qzgeo.analysis.parcels import analyze_parcels
from qzgeo.cli.main import cli

from .conftest import MINIPACK, X0, Y0

distributed = pytest.importorskip("distributed")
pytest.importorskip("dask_geopandas")


def voronoi_parcels(n: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(11)
    frame = (X0 - 300, Y0 - 300, X0 + 2300, Y0 + 1300)
    xy = np.column_stack([rng.uniform(frame[0], frame[2], n), rng.uniform(frame[1], frame[3], n)])
    cells = shapely.get_parts(
        shapely.voronoi_polygons(
            shapely.multipoints(xy), extend_to=shapely.box(*frame), ordered=True
        )
    )
    return gpd.GeoDataFrame(
        {"地块号": [f"D{k:05d}" for k in range(n)]},
        geometry=shapely.clip_by_rect(cells, *frame),
        crs="EPSG:4524",
    )


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A real cluster: 2 worker processes (the plan and the parcels are pickled across)."""
    logging.getLogger("distributed").setLevel(logging.ERROR)
    local = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    try:
        yield local
    finally:
        local.close()


@pytest.mark.slow
def test_dask_path_equals_single_path(loaded_minipack, cluster) -> None:  # type: ignore[no-untyped-def]
    from qzgeo.analysis.distributed import analyze_parcels_dask

    parcels = voronoi_parcels(2000)
    parcels.index = parcels.index * 3 + 5  # a non-trivial index must survive the shuffle
    single_rep, dask_rep = OverlayReport(), OverlayReport()
    single = analyze_parcels(parcels, loaded_minipack, report=single_rep)
    with distributed.Client(cluster) as client:
        got = analyze_parcels_dask(
            parcels, loaded_minipack, client=client, report=dask_rep, npartitions=4
        )
    assert 0 < single["conflict"].sum() < len(parcels)
    pd.testing.assert_frame_equal(
        pd.DataFrame(got.drop(columns="geometry")),
        pd.DataFrame(single.drop(columns="geometry")),
        check_exact=True,
    )
    assert got.geometry.geom_equals_exact(single.geometry, tolerance=0).all()
    assert dask_rep.to_dict() == single_rep.to_dict()


def test_dask_chunks_come_back_in_order_with_a_window(loaded_minipack, cluster) -> None:  # type: ignore[no-untyped-def]
    """put returns the chunk before (2 in flight at most), flush the last; the plan is sent
    once; every chunk's numbers are those of measure_parcels on one machine."""
    from qzgeo.analysis.distributed import DaskChunks
    from qzgeo.analysis.parcels import build_parcel_plan, measure_parcels

    parcels = voronoi_parcels(1500)
    parcels.index = parcels.index * 7 + 1  # FIDs, not positions: the report names parcels
    plan = build_parcel_plan(loaded_minipack, planar_crs=parcels.crs)
    chunks = [parcels.iloc[k : k + 500] for k in range(0, 1500, 500)]
    broadcasts: list[bool] = []
    with distributed.Client(cluster) as client:
        scatter = client.scatter

        def spy(data: Any, **kwargs: Any) -> Any:
            broadcasts.append(bool(kwargs.get("broadcast")))
            return scatter(data, **kwargs)

        client.scatter = spy
        measure = DaskChunks(client, window=2, npartitions=3)
        assert measure.label.startswith("dask (tcp://") and measure.label.endswith(" 2 workers)")
        done = [measure.put(chunk, plan) for chunk in chunks]
        rest = measure.flush()
        assert [len(d) for d in done] == [0, 1, 1] and len(rest) == 1 and measure.flush() == []
    assert broadcasts.count(True) == 1  # the plan; the chunks' partitions go to one worker each
    for chunk, (df, report) in zip(chunks, [done[1][0], done[2][0], rest[0]], strict=True):
        want, want_report = measure_parcels(chunk, plan, workers=2)
        pd.testing.assert_frame_equal(df, want, check_exact=True)
        assert report.to_dict() == want_report.to_dict()


def _bowtie_parcels(n: int) -> gpd.GeoDataFrame:
    """``n`` Voronoi parcels, the last one a bow-tie (repaired, and reported, in its chunk)."""
    parcels = voronoi_parcels(n - 1)
    bad = parcels.iloc[[0]].copy()
    bad.geometry = [shapely.Polygon([(X0, Y0), (X0 + 10, Y0 + 10), (X0 + 10, Y0), (X0, Y0 + 10)])]
    bad["地块号"] = "bowtie"
    return pd.concat([parcels, bad], ignore_index=True)


@pytest.mark.slow
def test_cli_streams_chunks_to_a_scheduler_with_the_same_rows(  # type: ignore[no-untyped-def]
    cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`qzgeo analyze --scheduler ... --chunk-rows 1000`: the rows, summary and report of the
    threaded streamed path and of the in-memory path; big files stream to Dask by default."""
    import qzgeo.publish.parcel_stream as parcel_stream

    src = tmp_path / "parcels.gpkg"
    _bowtie_parcels(3000).to_file(src, layer="parcels", driver="GPKG")
    address = cluster.scheduler_address
    args = ["analyze", "--parcels", str(src), "--pack", str(MINIPACK), "--workers", "2"]
    runs = {
        "mem": [],
        "threads": ["--chunk-rows", "1000"],
        "dask": ["--scheduler", address, "--chunk-rows", "1000"],
        "auto": ["--scheduler", address],  # more than STREAM_ABOVE parcels (patched below)
    }
    out = {}
    for name, extra in runs.items():
        if name == "auto":
            monkeypatch.setattr(parcel_stream, "STREAM_ABOVE", 2000)
            monkeypatch.setattr(parcel_stream, "CHUNK_ROWS", 1500)
        res = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / name), *extra])
        assert res.exit_code == 0, (res.output, res.exception)
        out[name] = res.output
    # the parcels are in random order: spatial tiles of the file's R-tree (two chunks in file
    # order cover the area only twice: they are kept)
    assert "threads (2), 4 spatial chunks of up to 1000 parcels" in out["threads"]
    assert f"dask ({address}, 2 workers), 4 spatial chunks of up to 1000" in out["dask"]
    assert f"dask ({address}, 2 workers), 2 chunks of 1500 parcels" in out["auto"]
    part = "internal"  # the minipack's control lines are internal
    # spatial chunks write rows tile by tile: compare them by parcel id
    rows = {
        k: gpd.read_file(tmp_path / k / part / "parcels.gpkg")
        .sort_values("地块号")
        .reset_index(drop=True)
        for k in runs
    }
    assert len(rows["mem"]) == 3000 and 0 < rows["mem"]["conflict"].sum() < 3000
    for k in ("threads", "dask", "auto"):
        pd.testing.assert_frame_equal(
            rows[k].drop(columns="geometry"), rows["mem"].drop(columns="geometry"), check_exact=True
        )
        assert rows[k].geometry.geom_equals(rows["mem"].geometry).all()
    summaries = {
        k: pd.read_csv(tmp_path / k / part / "parcels_summary.csv", encoding="utf-8-sig")
        for k in runs
    }
    pd.testing.assert_frame_equal(summaries["dask"], summaries["threads"], check_exact=True)
    pd.testing.assert_frame_equal(summaries["dask"], summaries["mem"], rtol=1e-12)
    reports = {
        k: json.loads(
            (tmp_path / k / "internal" / "parcels_report.json").read_text(encoding="utf-8")
        )
        for k in runs
    }
    assert reports["dask"] == reports["threads"] == reports["mem"] == reports["auto"]
    assert [r["feature_id"] for r in reports["dask"]["repairs"]["repairs"]] == ["3000"]


def test_cli_bad_scheduler_exits_2(tmp_path: Path) -> None:
    """An unreachable scheduler, or one without workers: exit 2, a message, no traceback."""
    import dask

    src = tmp_path / "parcels.gpkg"
    voronoi_parcels(20).to_file(src, layer="parcels", driver="GPKG")
    args = ["analyze", "--parcels", str(src), "--pack", str(MINIPACK), "--chunk-rows", "10"]
    empty = distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=":0")
    try:
        with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
            down = CliRunner().invoke(
                cli, [*args, "--out", str(tmp_path / "a"), "--scheduler", "tcp://127.0.0.1:1"]
            )
            idle = CliRunner().invoke(
                cli, [*args, "--out", str(tmp_path / "b"), "--scheduler", empty.scheduler_address]
            )
            tls = CliRunner().invoke(
                cli, [*args, "--out", str(tmp_path / "c"), "--scheduler", "tls://127.0.0.1:1"]
            )
    finally:
        empty.close()
    for res, needle in [
        (down, "cannot reach the Dask scheduler 'tcp://127.0.0.1:1'"),
        (tls, "a tls:// address needs the certificates in Dask's config"),
        (idle, f"the Dask scheduler '{empty.scheduler_address}' has no worker; start some"),
    ]:
        assert res.exit_code == 2, (res.output, res.exception)
        assert isinstance(res.exception, SystemExit) and "Traceback" not in res.output
        assert needle in res.output, res.output
    assert not (tmp_path / "a" / "internal" / "parcels.gpkg").exists()


def test_workers_without_this_qzgeo_exit_2(  # type: ignore[no-untyped-def]
    cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers whose qzgeo is another version (here: this process claims another one) are
    refused before any parcel is sent: exit 2, the workers named, how to fix; no output left.
    A worker without qzgeo failed with a traceback from Dask's scatter of the plan."""
    from importlib.metadata import version

    import qzgeo.analysis.distributed as dist

    real = version("qzgeo")
    monkeypatch.setattr(dist, "version", lambda name: "9.9.9")  # here only, not on the workers
    src = tmp_path / "parcels.gpkg"
    voronoi_parcels(20).to_file(src, layer="parcels", driver="GPKG")
    res = CliRunner().invoke(
        cli,
        ["analyze", "--parcels", str(src), "--pack", str(MINIPACK), "--chunk-rows", "10",
         "--scheduler", cluster.scheduler_address, "--out", str(tmp_path / "out")],
    )  # fmt: skip
    assert res.exit_code == 2, (res.output, res.exception)
    assert "Traceback" not in res.output
    said = f"2 workers of the Dask scheduler '{cluster.scheduler_address}' cannot run qzgeo 9.9.9"
    assert said in res.output, res.output
    assert f": qzgeo {real}" in res.output and "pip install 'qzgeo[dask]==9.9.9'" in res.output
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_dask_chunks_survive_lost_workers(loaded_minipack, cluster) -> None:  # type: ignore[no-untyped-def]
    """Every worker killed while a chunk is in flight (its scattered partitions lost with
    them): the chunk is sent again and measured as on one machine, not a traceback from Dask
    (FutureCancelledError ... already forgotten)."""
    from qzgeo.analysis.distributed import DaskChunks
    from qzgeo.analysis.parcels import build_parcel_plan, measure_parcels

    parcels = voronoi_parcels(600)
    parcels.index = parcels.index * 3 + 2
    plan = build_parcel_plan(loaded_minipack, planar_crs=parcels.crs)
    with distributed.Client(cluster) as client:
        measure = DaskChunks(client, window=2, npartitions=2)
        assert measure.put(parcels, plan) == []
        distributed.wait(measure._inflight[0][-1])  # measured, held by the workers
        client.restart()  # kills and restarts every worker process: their data are gone
        (df, report), *more = measure.flush()
    assert more == []
    want, want_report = measure_parcels(parcels, plan, workers=1)
    pd.testing.assert_frame_equal(df, want, check_exact=True)
    assert report.to_dict() == want_report.to_dict()


_CTRL_C_AFTER_FIRST_CHUNK = """
import os, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # even if the test runner ignores it
from qzgeo.analysis import distributed
put = distributed.DaskChunks.put
def put_then_ctrl_c(self, planar, plan):
    done = put(self, planar, plan)
    os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C with a chunk in flight
    return done
distributed.DaskChunks.put = put_then_ctrl_c
from qzgeo.cli.main import main
sys.argv = ["qzgeo", *sys.argv[1:]]
main()
"""


@pytest.mark.slow
def test_local_dask_run_is_quiet_even_after_ctrl_c(tmp_path: Path) -> None:
    """`qzgeo analyze --dask`: no log lines of the local cluster (33 INFO lines a run before),
    and Ctrl-C with a chunk in flight ends with click's 'Aborted!' alone (before: tracebacks
    of the cluster's shutdown, KeyError in scatter, lost scattered data), no output left."""
    import os
    import subprocess
    import sys

    import qzgeo

    src = tmp_path / "parcels.gpkg"
    voronoi_parcels(40).to_file(src, layer="parcels", driver="GPKG")
    env = {**os.environ, "PYTHONPATH": str(Path(qzgeo.__file__).parents[1])}
    args = ["analyze", "--parcels", str(src), "--pack", str(MINIPACK), "--dask", "--chunk-rows"]
    full = subprocess.run(
        [sys.executable, "-m", "qzgeo", *args, "20", "--out", str(tmp_path / "a")],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert full.returncode == 0, full.stderr
    assert full.stderr.splitlines() == [f"pack: minipack ({MINIPACK}; from --pack)"]
    ctrl_c = [sys.executable, "-c", _CTRL_C_AFTER_FIRST_CHUNK]
    stopped = subprocess.run(
        [*ctrl_c, *args, "20", "--out", str(tmp_path / "b")],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert stopped.returncode == 1, stopped.stderr
    assert [s for s in stopped.stderr.splitlines() if s.strip()][1:] == ["Aborted!"], stopped.stderr
    assert not (tmp_path / "b").exists()


@pytest.mark.slow
def test_scheduler_gone_mid_run_is_an_error_naming_it(loaded_minipack) -> None:  # type: ignore[no-untyped-def]
    """The scheduler stops with a chunk in flight: a QzgeoError naming it (the CLI's exit 2
    and message), not distributed's 'in <TCP (closed) ConnectionPool.broadcast ...>'."""
    from qzgeo._errors import QzgeoError
    from qzgeo.analysis.distributed import DaskChunks, dask_client
    from qzgeo.analysis.parcels import build_parcel_plan

    parcels = voronoi_parcels(300)
    plan = build_parcel_plan(loaded_minipack, planar_crs=parcels.crs)
    doomed = distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    address = doomed.scheduler_address
    gone = pytest.raises(QzgeoError, match=f"lost the connection to the Dask scheduler '{address}'")
    with gone, dask_client(address) as client:
        measure = DaskChunks(client, window=2)
        measure.put(parcels, plan)
        doomed.close()
        measure.flush()
