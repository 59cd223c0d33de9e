"""qzgeo's own cache folder: entries written atomically, verified whole when read.

Where: ``$QZGEO_CACHE_DIR`` if set, else the user cache folder (``$XDG_CACHE_HOME/qzgeo`` or
``~/.cache/qzgeo``; ``~/Library/Caches/qzgeo`` on macOS; ``%LOCALAPPDATA%\\qzgeo\\Cache`` on
Windows). qzgeo writes only in one subfolder per kind of entry (``packs/``, ``siting/``,
``coverage/``, ``transforms/``), made private (``0o700``); ``QZGEO_NO_CACHE=1`` turns the
cache off. A folder another user could write to (not owned by this user, or group/world-writable)
is not used: a cache is trusted to hold what qzgeo computed. The folder is checked as opened and
used through that handle (POSIX), so that no one who can write beside it can swap it for theirs
between the check and the use; an entry that is a link is not followed.

One entry is one file named by its key (a SHA-256 of everything the entry depends on)::

    MAGIC (8 bytes) | SHA-256 of the rest (32) | header length (8, little-endian)
    | header (JSON: key, meta, names and sizes of the blobs) | blobs

It is written to a temporary file in the same folder and renamed over the name (two
processes writing one key leave one whole file), and read only if its digest, its key and its
sizes all agree: a truncated, corrupt or foreign file is a miss, never an error or a wrong
answer. Nothing is unpickled: the header is JSON, the blobs are bytes (Arrow IPC, WKB).
A cache that cannot be written (a read-only home, CI) is no cache; nothing fails for it.
A folder refused as not private is said (:func:`take_refusals`): the user would only see
slow runs, and the fix is theirs to make.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import stat
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "CACHE_ENV",
    "KEEP_ENTRIES",
    "NO_CACHE_ENV",
    "cache_folder",
    "cache_off",
    "is_refusal",
    "load_entry",
    "save_entry",
    "take_refusals",
    "user_cache_dir",
]

CACHE_ENV = "QZGEO_CACHE_DIR"
NO_CACHE_ENV = "QZGEO_NO_CACHE"
#: Entries kept per kind (the most recently used); older ones are removed after a write.
KEEP_ENTRIES = 8
_MAGIC = b"QZGEOC1\n"
_SUFFIX = ".qzc"
_TMP_PREFIX = ".tmp-"
#: A temporary file this old (s) is a killed writer's: removed when the folder is pruned.
_STALE_TMP_S = 3600.0


def user_cache_dir() -> Path:
    """qzgeo's folder in the platform's user cache (see the module docstring)."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "qzgeo" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "qzgeo"
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    base_dir = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base_dir / "qzgeo"


def cache_off() -> bool:
    """Whether ``$QZGEO_NO_CACHE`` turns the cache off (set to anything but ``""`` or ``"0"``)."""
    return os.environ.get(NO_CACHE_ENV, "").strip() not in ("", "0")


def cache_folder(kind: str, *, create: bool = False) -> Path | None:
    """The folder of entries of ``kind``, or ``None``: cache off, not creatable, or not private."""
    if cache_off():
        return None
    env = os.environ.get(CACHE_ENV, "").strip()
    try:
        folder = (Path(env).expanduser() if env else user_cache_dir()) / kind
        if create:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = folder.lstat()
    except (OSError, RuntimeError):  # RuntimeError: no home directory to expand
        return None
    return folder if _private_or_said(folder, st) else None


#: Folders refused since the last :func:`take_refusals`: folder -> the warning about it.
_REFUSED: dict[str, str] = {}


def take_refusals() -> list[str]:
    """The warnings about cache folders refused since the last call (one per folder).

    A run takes them when it reports (report.json, check's warnings, stderr): a refused folder
    silently turns the cache off, and the user would only see slow runs.
    """
    said = list(_REFUSED.values())
    _REFUSED.clear()
    return said


def is_refusal(message: str) -> bool:
    """Whether ``message`` is one of :func:`take_refusals`' (the terminal prints those too)."""
    return message.startswith(_REFUSAL_START)


_REFUSAL_START = "qzgeo's cache folder "


def _private_or_said(folder: Path, st: os.stat_result) -> bool:
    if _private(st):
        return True
    if not stat.S_ISDIR(st.st_mode):
        what = "it is not a folder (a file or a link)"
    elif hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        what = f"it belongs to another user (uid {st.st_uid}, you are {os.geteuid()})"
    else:
        what = f"others can write to it (mode {stat.S_IMODE(st.st_mode):04o})"
    _REFUSED[str(folder)] = (
        f"{_REFUSAL_START}{folder} is not used, so runs are slower: {what}; fix: "
        f"`chmod 700 {folder}` if it is yours, or remove it (qzgeo makes it again), or set "
        f"{CACHE_ENV} to a folder of your own; {NO_CACHE_ENV}=1 turns the cache off and this "
        "warning with it"
    )
    return False


def _private(st: os.stat_result) -> bool:
    """A real folder (not a link) that only this user can write to."""
    if not stat.S_ISDIR(st.st_mode):
        return False
    if hasattr(os, "geteuid"):
        return st.st_uid == os.geteuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    return True


def _entry_name(key: str) -> str:
    if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
        msg = f"a cache key is a SHA-256 in hex, got {key!r}"
        raise ValueError(msg)
    return f"{key}{_SUFFIX}"


