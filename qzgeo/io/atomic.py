"""Atomic output: write to a temporary file beside the target, fsync, then ``os.replace``.

A failed or killed write therefore leaves either the previous file or the new one, never a
partial file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from qzgeo._errors import OutputError, QzgeoError

#: Every temporary file or folder qzgeo makes beside its outputs starts with this: an output
#: folder's leftovers of a killed run (SIGKILL, a power cut) are found by it and removed by
#: the next run (:mod:`qzgeo.io.outdir`).
TEMP_PREFIX = ".qzgeo-"
#: The signals that stop a run: Ctrl-C, ``kill``, the terminal closing.
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


@contextlib.contextmanager
def atomic_path(
    target: str | os.PathLike[str], *, suffix: str | None = None, replace: bool = True
) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success move it over ``target``.

    The caller writes the complete file to the yielded path (by any library). The temporary
    file keeps the target's suffix so that drivers that dispatch on the extension work.
    ``replace=False``: a file at ``target`` when the write is done (one another program made
    meanwhile) is left as it is, an :class:`OutputError` (see :func:`link_new`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "a.txt") as tmp:
    ...     _ = tmp.write_text("hello")
    >>> (d / "a.txt").read_text()
    'hello'
    """
    target = Path(target)
    tmp = temp_beside(target, suffix=suffix or "".join(target.suffixes))
    tmp.unlink()  # drivers such as GPKG refuse to open an existing empty file
    try:
        yield tmp
        _fsync(tmp)
        if replace:
            os.replace(tmp, target)
        else:
            try:
                link_new(tmp, target)
            except FileExistsError:
                raise appeared_error(target) from None
        _fsync_dir(target.parent)
    except QzgeoError:
        # Already explained (qzgeo's OutputError is also an OSError): do not wrap it again.
        _cleanup(tmp)
        raise
    except OSError as exc:
        _cleanup(tmp)
        msg = f"could not write {target}: {exc.strerror or exc}; the previous file is unchanged"
        raise OutputError(msg) from exc
    except Exception as exc:
        # GDAL (pyogrio) and other writers report a full disk in their own exception types
        left = _space_left_if_full(target.parent)
        _cleanup(tmp)
        if left is None:
            raise
        msg = (
            f"could not write {target}: the disk is full ({left} left on its file system; "
            f"{exc}); the previous file is unchanged. Free some space, or write elsewhere"
        )
        raise OutputError(msg) from exc
    except BaseException:
        _cleanup(tmp)
        raise


#: os.link's errors on a file system without hard links (FAT, exFAT, some network shares).
_NO_HARD_LINKS = frozenset(
    {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS, errno.EXDEV}
)


def link_new(tmp: Path, target: Path) -> None:
    """Give the complete file ``tmp`` the name ``target`` unless a file already has it
    (``FileExistsError``, ``tmp`` kept); ``tmp``'s own name is then removed.

    A check that ``target`` is free before a long write, then a rename, would replace a file
    made between the two: a hard link is made only if the name is free, in one step. Where
    the file system has no hard links, the name is reserved by creating an empty file there
    (exclusively), then ``tmp`` is moved over it: a kill between the two leaves that empty
    file, never someone else's replaced.
    """
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
        os.replace(tmp, target)
        return
    tmp.unlink()


def appeared_error(target: Path) -> OutputError:
    """The error of a write that found ``target`` made by another program while it ran."""
    msg = (
        f"{target} appeared while it was being written (another program made it): it is left "
        "as it is and nothing was written. Add --overwrite to replace it, or choose another OUT"
    )
    return OutputError(msg)


