"""qzgeo's own cache folder: entries written atomically, verified whole when read.

Where: ``$QZGEO_CACHE_DIR`` if set, else the user cache folder (``$XDG_CACHE_HOME/qzgeo`` or
``~/.cache/qzgeo``; ``~/Library/Caches/qzgeo`` on macOS; ``%LOCALAPPDATA%\\qzgeo\\Cache`` on
Windows). qzgeo writes only in one subfolder per kind of entry (``packs/``, ``siting/``,
``coverage/``, ``transforms/``), made private (``0o700``); ``QZGEO_NO_CACHE=1`` turns the cache off. A folder
another user could write to (not owned by this user, or group/world-writable) is not used: a
cache is trusted to hold what qzgeo computed.

One entry is one file named by its key (a SHA-256 of everything the entry depends on)::

    MAGIC (8 bytes) | SHA-256 of the rest (32) | header length (8, little-endian)
    | header (JSON: key, meta, names and sizes of the blobs) | blobs

It is written to a temporary file in the same folder and renamed over the name (two
processes writing one key leave one whole file), and read only if its digest, its key and its
sizes all agree: a truncated, corrupt or foreign file is a miss, never an error or a wrong
answer. Nothing is unpickled: the header is JSON, the blobs are bytes (Arrow IPC, WKB).
A cache that cannot be written (a read-only home, CI) is no cache; nothing fails for it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = [
    "CACHE_ENV",
    "KEEP_ENTRIES",
    "NO_CACHE_ENV",
    "cache_folder",
    "cache_off",
    "load_entry",
    "save_entry",
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
    folder = (Path(env).expanduser() if env else user_cache_dir()) / kind
    try:
        if create:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = folder.lstat()
    except (OSError, RuntimeError):  # RuntimeError: no home directory to expand
        return None
    return folder if _private(st) else None


def _private(st: os.stat_result) -> bool:
    """A real folder (not a link) that only this user can write to."""
    if not stat.S_ISDIR(st.st_mode):
        return False
    if hasattr(os, "geteuid"):
        return st.st_uid == os.geteuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    return True


def _entry_path(folder: Path, key: str) -> Path:
    if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
        msg = f"a cache key is a SHA-256 in hex, got {key!r}"
        raise ValueError(msg)
    return folder / f"{key}{_SUFFIX}"


def load_entry(kind: str, key: str) -> tuple[dict[str, Any], dict[str, bytes]] | None:
    """The ``(meta, blobs)`` saved under ``key``, or ``None`` (absent, damaged, cache off)."""
    folder = cache_folder(kind)
    if folder is None:
        return None
    path = _entry_path(folder, key)
    try:
        data = path.read_bytes()
    except OSError:
        return None
    entry = _decode(data, key)
    if entry is not None:
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: kept by the pruning
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
    folder = cache_folder(kind, create=True)
    if folder is None:
        return False
    path = _entry_path(folder, key)
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
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=folder)
        with os.fdopen(fd, "wb") as fh:
            fh.write(_MAGIC + digest.digest() + len(header).to_bytes(8, "little") + header)
            for b in blobs.values():
                fh.write(b)
        os.replace(tmp, path)
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                Path(tmp).unlink()
        return False
    _prune(folder)
    return True


def _prune(folder: Path) -> None:
    """Keep the :data:`KEEP_ENTRIES` most recently used entries; remove stale temporary files.

    Only files named as this module names them are ever removed.
    """
    entries: list[tuple[float, Path]] = []
    now = time.time()
    try:
        for p in folder.iterdir():
            with contextlib.suppress(OSError):
                if p.name.startswith(_TMP_PREFIX) and now - p.stat().st_mtime > _STALE_TMP_S:
                    p.unlink()
                elif p.suffix == _SUFFIX and len(p.stem) == 64:
                    entries.append((p.stat().st_mtime, p))
    except OSError:
        return
    entries.sort(key=lambda e: e[0], reverse=True)
    for _, p in entries[KEEP_ENTRIES:]:
        with contextlib.suppress(OSError):
            p.unlink()
