"""Ctrl-C while the worker pool starts (`qzgeo analyze` of 50 000+ parcels, in its first
second): the spill folder and the workers go with the run, as they do once the run is going.

Found by sending SIGINT to `qzgeo analyze --parcels big.gpkg --chunk-rows 7000` at 0.87 s:
"Aborted!", exit 1, but an empty `/dev/shm/qzgeo-chunks-PID-*` was left (removed only by a
run an hour later). Between the pool's start and the `try` that stops it, an interrupt
skipped both the folder's removal and the pool's; the workers were then shut down by
Python's exit handler, which lets them leave without removing the folder.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import qzgeo.analysis.chunk_pool as cp
import qzgeo.analysis.processes as processes


class _Interrupted(threading.Thread):
    """The warm-up thread: Ctrl-C arrives as it starts (the main thread, right after the
    workers were forked)."""

    def start(self) -> None:
        raise KeyboardInterrupt


def test_ctrl_c_as_the_pool_starts_leaves_no_folder_and_no_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workers = []
    real_pool = cp.worker_pool

    def worker_pool(*args: object, **kwargs: object) -> object:
        pool = real_pool(*args, **kwargs)  # type: ignore[arg-type]
        # Forked workers are running already; a forkserver's start on the first task.
        workers.extend((getattr(pool, "_processes", None) or {}).values())
        return pool

    monkeypatch.setattr(cp, "spill_places", lambda: (tmp_path,))
    monkeypatch.setattr(cp, "worker_pool", worker_pool)
    # Only chunk_pool's own thread: the pool's queues start threads of their own.
    monkeypatch.setattr(cp, "threading", SimpleNamespace(Thread=_Interrupted))
    with pytest.raises(KeyboardInterrupt), cp.chunk_pool(2):
        pytest.fail("the body must not run")
    assert not list(tmp_path.iterdir())  # the spill folder is gone
    for worker in workers:
        worker.join(timeout=30)
        assert not worker.is_alive()


class _SignalHeldDuringFork:
    """``signal`` of :mod:`qzgeo.analysis.processes` in which a Ctrl-C pressed while the
    workers were forked (SIGINT blocked) is raised, in this process, as it is unblocked."""

    def __init__(self) -> None:
        self.parent = os.getpid()
        self.forked: list[multiprocessing.process.BaseProcess] = []

    def __getattr__(self, name: str) -> object:
        return getattr(signal, name)

    def pthread_sigmask(self, how: int, mask: Iterable[int]) -> set[Any]:
        previous = signal.pthread_sigmask(how, mask)
        if how == signal.SIG_SETMASK and os.getpid() == self.parent:  # not in the workers
            self.forked = multiprocessing.active_children()
            raise KeyboardInterrupt
        return previous


@pytest.mark.skipif(sys.platform != "linux", reason="the workers are forked on Linux only")
def test_ctrl_c_held_while_the_workers_fork_stops_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by Ctrl-C at random moments of `qzgeo analyze`: SIGINT blocked for the fork is
    delivered when unblocked, inside the pool's start, before the caller holds the pool;
    the folder went, but the workers were left to Python's exit."""
    pools: list[ProcessPoolExecutor] = []

    def executor(*args: Any, **kwargs: Any) -> ProcessPoolExecutor:
        pools.append(ProcessPoolExecutor(*args, **kwargs))
        return pools[-1]

    # The forked route, whatever threads earlier tests left alive (in the whole suite one
    # was: the pool came from the forkserver, and the interrupt under test never came).
    monkeypatch.setattr(processes, "fork_safe", lambda: True)
    monkeypatch.setattr(cp, "spill_places", lambda: (tmp_path,))
    held = _SignalHeldDuringFork()
    monkeypatch.setattr(processes, "signal", held)
    monkeypatch.setattr(processes, "ProcessPoolExecutor", executor)
    try:
        with pytest.raises(KeyboardInterrupt), cp.chunk_pool(2):
            pytest.fail("the body must not run")
        assert not list(tmp_path.iterdir())
        assert len(pools) == 1 and held.forked  # forked before the interrupt
        for worker in held.forked:
            worker.join(timeout=10)
            assert not worker.is_alive()
    finally:
        for pool in pools:  # before the fix: do not leave them to the next tests
            processes.stop_workers(pool)
            pool.shutdown(wait=True, cancel_futures=True)


def test_ctrl_c_while_the_workers_are_let_go_removes_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by Ctrl-C just after `qzgeo analyze` had put its outputs in place: "Aborted!",
    exit 1, but the run's /dev/shm/qzgeo-chunks-PID-* folder was left: the interrupt landed
    in the pool's shutdown, before the folder's removal."""
    workers = []
    real_pool = cp.worker_pool

    def worker_pool(*args: Any, **kwargs: Any) -> ProcessPoolExecutor:
        pool = real_pool(*args, **kwargs)
        shutdown = pool.shutdown

        def interrupted(*args: Any, **kwargs: Any) -> None:
            workers.extend((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown = shutdown  # type: ignore[method-assign]
            raise KeyboardInterrupt  # Ctrl-C as it waits for the workers to leave

        pool.shutdown = interrupted  # type: ignore[method-assign]
        return pool

    monkeypatch.setattr(cp, "spill_places", lambda: (tmp_path,))
    monkeypatch.setattr(cp, "worker_pool", worker_pool)
    with pytest.raises(KeyboardInterrupt), cp.chunk_pool(2) as pool:
        assert pool is not None and pool.spill is not None
    assert workers and not list(tmp_path.iterdir())
    for worker in workers:
        # Not worker.join(): the pool's own thread may reap it first (then it looks alive).
        deadline = time.monotonic() + 30
        while processes.alive(worker.pid) and not _zombie(worker.pid):
            assert time.monotonic() < deadline, f"worker {worker.pid} left running"
            time.sleep(0.05)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False
