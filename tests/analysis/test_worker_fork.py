"""Worker processes forked from the main process where that is safe, a forkserver otherwise.

Forking reuses the main process's imports (the forkserver imported everything again, ~0.5
CPU-s a run). It is only safe with no other thread alive at the fork: a lock another thread
holds stays held in the child. Each case runs in a new interpreter, as the ``qzgeo`` command
does: a test process has threads of its own.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest
from support import ROOT

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="fork is used on Linux only")

PROBE = textwrap.dedent(
    """
    import gc, io, json, multiprocessing, os, signal, sys, threading
    from qzgeo.analysis.processes import fork_safe, worker_pool

    def handler(signum, frame):  # like the qzgeo command's: SIGTERM raises in the main process
        raise SystemExit(1)

    if __name__ == "__main__":
        signal.signal(signal.SIGTERM, handler)
        stop = threading.Event()
        if sys.argv[1] == "python-thread":
            threading.Thread(target=stop.wait, daemon=True).start()
        elif sys.argv[1] == "arrow-pool":  # native threads: Arrow's CPU thread pool
            import pyarrow.csv

            pyarrow.csv.read_csv(io.BytesIO(b"a,b\\n1,2\\n" * 10_000))
        safe = fork_safe()
        with worker_pool(2, preload="qzgeo.analysis.processes", spill=None) as pool:
            started = len(multiprocessing.active_children())  # before any task of ours
            parents = {pool.submit(os.getppid).result(timeout=60) for _ in range(4)}
            term = pool.submit(signal.getsignal, signal.SIGTERM).result(timeout=60)
            sigint = pool.submit(signal.getsignal, signal.SIGINT).result(timeout=60)
            mask = pool.submit(signal.pthread_sigmask, signal.SIG_BLOCK, []).result(timeout=60)
            frozen = pool.submit(gc.get_freeze_count).result(timeout=60)
            niceness = {pool.submit(os.nice, 0).result(timeout=60) for _ in range(4)}
        stop.set()
        print(json.dumps({
            "safe": safe,
            "forked": parents == {os.getpid()},
            "started": started,
            "worker_sigterm": int(term),
            "worker_sigint": int(sigint),
            "worker_mask": sorted(int(s) for s in mask),
            "worker_frozen": frozen,
            "worker_nice": sorted(niceness),
            "main_nice": os.nice(0),
            "main_mask": sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])),
            "main_sigterm_kept": signal.getsignal(signal.SIGTERM) is handler,
        }))
    """
)


def _probe(case: str, tmp_path: os.PathLike[str]) -> dict[str, object]:
    script = os.path.join(tmp_path, "probe.py")
    with open(script, "w", encoding="utf-8") as fh:
        fh.write(PROBE)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    # any DeprecationWarning (Python 3.12+ warns when forking a multi-threaded process) fails
    res = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", script, case],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    assert "Warning" not in res.stderr, res.stderr
    answer: dict[str, object] = json.loads(res.stdout.strip().splitlines()[-1])
    return answer


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.12+: numpy's OpenBLAS thread")
def test_workers_are_forked_from_the_main_process(tmp_path: os.PathLike[str]) -> None:
    """...all of them at once, in the main thread: the first task may come from another
    thread (``chunk_pool`` warms the pool in one), and forking there would copy a process
    whose main thread is busy."""
    got = _probe("no-thread", tmp_path)
    assert got["safe"] is True and got["forked"] is True, got
    assert got["started"] == 2, got


@pytest.mark.parametrize("case", ["no-thread", "python-thread", "arrow-pool"])
def test_workers_keep_no_handler_or_mask_of_the_main_process(
    case: str, tmp_path: os.PathLike[str]
) -> None:
    """However started, a worker ignores SIGINT (Ctrl-C is the main process's to answer), dies
    on SIGTERM (the main process's handler would raise in it) and blocks no signal; the main
    process's handler and mask are as before."""
    got = _probe(case, tmp_path)
    assert got["worker_sigint"] == signal.SIG_IGN, got
    assert got["worker_sigterm"] == signal.SIG_DFL, got
    assert got["worker_mask"] == [] and got["main_mask"] == [], got
    assert got["main_sigterm_kept"] is True, got


@pytest.mark.parametrize("case", ["no-thread", "python-thread"])
def test_workers_keep_what_they_start_with_out_of_the_garbage_collector(
    case: str, tmp_path: os.PathLike[str]
) -> None:
    """A worker's imports (forked: the main process's objects) stay for its life; the
    collector's full passes walked them all, again and again (a speed matter only)."""
    got = _probe(case, tmp_path)
    assert isinstance(got["worker_frozen"], int) and got["worker_frozen"] > 10_000, got


@pytest.mark.parametrize("case", ["no-thread", "python-thread"])
def test_workers_give_way_to_the_main_process(case: str, tmp_path: os.PathLike[str]) -> None:
    """Forked or from a forkserver, the workers run at a lower priority than the main
    process (which writes their results as they come), and it keeps its own."""
    from qzgeo.analysis.processes import WORKER_NICENESS

    got = _probe(case, tmp_path)
    main = os.nice(0)
    assert got["main_nice"] == main, got
    assert got["worker_nice"] == [min(main + WORKER_NICENESS, 19)], got


@pytest.mark.parametrize("case", ["python-thread", "arrow-pool"])
def test_another_thread_alive_means_a_forkserver(case: str, tmp_path: os.PathLike[str]) -> None:
    """A thread started since the imports (the caller's, a thread pool of Arrow or GDAL) may
    hold a lock at the fork: the workers come from a forkserver, and nothing warns."""
    got = _probe(case, tmp_path)
    assert got["safe"] is False and got["forked"] is False, got


def test_threads_of_a_program_that_imports_qzgeo_late_are_not_taken_for_the_libraries() -> None:
    """Imported while a thread of the program runs, the threads alive then may be anyone's
    (a GDAL or Arrow pool started by the program), not only those numpy and Arrow start on
    import: none of them is let through, even once the program's thread has ended."""
    code = textwrap.dedent(
        """
        import threading
        stop = threading.Event()
        t = threading.Thread(target=stop.wait)
        t.start()
        from qzgeo.analysis.processes import fork_safe
        stop.set()
        t.join()
        print(fork_safe())
        """
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    res = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.strip() == "False", res.stdout


WORKER_START = textwrap.dedent(
    """
    import json, os
    asked = []
    os.nice = lambda inc: asked.append(inc) or 0  # what the worker asks, whatever it may get
    from qzgeo.analysis.processes import _init_worker
    _init_worker(os.getppid(), None)
    print(json.dumps(asked))
    """
)


def test_a_worker_asks_for_a_lower_priority_even_where_none_is_left(
    tmp_path: os.PathLike[str],
) -> None:
    """What a worker asks for, not what it gets: at niceness 19 (tests run with ``nice -n
    19``) the worker's priority cannot go lower, and the probe above cannot tell a worker that
    never asked. A worker's start is run in a new interpreter (it starts a thread, freezes
    the garbage collector)."""
    from qzgeo.analysis.processes import WORKER_NICENESS

    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    res = subprocess.run(
        [sys.executable, "-c", WORKER_START], env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    assert json.loads(res.stdout.strip().splitlines()[-1]) == [WORKER_NICENESS]
    assert WORKER_NICENESS > 0


def test_a_worker_starts_where_there_is_no_nice(monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows has no ``os.nice``: the worker starts at its priority, not with an
    AttributeError that would break the pool before its first chunk."""
    from qzgeo.analysis import processes

    monkeypatch.delattr(processes.os, "nice", raising=False)
    processes.yield_to_parent()  # no error
