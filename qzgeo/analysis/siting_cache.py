"""A pack's siting context, kept in qzgeo's cache: a cold ``qzgeo check`` skips the rebuild.

:meth:`~qzgeo.analysis.siting.SitingContext.from_pack` merges the pack's constraint classes,
plans them for the overlay engine, projects the zones, the distance layers and the coverage
into the pack's planar CRS: ~0.15 s of a one-site check that is ~1 s in all, every time,
for the same answer. The pieces are kept here (``siting/`` in the cache folder,
:mod:`qzgeo.cache_store`) under a key made of the prepared pack's
(:func:`qzgeo.pack.prepared.pack_key`: every file the pack reads, by content, the qzgeo code,
the library versions, GDAL's and PROJ's settings and grids) and the layers asked for.

Only packs whose layers come from files are kept (as for the prepared pack), and only a
context of the pack's own constraints (``--constraint`` files are read each time). An entry is
JSON and WKB, never a pickle, and is saved only if it decodes to exactly what was built
(every geometry byte for byte); anything that does not decode is a miss.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS

from qzgeo.analysis.distances import DistanceTarget
from qzgeo.analysis.overlay_plan import ConstraintClass, OverlayPlan, Target
from qzgeo.cache_store import cache_off, load_entry, save_entry
from qzgeo.geo.coverage import Coverage, coverage_in, remember_coverage_in
from qzgeo.geo.repair import RepairReport
from qzgeo.geo.report_codec import report_from_json, report_to_json
from qzgeo.pack.model import Pack
from qzgeo.pack.prepared import pack_key

__all__ = ["SITING_FORMAT", "CachedContext", "context_key", "load_context", "save_context"]

#: Bumped whenever what an entry holds changes meaning.
SITING_FORMAT = 1
_KIND = "siting"

ObjArray = npt.NDArray[np.object_]


@dataclass
class CachedContext:
    """What a :class:`~qzgeo.analysis.siting.SitingContext` is built from, ready."""

    planar_crs: CRS
    classes: list[ConstraintClass]
    plan: OverlayPlan
    zone_names: list[str]
    zone_geoms: ObjArray
    distances: list[DistanceTarget]
    warnings: list[str]
    report: RepairReport
    coverage: Coverage | None


def context_key(pack: Pack, only: list[str]) -> str | None:
    """The cache key of ``pack``'s siting context over the layers ``only``, or ``None`` when it
    is not kept (cache off, a PostGIS layer, catalog problems, a file unreadable)."""
    if cache_off():
        return None
    try:
        base = pack_key(pack, only=only)
    except OSError:  # a file vanished or is unreadable: the uncached load says what is wrong
        return None
    if base is None:
        return None
    material = {"format": SITING_FORMAT, "pack": base, "only": sorted(set(only))}
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode("utf-8")).hexdigest()


def load_context(key: str) -> CachedContext | None:
    """The context saved under ``key``, or ``None``. Its planar coverage is remembered
    (:func:`~qzgeo.geo.coverage.remember_coverage_in`) so that no check projects it again."""
    got = load_entry(_KIND, key)
    if got is None:
        return None
    try:
        cached = _decode(*got)
    except Exception:  # a sound file of another shape (a foreign writer): a miss, rebuilt
        return None
    planar = got[1].get("coverage_planar")
    if cached.coverage is not None and cached.coverage.wkb is not None and planar is not None:
        remember_coverage_in(cached.planar_crs.to_wkt(), cached.coverage, shapely.from_wkb(planar))
    return cached


def save_context(key: str, context: CachedContext) -> bool:
    """Save ``context`` if it round-trips exactly; whether it was saved."""
    try:
        meta, blobs = _encode(context)
        again = _encode(_decode(json.loads(json.dumps(meta)), blobs))
    except Exception:  # something the codec cannot hold: not cached
        return False
    if again != (meta, blobs):
        return False
    cov = context.coverage
    if cov is not None and cov.wkb is not None:
        blobs["coverage_planar"] = shapely.to_wkb(coverage_in(context.planar_crs.to_wkt(), cov))
    return save_entry(_KIND, key, meta, blobs)


# --- the codec ------------------------------------------------------------------------------


def _encode(c: CachedContext) -> tuple[dict[str, Any], dict[str, bytes]]:
    blobs: dict[str, bytes] = {
        "classes": _geoms_to_bytes(np.asarray([k.geometry for k in c.classes], dtype=object)),
        "zones": _geoms_to_bytes(c.zone_geoms),
    }
    plan = c.plan
    targets = {"classes": plan.classes, "balance": plan.balance}
    for name, t in targets.items():
        if t is not None:
            blobs[f"{name}:parts"] = _geoms_to_bytes(t.parts)
            blobs[f"{name}:group"] = np.asarray(t.group, dtype="<i8").tobytes()
    for k, d in enumerate(c.distances):
        for part in ("pieces", "polygons"):
            arr = getattr(d, part)
            if arr is not None:
                blobs[f"distance:{k}:{part}"] = _geoms_to_bytes(arr)
    cov = c.coverage
    if cov is not None and cov.wkb is not None:
        blobs["coverage"] = cov.wkb
    meta = {
        "planar_crs": c.planar_crs.to_wkt(),
        "classes": [[k.layer_id, k.cls, k.mode, k.sensitivity] for k in c.classes],
        "plan": {
            "columns": list(plan.columns),
            "modes": list(plan.modes),
            "targets": {
                name: None if t is None else [t.name, list(t.labels), t.remainder]
                for name, t in targets.items()
            },
            "balance_kind": plan.balance_kind,
            "inside_group": plan.inside_group,
        },
        "zone_names": list(c.zone_names),
        "distances": [[d.layer, d.label, d.label_en] for d in c.distances],
        "warnings": list(c.warnings),
        "report": report_to_json(c.report),
        "coverage": None if cov is None else {"extent": list(cov.extent), "layer": cov.layer},
    }
    return meta, blobs


def _decode(meta: dict[str, Any], blobs: dict[str, bytes]) -> CachedContext:
    class_geoms = _geoms_from_bytes(blobs["classes"])
    classes = [
        ConstraintClass(str(lid), str(cls), str(mode), str(sens), g)
        for (lid, cls, mode, sens), g in zip(meta["classes"], class_geoms, strict=True)
    ]
    p = meta["plan"]
    targets = {name: _target(name, spec, blobs) for name, spec in p["targets"].items()}
    classes_target = targets["classes"]
    if classes_target is None:
        msg = "a siting entry without its class target"
        raise ValueError(msg)
    plan = OverlayPlan(
        columns=tuple(str(v) for v in p["columns"]),
        modes=tuple(str(v) for v in p["modes"]),
        classes=classes_target,
        balance=targets["balance"],
        balance_kind=str(p["balance_kind"]),
        inside_group=None if p["inside_group"] is None else int(p["inside_group"]),
    )
    distances = [
        DistanceTarget(
            str(layer),
            str(label),
            str(label_en),
            _optional_geoms(blobs.get(f"distance:{k}:pieces")),
            _optional_geoms(blobs.get(f"distance:{k}:polygons")),
        )
        for k, (layer, label, label_en) in enumerate(meta["distances"])
    ]
    cov = meta["coverage"]
    coverage = None
    if cov is not None:
        extent = tuple(float(v) for v in cov["extent"])
        coverage = Coverage(extent, blobs.get("coverage"), cov["layer"])  # type: ignore[arg-type]
    return CachedContext(
        planar_crs=CRS.from_wkt(meta["planar_crs"]),
        classes=classes,
        plan=plan,
        zone_names=[str(v) for v in meta["zone_names"]],
        zone_geoms=_geoms_from_bytes(blobs["zones"]),
        distances=distances,
        warnings=[str(w) for w in meta["warnings"]],
        report=report_from_json(meta["report"]),
        coverage=coverage,
    )


def _target(name: str, spec: list[Any] | None, blobs: dict[str, bytes]) -> Target | None:
    if spec is None:
        return None
    t_name, labels, remainder = spec
    return Target(
        name=str(t_name),
        parts=_geoms_from_bytes(blobs[f"{name}:parts"]),
        group=np.frombuffer(blobs[f"{name}:group"], dtype="<i8").astype(np.int64),
        labels=tuple(str(v) for v in labels),
        remainder=bool(remainder),
    )


def _geoms_to_bytes(geoms: ObjArray) -> bytes:
    """Geometries as ``count | lengths (int64) | WKB...``; a missing geometry has length -1.

    Bare arrays, not :mod:`qzgeo.io.frame_codec`'s GeoDataFrames: a hit must stay cheaper than
    the rebuild it replaces, and a frame's Arrow → pandas conversion is most of that cost.
    """
    arr = np.asarray(geoms, dtype=object).reshape(-1)
    wkb = shapely.to_wkb(arr)
    sizes = np.asarray([-1 if b is None else len(b) for b in wkb], dtype="<i8")
    body = b"".join(b for b in wkb if b is not None)
    return len(arr).to_bytes(8, "little") + sizes.tobytes() + body


def _geoms_from_bytes(data: bytes) -> ObjArray:
    n = int.from_bytes(data[:8], "little")
    sizes = np.frombuffer(data, dtype="<i8", count=n, offset=8)
    at = 8 + 8 * n
    wkb: list[bytes | None] = []
    for size in sizes.tolist():
        if size < 0:
            wkb.append(None)
            continue
        wkb.append(data[at : at + size])
        at += size
    if at != len(data):
        msg = "geometry sizes do not add up to the blob"
        raise ValueError(msg)
    return np.asarray(shapely.from_wkb(np.asarray(wkb, dtype=object)), dtype=object).reshape(-1)


def _optional_geoms(data: bytes | None) -> ObjArray | None:
    return None if data is None else _geoms_from_bytes(data)
