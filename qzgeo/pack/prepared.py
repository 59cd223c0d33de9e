"""A pack loaded once, then from qzgeo's cache: the same :class:`LoadedPack`, in a few ms.

Loading a pack (reading, checking, repairing every layer, building its coverage) and
validating it take ~0.3 s for the bundled pack, most of a cold ``qzgeo check``. The result,
with whether the pack validated and its warnings, is kept in the cache folder
(:mod:`qzgeo.cache_store`, ``packs/``) under a key that is a SHA-256 of everything it
depends on:

* the bytes of ``catalog.toml``, ``styles/*.toml``, ``maps/*.toml`` and of every file a
  layer reads (a shapefile's ``.dbf``/``.prj``/``.cpg``..., a GeoPackage's ``-wal``: every file
  beside it with its name and a dot), by content (an edit that kept size and time is seen),
  and the catalog as the command parsed it (one saved while the command ran is not confused
  with it);
* the pack's folder, the layers asked for (``only``), the read caps, ``$QZGEO_MAX_BYTES`` and
  GDAL's, PROJ's and their drivers' settings (``GDAL_*``, ``OGR_*``, ``PROJ_*``, ``SHAPE_*``,
  ``GML_*``, ``OSR_*``...: :func:`qzgeo.pack.load.read_settings`) and GDAL's configuration
  files (``~/.gdal/gdalrc``, ``$GDAL_CONFIG_FILE``), by content;
* the files where PROJ looks for its transformation grids (its data folders and the user's
  writable one), by name, size and time (grids run to hundreds of MB), and whether PROJ may
  fetch grids from the network: a grid installed since changes a datum shift;
* the qzgeo code (every ``.py`` of the package, by content) and the versions of Python,
  numpy, pandas, pyarrow, shapely/GEOS, pyogrio/GDAL, pyproj/PROJ, geopandas and ezdxf;
* the cache format.

Packs with a PostGIS layer (data that change without a file changing), with catalog
problems, or whose files cannot be read are loaded as before, uncached. What is cached
round-trips exactly (:func:`qzgeo.io.frame_codec.same_frame` is checked before writing):
layers, their dtypes, index, geometry bytes and CRS, the repair report, the planar CRS, the
coverage. ``qzgeo validate`` always validates from the data.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import platform
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any

from pyproj import CRS

from qzgeo.cache_store import cache_off, load_entry, save_entry
from qzgeo.geo.coverage import Coverage
from qzgeo.geo.report_codec import report_from_json, report_to_json
from qzgeo.io.digest import sha256_path
from qzgeo.io.frame_codec import frame_from_bytes, frame_to_bytes, same_frame
from qzgeo.io.guard import current_caps
from qzgeo.pack.load import LoadedPack, load_pack_layers, read_settings, source_files
from qzgeo.pack.model import Pack, pack_tomls
from qzgeo.pack.validate import pack_warnings, validate_pack

__all__ = [
    "CACHE_FORMAT",
    "Prepared",
    "code_digest",
    "library_versions",
    "pack_key",
    "prepare_pack",
    "proj_grids",
    "source_digest",
]

#: Bumped whenever what an entry holds changes meaning.
CACHE_FORMAT = 1
_KIND = "packs"


@dataclass
class Prepared:
    """A loaded pack and how it was obtained.

    ``cache``: ``"hit"``, ``"miss"`` (loaded, then saved), ``"unsaved"`` (loaded; the cache
    could not be written or the result does not round-trip) or ``"off"`` (not cacheable:
    cache off, a PostGIS layer, catalog problems). ``warnings``: :func:`pack_warnings`, when
    asked for.
    """

    loaded: LoadedPack
    cache: str
    warnings: list[str] = field(default_factory=list)


def prepare_pack(
    pack: Pack,
    *,
    only: list[str] | None = None,
    validate: bool = False,
    warnings: bool = False,
) -> Prepared:
    """:func:`load_pack_layers` (after :func:`validate_pack` with ``validate``), cached.

    Parameters
    ----------
    pack
        From :func:`qzgeo.pack.catalog.load_pack`.
    only
        As :func:`load_pack_layers`.
    validate
        Raise :class:`~qzgeo._errors.PackError` as :func:`validate_pack` does; a cached
        entry remembers that the same inputs validated.
    warnings
        Also :func:`pack_warnings` (``Prepared.warnings``).
    """
    key = None if cache_off() else _key_or_none(pack, only)
    entry = _read(pack, key) if key is not None else None
    must_validate = validate and not (entry is not None and entry.validated)
    must_warn = warnings and (entry is None or entry.warnings is None)
    if entry is not None and not must_validate and not must_warn:
        return Prepared(entry.loaded, "hit", list(entry.warnings or []))
    if must_validate:
        validate_pack(pack)
    loaded = entry.loaded if entry is not None else load_pack_layers(pack, only=only)
    found = pack_warnings(pack) if must_warn else (entry.warnings if entry else None)
    if key is None:
        return Prepared(loaded, "off", list(found or []))
    validated = validate or (entry is not None and entry.validated)
    # Files changed while they were read: the result matches neither state; do not keep it.
    unchanged = _key_or_none(pack, only) == key
    saved = unchanged and _write(key, _Entry(loaded, validated, found))
    return Prepared(loaded, "miss" if saved else "unsaved", list(found or []))


def pack_key(pack: Pack, *, only: list[str] | None = None) -> str | None:
    """The cache key of loading ``pack`` (``only`` those layers) here and now, or ``None``
    when it cannot be cached (a PostGIS layer, catalog problems, a file missing)."""
    if pack.problems:
        return None
    files = _pack_files(pack)
    if files is None:
        return None
    material = {
        "format": CACHE_FORMAT,
        "code": code_digest(),
        "libraries": library_versions(),
        "root": str(pack.root),
        # The catalog as this command parsed it: one saved since (while the command ran) is
        # hashed below, and the entry must not be found again under the new file's key.
        "pack": repr(replace(pack, selected_by="")),
        "only": None if only is None else sorted(set(only)),
        "caps": repr(current_caps()),
        "env": dict(read_settings()),
        "gdal_config_files": _gdal_config_files(),
        "proj_grids": proj_grids(),
        "files": {str(p): sha256_path(p) for p in files},
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode("utf-8")).hexdigest()


def _key_or_none(pack: Pack, only: list[str] | None) -> str | None:
    try:
        return pack_key(pack, only=only)
    except OSError:  # a file vanished or is unreadable: the uncached load says what is wrong
        return None


def _pack_files(pack: Pack) -> list[Path] | None:
    """Every file loading and validating ``pack`` reads, or ``None`` if one is not a file."""
    root = pack.root
    files = [pack.catalog_path]
    for sub in ("styles", "maps"):
        files.extend(pack_tomls(root / sub))
    for spec in pack.layers.values():
        source = pack.layer_path(spec)
        found = None if "://" in source else source_files(source)
        if found is None:
            return None
        files.extend(found)
    return list(dict.fromkeys(files))


def _gdal_config_files() -> dict[str, str | None]:
    """SHA-256 of the files GDAL takes settings from when it starts (``[configoptions]``):
    ``$GDAL_CONFIG_FILE``, else ``/etc/gdal/gdalrc`` and ``~/.gdal/gdalrc``; ``None``: none."""
    named = os.environ.get("GDAL_CONFIG_FILE")
    if named:
        paths = [Path(named)]
    else:
        home = os.environ.get("USERPROFILE" if os.name == "nt" else "HOME", "")
        paths = [Path("/etc/gdal/gdalrc")] + ([Path(home) / ".gdal" / "gdalrc"] if home else [])
    return {str(p): sha256_path(p) if p.is_file() else None for p in paths}


def proj_grids() -> dict[str, Any]:
    """Every file in PROJ's search folders (name, size, time) and whether its network is on.

    PROJ picks a transformation by the grids it finds: installing ``cn_*.tif`` in
    ``~/.local/share/proj`` (or a ``PROJ_DATA`` folder) after a first run changes what a layer
    in another datum reprojects to, with no change to the pack or to the settings.
    """
    from pyproj import datadir, network
    from pyproj.exceptions import DataDirError

    folders = [datadir.get_user_data_dir()]
    # pyproj without its data (DataDirError): PROJ then finds no grid at all
    with contextlib.suppress(DataDirError):
        folders.extend(datadir.get_data_dir().split(os.pathsep))
    files: dict[str, list[int]] = {}
    for folder in dict.fromkeys(folders):
        root = Path(folder)
        if not root.is_dir():
            continue
        for p in sorted(root.rglob("*")):
            if p.is_file():
                st = p.stat()
                files[str(p)] = [st.st_size, st.st_mtime_ns]
    return {"network": network.is_network_enabled(), "files": files}


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """:func:`source_digest` of the qzgeo package (once per process, ~3 ms)."""
    return source_digest(Path(__file__).resolve().parents[1])


def source_digest(package: Path) -> str:
    """SHA-256 of every ``.py`` file under ``package``: its relative path and its bytes."""
    h = hashlib.sha256()
    for p in sorted(package.rglob("*.py")):
        h.update(p.relative_to(package).as_posix().encode("utf-8") + b"\0")
        h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def library_versions() -> dict[str, str]:
    import geopandas
    import numpy
    import pandas
    import pyarrow
    import pyogrio
    import pyproj
    import shapely

    return {
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "pandas": pandas.__version__,
        "pyarrow": pyarrow.__version__,
        "shapely": f"{shapely.__version__} GEOS {shapely.geos_version_string}",
        "pyogrio": f"{pyogrio.__version__} GDAL {pyogrio.__gdal_version_string__}",
        "pyproj": f"{pyproj.__version__} PROJ {pyproj.proj_version_str}",
        "geopandas": geopandas.__version__,
        # DXF layers are drawn by ezdxf (arcs flattened by it); asked of its metadata, as
        # importing it costs ~0.1 s
        "ezdxf": _distribution_version("ezdxf"),
    }


def _distribution_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


# --- entries ---------------------------------------------------------------------------------


@dataclass
class _Entry:
    loaded: LoadedPack
    validated: bool
    warnings: list[str] | None


def _encode(entry: _Entry) -> tuple[dict[str, Any], dict[str, bytes]]:
    loaded = entry.loaded
    blobs = {f"layer:{lid}": frame_to_bytes(gdf) for lid, gdf in loaded.layers.items()}
    cov = loaded.coverage
    if cov is not None and cov.wkb is not None:
        blobs["coverage"] = cov.wkb
    meta = {
        "layers": list(loaded.layers),
        "planar_crs": loaded.planar_crs.srs,
        "report": report_to_json(loaded.report),
        "input_hashes": loaded.input_hashes,
        "coverage": None if cov is None else {"extent": list(cov.extent), "layer": cov.layer},
        "validated": entry.validated,
        "warnings": entry.warnings,
    }
    return meta, blobs


def _decode(pack: Pack, meta: dict[str, Any], blobs: dict[str, bytes]) -> _Entry:
    report = report_from_json(meta["report"])
    cov = meta["coverage"]
    coverage = None
    if cov is not None:
        extent = tuple(float(v) for v in cov["extent"])
        coverage = Coverage(extent, blobs.get("coverage"), cov["layer"])  # type: ignore[arg-type]
    loaded = LoadedPack(
        pack=pack,
        layers={lid: frame_from_bytes(blobs[f"layer:{lid}"]) for lid in meta["layers"]},
        planar_crs=CRS.from_user_input(meta["planar_crs"]),
        report=report,
        input_hashes={str(k): str(v) for k, v in meta["input_hashes"].items()},
        coverage=coverage,
    )
    found = meta["warnings"]
    return _Entry(loaded, bool(meta["validated"]), None if found is None else list(found))


def _read(pack: Pack, key: str) -> _Entry | None:
    got = load_entry(_KIND, key)
    if got is None:
        return None
    try:
        return _decode(pack, *got)
    except Exception:  # a sound file of another shape (a foreign writer): a miss, rebuilt
        return None


def _write(key: str, entry: _Entry) -> bool:
    """Save ``entry`` if it round-trips exactly; whether it was saved."""
    try:
        meta, blobs = _encode(entry)
        back = _decode(entry.loaded.pack, json.loads(json.dumps(meta)), blobs)
    except Exception:  # something the codec cannot hold (an odd dtype): not cached
        return False
    if not _same(entry, back):
        return False
    return save_entry(_KIND, key, meta, blobs)


def _same(a: _Entry, b: _Entry) -> bool:
    la, lb = a.loaded, b.loaded
    return (
        a.validated == b.validated
        and a.warnings == b.warnings
        and list(la.layers) == list(lb.layers)
        and all(same_frame(la.layers[k], lb.layers[k]) for k in la.layers)
        and la.planar_crs.srs == lb.planar_crs.srs
        and la.planar_crs.to_wkt() == lb.planar_crs.to_wkt()
        and la.report == lb.report
        and la.input_hashes == lb.input_hashes
        and la.coverage == lb.coverage
    )
