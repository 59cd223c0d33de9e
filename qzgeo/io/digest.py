"""Digests of inputs: SHA-256 of files for manifests, ``report.json`` and the never-modify check."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

from qzgeo.io.postgis_uri import is_postgis_uri, redact_uri

__all__ = ["input_digest", "sha256_file", "sha256_path"]


def sha256_file(path: str | os.PathLike[str], *, stop: threading.Event | None = None) -> str:
    """SHA-256 of a file's bytes (for manifests and the never-modify-inputs check).

    ``stop``: when set (the run failed), hashing ends at the next megabyte and ``""`` is
    returned, so that an error on a 2 GB input is not held back by its hash.
    """
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            if stop is not None and stop.is_set():
                return ""
            h.update(block)
    return h.hexdigest()


def input_digest(source: str | os.PathLike[str]) -> dict[str, str]:
    """``{name: sha256}`` of an input file for ``report.json``; a PostGIS table (which has no
    bytes to hash) is named by its URI, password hidden, with ``"postgis"`` in place of a hash.

    Examples
    --------
    >>> input_digest("postgresql://gis:pw@db/plan?table=规划.地块")
    {'postgresql://gis:***@db/plan?table=规划.地块': 'postgis'}
    """
    if is_postgis_uri(str(source)):
        return {redact_uri(str(source)): "postgis"}
    return {Path(source).name: sha256_path(source)}


def sha256_path(path: str | os.PathLike[str], *, stop: threading.Event | None = None) -> str:
    """:func:`sha256_file` of a file; of a folder read whole (a ``.gdb``, a folder of
    shapefiles), the SHA-256 of its files' relative names and hashes, in name order."""
    root = Path(path)
    if not root.is_dir():
        return sha256_file(root, stop=stop)
    h = hashlib.sha256()
    for p in sorted(q for q in root.rglob("*") if q.is_file()):
        digest = sha256_file(p, stop=stop)
        if stop is not None and stop.is_set():
            return ""
        h.update(f"{p.relative_to(root).as_posix()}\0{digest}\n".encode())
    return h.hexdigest()
