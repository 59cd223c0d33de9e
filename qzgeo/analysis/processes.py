"""Worker processes that go with their run, however it ends.

Where it is safe (:func:`fork_safe`: Linux, no other thread alive) the workers are forked
from this process, which has imported every module already: a few milliseconds instead of a
forkserver importing them again (~0.5 CPU-s and ~0.2 s before the first chunk). Otherwise a
forkserver starts them (``spawn`` where there is none: Windows). Either way:

A run is stopped on a shared machine in three ways, and each left workers behind:

- **Ctrl-C** reaches the terminal's whole process group. Only the main process should
  answer it (it stops the workers and cleans up); a worker answering too prints a
  ``KeyboardInterrupt`` traceback each. The forkserver is started with SIGINT ignored, so
  the workers it forks ignore it from their first instruction (and an initializer makes sure
  where a forkserver already ran, or with ``spawn``). Workers forked from this process are
  forked with the signals it handles blocked; their initializer ignores SIGINT, puts the
  others back to their default (this process's handlers are not theirs: SIGTERM must end a
  worker, not raise in it) and only then unblocks them.
- **An error or a signal in the main process** (Ctrl-C, SIGTERM turned into an exception by
  the CLI): :func:`stop_workers` ends the workers at once instead of waiting for their chunk.
- **SIGKILL or the OOM killer** on the main process: nothing runs in it. Every worker watches
  it (a ``pidfd`` on Linux, else a poll) and exits when it is gone, removing the run's spill
  folder first (:func:`qzgeo.analysis.chunk_pool.chunk_pool`); without this, the workers
  and the forkserver wait for work forever, holding their memory.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing
import os
import select
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.context import BaseContext
from pathlib import Path

# Imported before the threads are counted below: the threads they start on import are
# known (see fork_safe).
import numpy  # noqa: F401
import pyarrow  # noqa: F401

__all__ = ["alive", "fork_safe", "stop_workers", "worker_pool"]

#: Seconds between two looks at the main process where there is no pidfd (not Linux).
POLL_S = 1.0


def worker_pool(processes: int, *, preload: str, spill: str | None) -> ProcessPoolExecutor:
    """``processes`` workers tied to this process as above: forked from it, started now,
    where :func:`fork_safe`; else started by a forkserver that imports ``preload`` once
    (``spawn`` where there is no forkserver: Windows)."""
    if fork_safe():
        return _forked_pool(processes, spill)
    methods = multiprocessing.get_all_start_methods()
    mp = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if mp.get_start_method() == "forkserver":
        mp.set_forkserver_preload([preload])
        _start_forkserver(mp)
    return ProcessPoolExecutor(
        processes, mp_context=mp, initializer=_init_worker, initargs=(os.getpid(), spill)
    )


def _os_threads() -> set[int] | None:
    """The ids of this process's threads (Python's and native ones), ``None`` if unknown."""
    try:
        return {int(t.name) for t in Path("/proc/self/task").iterdir()}
    except (OSError, ValueError):
        return None


#: Threads alive when this module was imported (besides the importing one): those numpy's
#: OpenBLAS and Arrow's allocator (jemalloc) start on import, both fork-safe by handlers of
#: their own (``pthread_atfork``). None if a Python thread was alive too: then the others
#: may be anyone's (a program that imports qzgeo late).
_IMPORT_THREADS = (
    (_os_threads() or set()) - {threading.get_native_id()}
    if threading.active_count() == 1
    else set()
)


def fork_safe() -> bool:
    """Whether worker processes can be forked from this process now.

    ``fork`` copies the calling thread only: a lock another thread holds at that instant
    stays held in the child for good (a thread pool of GDAL, Arrow or the caller, tqdm's
    monitor: a worker could hang). So: on Linux (elsewhere system libraries are not
    fork-safe), from the main thread, and no other thread alive but those of
    :data:`_IMPORT_THREADS`. Python 3.12+ warns about forking with any other thread of the
    process, those included: there none may be alive (with numpy's OpenBLAS, the forkserver
    is used).
    """
    if sys.platform != "linux" or "fork" not in multiprocessing.get_all_start_methods():
        return False
    if threading.current_thread() is not threading.main_thread():
        return False
    threads = _os_threads()
    if threads is None or threading.active_count() != 1:
        return False
    others = threads - {threading.get_native_id()}
    return not others if sys.version_info >= (3, 12) else others <= _IMPORT_THREADS


def _forked_pool(processes: int, spill: str | None) -> ProcessPoolExecutor:
    """A pool whose workers are forked now, from this thread, with this process's signal
    handlers' signals blocked (see the module's docstring)."""
    held = {signal.SIGINT} | {s for s in signal.valid_signals() if callable(signal.getsignal(s))}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    pool: ProcessPoolExecutor | None = None
    try:
        try:
            pool = ProcessPoolExecutor(
                processes, mp_context=multiprocessing.get_context("fork"),
                initializer=_init_worker, initargs=(os.getpid(), spill, sorted(mask)),
            )  # fmt: skip
            # With "fork" the pool forks every worker on its first task, in the calling
            # thread, before it starts a thread of its own.
            pool.submit(os.getpid)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    except BaseException:
        # A Ctrl-C (or SIGTERM) held during the fork is raised as the signals are unblocked,
        # before the caller has the pool: stop its workers here, or they were left to
        # Python's exit handler (and the caller never learned of them).
        if pool is not None:
            stop_workers(pool)
            pool.shutdown(wait=True, cancel_futures=True)
        raise
    return pool


def _start_forkserver(mp: BaseContext) -> None:
    """Start the forkserver (if not running) with SIGINT ignored: it and every worker it forks
    inherit that, and Python keeps a SIGINT ignored at start-up ignored."""
    from multiprocessing import forkserver

    if threading.current_thread() is not threading.main_thread():
        # Signal handlers are the main thread's: started as it is (the initializer ignores
        # SIGINT in the workers), but with this process's imports all the same (left to the
        # first task, it preloaded a qzgeo/ of the working folder).
        with _same_imports():
            forkserver.ensure_running()
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with _same_imports():
            forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, previous)


#: Held while :func:`_same_imports` has changed the environment.
_ENVIRON_LOCK = threading.Lock()


@contextlib.contextmanager
def _same_imports() -> Iterator[None]:
    """The forkserver (a ``python -c``, which puts the working folder first on its path)
    finds modules where this process does: its ``sys.path``, working folder excluded unless
    this process has it. Started from a folder holding another ``qzgeo/`` (a checkout of
    another version), the workers ran that one, preloaded by the forkserver."""
    # One thread at a time: two threads starting workers at once each put back what the
    # other had set, and the process kept the forkserver's environment for good.
    with _ENVIRON_LOCK:
        keep = {k: os.environ.get(k) for k in ("PYTHONPATH", "PYTHONSAFEPATH")}
        here = Path.cwd()
        os.environ["PYTHONPATH"] = os.pathsep.join(str((here / p).resolve()) for p in sys.path)
        os.environ["PYTHONSAFEPATH"] = "1"
        try:
            yield
        finally:
            for k, v in keep.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def _init_worker(parent: int, spill: str | None, mask: list[int] | None = None) -> None:
    """Ignore SIGINT, watch ``parent``; forked (``mask``: the parent's signal mask before the
    fork), also drop the parent's signal handlers, then unblock what was blocked for the fork."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if mask is not None:
        for s in signal.valid_signals():
            if callable(signal.getsignal(s)):
                signal.signal(s, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    threading.Thread(target=_exit_with, args=(parent, spill), daemon=True).start()
    keep_freed_memory()
    yield_to_parent()
    # What the worker holds now (its imports; forked, the main process's objects) lives as
    # long as the worker: kept out of the cyclic garbage collector's full passes, which
    # walked all of it (and, forked, copied every page they touched).
    gc.freeze()


#: How much lower the workers' scheduling priority is than the main process's (``nice``).
WORKER_NICENESS = 5


def yield_to_parent() -> None:
    """Lower this worker's priority below the main process's.

    On a machine with as many cores as workers, the main process (it writes what the
    workers send) shares the cores with them. At equal priority the scheduler gave it its
    share only: it fell behind, and the results the workers had finished waited for it
    after their last chunk (~0.4 s of one core alone at 1M grid parcels). Ahead of the
    workers, it writes each result as it comes and the workers use the rest.
    """
    nice = getattr(os, "nice", None)  # POSIX only: Windows has no os.nice
    if nice is None:
        return
    with contextlib.suppress(OSError):  # a lower priority is always allowed; never fatal
        nice(WORKER_NICENESS)


#: glibc's mallopt() parameters (malloc.h): M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD.
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
#: Blocks up to this size come from the heap, and freed ones stay there (bytes).
KEEP_BELOW = 32 << 20  # glibc's largest (DEFAULT_MMAP_THRESHOLD_MAX, 64-bit)


def keep_freed_memory() -> bool:
    """Make this process's C allocator (glibc) keep memory it frees for the next chunk.

    Each chunk allocates and frees arrays of a few MB (numpy, GEOS, GDAL). glibc serves
    blocks of 128 KB and more with fresh ``mmap`` pages and returns them to the system when
    freed, so every chunk paid the kernel again to map and zero them (~0.2 CPU-s of page
    faults and ``munmap`` per million parcels). Here blocks up to :data:`KEEP_BELOW` come
    from the heap, which grows in steps of 64 MB and is not trimmed: a worker keeps about
    its busiest chunk's memory, as it would with the default at its peak. For the worker
    processes only (they are qzgeo's); ``False`` where the allocator is not glibc's.
    """
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS, Windows)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    ok = mallopt(_M_MMAP_THRESHOLD, KEEP_BELOW) == 1
    ok &= mallopt(_M_TRIM_THRESHOLD, (1 << 31) - 1) == 1
    ok &= mallopt(_M_TOP_PAD, 64 << 20) == 1
    return bool(ok)


def _exit_with(parent: int, spill: str | None) -> None:
    """Wait until process ``parent`` is gone, then remove ``spill`` and exit."""
    _wait_exit(parent)
    if spill is not None:
        shutil.rmtree(spill, ignore_errors=True)
    os._exit(1)


def _wait_exit(pid: int) -> None:
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    except (AttributeError, OSError):  # no pidfd (not Linux, or a kernel before 5.3)
        while alive(pid):
            time.sleep(POLL_S)
        return
    try:
        select.select([fd], [], [])  # readable once the process has exited
    finally:
        os.close(fd)


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists (one of another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # not ours to signal: it exists
        return True
    return True


def stop_workers(executor: ProcessPoolExecutor) -> None:
    """End the workers of ``executor`` now (their current tasks are abandoned)."""
    terminate = getattr(executor, "terminate_workers", None)  # Python >= 3.14
    if terminate is not None:
        terminate()
        return
    processes = getattr(executor, "_processes", None) or {}
    for process in list(processes.values()):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            process.terminate()
