"""Ctrl-C while the worker pool starts (`qzgeo analyze` of 50 000+ parcels, in its first
second): the spill folder and the workers go with the run, as they do once the run is going.

Found by sending SIGINT to `qzgeo analyze --parcels big.gpkg --chunk-rows 7000` at 0.87 s:
"Aborted!", exit 1, but an empty `/dev/shm/qzgeo-chunks-PID-*` was left (removed only by a
run an hour later). Between the pool's start and the `try` that stops it, an interrupt
skipped both the folder's removal and the pool's; the workers were then shut down by
Python's exit handler, which lets them leave without removing the folder.
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

import qzgeo.analysis.chunk_pool as cp


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
