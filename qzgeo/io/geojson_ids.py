"""Duplicate GeoJSON feature ids, which GDAL renumbers with only a warning."""

from __future__ import annotations

import contextlib
import mmap
import re
import warnings
from pathlib import Path

import pyogrio

__all__ = ["duplicate_ids"]


def _mentions_id(p: Path) -> bool:
    """Whether the file has an ``"id"`` member anywhere (cheap: no parse)."""
    with p.open("rb") as fh:
        if p.stat().st_size == 0:
            return False
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            return mm.find(b'"id"') >= 0


def duplicate_ids(p: Path, layer: str | None) -> list[str]:
    """GDAL renumbers duplicate GeoJSON feature ids silently but for a warning: keep it."""
    if not _mentions_id(p):
        return []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with contextlib.suppress(Exception):
            pyogrio.read_dataframe(
                p, layer=layer, read_geometry=False, columns=[], fid_as_index=True
            )
    out = []
    for w in caught:
        m = re.search(r"Several features with id = (\S+)", str(w.message))
        if m:
            out.append(
                f"{p.name}: duplicate GeoJSON feature id {m.group(1)} (maybe others too); "
                "GDAL renumbered the duplicates, so feature ids in reports differ from the "
                "file's. Give every feature a unique id"
            )
    return out