#: An entry is opened, never followed through a link (one planted there points elsewhere).
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
_WRITE_FLAGS = (
    os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
)
#: Where the platform allows, the folder is checked as opened and used through that handle:
#: checked by its name, then used by its name, it could be swapped in between by whoever can
#: write to its parent (a shared ``$QZGEO_CACHE_DIR``) for a folder of theirs.
_BY_HANDLE = (
    {os.open, os.unlink, os.rename} <= os.supports_dir_fd  # os.replace goes with os.rename
    and os.scandir in os.supports_fd
    and hasattr(os, "O_DIRECTORY")
)


@dataclass
class _Folder:
    path: Path
    fd: int | None  # the checked folder, opened; None: by path (no dir_fd on this platform)

    def target(self, name: str) -> str:
        return name if self.fd is not None else str(self.path / name)


@contextlib.contextmanager
def _opened_folder(kind: str, *, create: bool) -> Iterator[_Folder | None]:
    folder = cache_folder(kind, create=create)
    if folder is None or not _BY_HANDLE:
        yield None if folder is None else _Folder(folder, None)
        return
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        yield None
        return
    try:
        yield _Folder(folder, fd) if _private_or_said(folder, os.fstat(fd)) else None
    finally:
        os.close(fd)


def load_entry(kind: str, key: str) -> tuple[dict[str, Any], dict[str, bytes]] | None:
    """The ``(meta, blobs)`` saved under ``key``, or ``None`` (absent, damaged, cache off)."""
    name = _entry_name(key)
    with _opened_folder(kind, create=False) as at:
        if at is None:
            return None
        try:
            fd = os.open(at.target(name), _READ_FLAGS, dir_fd=at.fd)
            with os.fdopen(fd, "rb") as fh:
                data = fh.read()
                entry = _decode(data, key)
                if entry is not None:  # recently used: kept by the pruning
                    with contextlib.suppress(OSError):
                        if os.utime in os.supports_fd:
                            os.utime(fh.fileno())
                        else:
                            os.utime(at.target(name), dir_fd=at.fd)
        except OSError:
            return None
    return entry


def _decode(data: bytes, key: str) -> tuple[dict[str, Any], dict[str, bytes]] | None:
    head = len(_MAGIC) + 32 + 8
    if len(data) < head or data[: len(_MAGIC)] != _MAGIC:
        return None
    body = memoryview(data)[len(_MAGIC) + 32 :]
    if hashlib.sha256(body).digest() != data[len(_MAGIC) : len(_MAGIC) + 32]:
        return None
    size = int.from_bytes(data[head - 8 : head], "little")
    try:
        header = json.loads(data[head : head + size].decode("utf-8"))
        if header["key"] != key or not isinstance(header["meta"], dict):
            return None
        blobs, at = {}, head + size
        for name, n in header["blobs"]:
            blobs[str(name)] = data[at : at + int(n)]
            at += int(n)
    except Exception:  # any header of a foreign writer: nesting too deep, sizes of 1e400...
        return None
    if at != len(data):
        return None
    return header["meta"], blobs


def save_entry(kind: str, key: str, meta: dict[str, Any], blobs: dict[str, bytes]) -> bool:
    """Save an entry atomically; ``False`` if the cache is off or cannot be written.

    ``meta`` must be JSON-serialisable. Older entries beyond :data:`KEEP_ENTRIES` are removed.
    """
    name = _entry_name(key)
    try:
        header = json.dumps(
            {"key": key, "meta": meta, "blobs": [[name, len(b)] for name, b in blobs.items()]},
            ensure_ascii=False,
        ).encode("utf-8")
    except (TypeError, ValueError):  # a path that is not UTF-8 (a GBK folder name) in a warning
        return False
    digest = hashlib.sha256(len(header).to_bytes(8, "little"))
    digest.update(header)
    for b in blobs.values():
        digest.update(b)
    with _opened_folder(kind, create=True) as at:
        if at is None:
            return False
        tmp = at.target(f"{_TMP_PREFIX}{secrets.token_hex(8)}")
        try:
            fd = os.open(tmp, _WRITE_FLAGS, 0o600, dir_fd=at.fd)
        except OSError:
            return False
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(_MAGIC + digest.digest() + len(header).to_bytes(8, "little") + header)
                for b in blobs.values():
                    fh.write(b)
            os.replace(tmp, at.target(name), src_dir_fd=at.fd, dst_dir_fd=at.fd)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=at.fd)
            return False
        _prune(at)
    return True


def _prune(at: _Folder) -> None:
    """Keep the :data:`KEEP_ENTRIES` most recently used entries; remove stale temporary files.

    Only files named as this module names them are ever removed.
    """
    entries: list[tuple[float, str]] = []
    now = time.time()
    try:
        with os.scandir(at.fd if at.fd is not None else at.path) as found:
            for p in found:
                with contextlib.suppress(OSError):
                    mtime = p.stat(follow_symlinks=False).st_mtime
                    if p.name.startswith(_TMP_PREFIX) and now - mtime > _STALE_TMP_S:
                        os.unlink(at.target(p.name), dir_fd=at.fd)
                    elif p.name.endswith(_SUFFIX) and len(p.name) == 64 + len(_SUFFIX):
                        entries.append((mtime, p.name))
    except OSError:
        return
    entries.sort(key=lambda e: e[0], reverse=True)
    for _, name in entries[KEEP_ENTRIES:]:
        with contextlib.suppress(OSError):
            os.unlink(at.target(name), dir_fd=at.fd)
