"""Atomic output: write to a temporary file beside the target, fsync, then ``os.replace``.

A failed or killed write therefore leaves either the previous file or the new one, never a
partial file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from qzgeo._errors import OutputError, QzgeoError


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success move it over ``target``.

    The caller writes the complete file to the yielded path (by any library). The temporary
    file keeps the target's suffix so that drivers that dispatch on the extension work.

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
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=suffix or "".join(target.suffixes), dir=target.parent
    )
    os.close(fd)
    tmp = Path(name)
    tmp.unlink()  # drivers such as GPKG refuse to open an existing empty file
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except QzgeoError:
        # Already explained (qzgeo's OutputError is also an OSError): do not wrap it again.
        _cleanup(tmp)
        raise
    except OSError as exc:
        _cleanup(tmp)
        msg = f"could not write {target}: {exc.strerror or exc}; the previous file is unchanged"
        raise OutputError(msg) from exc
    except BaseException:
        _cleanup(tmp)
        raise


def write_bytes(target: str | os.PathLike[str], data: bytes) -> Path:
    """Atomically write ``data`` to ``target`` and return the path."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def write_text(target: str | os.PathLike[str], text: str, *, encoding: str = "utf-8") -> Path:
    """Atomically write ``text`` to ``target`` (UTF-8 unless told otherwise)."""
    return write_bytes(target, text.encode(encoding))


def write_with(target: str | os.PathLike[str], writer: Callable[[Path], object]) -> Path:
    """Atomically create ``target`` by calling ``writer(tmp_path)``."""
    with atomic_path(target) as tmp:
        writer(tmp)
    return Path(target)


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