def temp_beside(target: Path, *, suffix: str = "", folder: bool = False) -> Path:
    """A new temporary file (or ``folder``) beside ``target``, named for it and this process
    (``.qzgeo-tmp-NAME.PID-random``), after removing those of writers that are gone.

    A folder that cannot be written is an :class:`OutputError` naming ``target`` (the
    temporary's own name meant nothing to the user)."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        sweep_dead_writers(target)
        prefix = f"{TEMP_PREFIX}tmp-{target.name}.{os.getpid()}-"
        if folder:
            return Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent))
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=target.parent)
    except OSError as exc:
        msg = (
            f"could not write {target}: {exc.strerror or exc} ({exc.filename or target.parent}); "
            "nothing was changed. Write elsewhere (a folder you can write to)"
        )
        raise OutputError(msg) from exc
    os.close(fd)
    return Path(name)


def sweep_dead_writers(target: Path) -> list[Path]:
    """Remove the temporaries of ``target`` (and their ``-journal``/``-wal``) whose writer
    process is gone: a writer killed by SIGKILL or a power cut leaves one, and a target in the
    user's own folder (``qzgeo convert IN OUT``) has no lock whose next holder would clean up.

    The writer's pid is in the name (``.qzgeo-tmp-NAME.PID-random``); a name without one (an
    older qzgeo's) or of a pid still running (this host's processes) is left alone.
    """
    prefix = f"{TEMP_PREFIX}tmp-{target.name}."
    removed: list[Path] = []
    try:
        found = [p for p in target.parent.iterdir() if p.name.startswith(prefix)]
    except OSError:
        return removed
    for path in found:
        pid, dash, _ = path.name[len(prefix) :].partition("-")
        if not dash or not pid.isdigit() or _running(int(pid)):
            continue
        with contextlib.suppress(OSError):
            if path.is_dir() and not path.is_symlink():  # a shapefile's folder
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
    return removed


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: it exists
        return True
    return True


def write_bytes(target: str | os.PathLike[str], data: bytes, *, replace: bool = True) -> Path:
    """Atomically write ``data`` to ``target`` and return the path (``replace``: see
    :func:`atomic_path`)."""
    with atomic_path(target, replace=replace) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def write_text(target: str | os.PathLike[str], text: str, *, encoding: str = "utf-8") -> Path:
    """Atomically write ``text`` to ``target`` (UTF-8 unless told otherwise)."""
    return write_bytes(target, text.encode(encoding))


def write_with(
    target: str | os.PathLike[str], writer: Callable[[Path], object], *, replace: bool = True
) -> Path:
    """Atomically create ``target`` by calling ``writer(tmp_path)`` (``replace``: see
    :func:`atomic_path`)."""
    with atomic_path(target, replace=replace) as tmp:
        writer(tmp)
    return Path(target)


@contextlib.contextmanager
def write_errors_explained(folder: Path) -> Iterator[None]:
    """Turn the ``OSError`` of a writer that names no file and no cause (rasterio: "Write
    failed. See previous exception for details.") into an :class:`OutputError` naming
    ``folder``, and the space left on its file system when it is full."""
    try:
        yield
    except QzgeoError:
        raise
    except OSError as exc:
        left = _space_left_if_full(folder)
        why = f"the disk is full ({left} left on its file system; {exc})" if left else str(exc)
        msg = (
            f"could not write into {folder}: {why}; the earlier outputs there are unchanged. "
            "Free some space, or write elsewhere"
        )
        raise OutputError(msg) from exc


#: Less room than this left after a failed write: the disk was full (a write stops as soon
#: as the next block does not fit, so what is left is well under this).
FULL_BELOW = 16 * 1024 * 1024


def _space_left_if_full(folder: Path) -> str | None:
    """The free space of ``folder``'s file system (e.g. ``"0.2 MB"``) if under
    :data:`FULL_BELOW`, else ``None``."""
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):  # gone, or no statvfs (Windows)
        return None
    free = st.f_bavail * st.f_frsize
    return f"{free / 1e6:.1f} MB" if free < FULL_BELOW else None


class EarlyFlush:
    """Writes a file's pages to disk in a thread while the caller goes on with it.

    :func:`atomic_path` syncs the whole file before moving it in place; for a streamed
    GeoPackage of 1M parcels (~250 MB) that took ~0.25 s at the end of the run. :meth:`kick`
    syncs what is written so far, in a thread (unless a sync is running), while the caller
    adds the last parts (the spatial index): the final sync then has only those left.
    Syncing after each chunk instead gained nothing more (pages SQLite writes again are
    written twice). Nothing changes on failure: a sync of a temporary file that is then
    removed is only wasted work.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._busy = threading.Lock()
        self._thread: threading.Thread | None = None

    def kick(self) -> None:
        if not self._busy.acquire(blocking=False):
            return  # a sync is running: it takes most of what there is
        if self._thread is not None:
            self._thread.join()
        self._thread = threading.Thread(target=self._sync, name="qzgeo-flush", daemon=True)
        self._thread.start()

    def _sync(self) -> None:
        try:
            with contextlib.suppress(OSError):  # not there yet, or gone: the final sync says
                fd = os.open(self.path, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        finally:
            self._busy.release()

    def close(self) -> None:
        """Wait for a running sync (before the file is moved, removed or synced again)."""
        if self._thread is not None:
            self._thread.join()


def _fsync(path: Path) -> None:
    with path.open("rb") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _cleanup(tmp: Path) -> None:
    for p in (tmp, tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


@contextlib.contextmanager
def signals_held(signums: Iterable[int] = STOP_SIGNALS) -> Iterator[list[int]]:
    """Hold ``signums`` back in the block, then deliver them to the handlers in force before.

    For steps that must all happen or none (the renames that put a shapefile's files or a
    build's two parts in place): Ctrl-C or SIGTERM then lands after them, not between them.
    Yields the list of the signals received so far. Only the main thread can do this (in
    another, nothing is held); a signal that is ignored stays ignored.
    """
    got: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield got
        return
    previous = {}
    for signum in signums:
        if signal.getsignal(signum) in (signal.SIG_IGN, None):  # None: set outside Python
            continue
        previous[signum] = signal.signal(signum, lambda n, frame: got.append(n))
    try:
        yield got
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(got):
            signal.raise_signal(signum)
