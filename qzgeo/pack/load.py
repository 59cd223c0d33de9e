"""Load and normalise a pack's layers: read, check, repair, reproject to the storage CRS."""

from __future__ import annotations

import copy
import glob
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from pyproj import CRS

from qzgeo._errors import PackError, QzgeoError
from qzgeo.geo.coverage import Coverage
from qzgeo.geo.crs import CRS_FIX, planar_crs_for_bounds
from qzgeo.geo.edges import drawn_edges
from qzgeo.geo.gcj02 import detect_gcj02_offset
from qzgeo.geo.repair import RepairReport, repair_layer
from qzgeo.io.digest import sha256_path
from qzgeo.io.guard import current_caps
from qzgeo.io.input_checks import enforce_extent
from qzgeo.io.layer_crs import FILE_CRS_SAID
from qzgeo.io.vector import read_layer, to_storage
from qzgeo.notices import ATTR as NOTICES_ATTR
from qzgeo.notices import Notices, notices_of
from qzgeo.pack.coverage import area_layer_problems, pack_coverage
from qzgeo.pack.load_warnings import (
    long_edge_warnings,
    planar_reach_warnings,
    unclassed_constraint_warnings,
)
from qzgeo.pack.model import LayerSpec, Pack
from qzgeo.pack.overlaps import zone_overlap_warnings


@dataclass
class LoadedPack:
    """A pack's layers in the storage CRS, the planar CRS for geometry work, and the report.

    ``coverage``: the area the pack vouches for (:mod:`qzgeo.geo.coverage`): its extent box,
    or its ``coverage_layer`` within it; ``None`` for a pack without an extent.
    """

    pack: Pack
    layers: dict[str, gpd.GeoDataFrame]
    planar_crs: CRS
    report: RepairReport = field(default_factory=RepairReport)
    input_hashes: dict[str, str] = field(default_factory=dict)
    coverage: Coverage | None = None


#: The last few pack layers read, by file state and reading options: validating a pack and
#: then loading it reads each layer once, not twice (~0.2 s of every command).
_READS: OrderedDict[tuple[Any, ...], gpd.GeoDataFrame] = OrderedDict()
_READS_KEPT = 64

#: Environment settings that change how a layer reads: GDAL's, PROJ's and those of the drivers
#: of the formats a layer may be in (GML_INVERT_AXIS_ORDER_IF_LAT_LONG turns a lon/lat GML's
#: coordinates round; OSR_* change which CRS a .prj names).
READ_ENV_PREFIXES = (
    "GDAL_", "OGR_", "CPL_", "VSI_", "PROJ_", "OSR_", "SHAPE_", "DBF_", "GML_", "KML_",
    "LIBKML_", "GPKG_", "SQLITE_", "CSV_", "GEOJSON_", "FGB_", "PYOGRIO_", "QZGEO_MAX_BYTES",
)  # fmt: skip


def read_settings() -> tuple[tuple[str, str], ...]:
    """The environment variables named by :data:`READ_ENV_PREFIXES`, sorted."""
    return tuple((k, v) for k, v in sorted(os.environ.items()) if k.startswith(READ_ENV_PREFIXES))


def source_files(source: str) -> list[Path] | None:
    """Every file reading the local layer ``source`` may read, or ``None`` if it is neither a
    file nor a folder.

    A file and every file beside it whose name is its stem and a dot (a shapefile's
    ``.shx``/``.dbf``/``.prj``/``.cpg``, a GeoPackage's ``-wal``, a ``.aux.xml``); the stem is
    escaped, a name such as ``地块[2024].shp`` being no pattern. A folder (a ``.gdb``, a folder
    of shapefiles): every file in it.
    """
    path = Path(source)
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file())
    if not path.is_file():
        return None
    beside = path.parent.glob(f"{glob.escape(path.stem)}.*")
    return list(dict.fromkeys([path, *sorted(p for p in beside if p.is_file())]))


def _files_state(files: list[Path]) -> tuple[tuple[Any, ...], ...] | None:
    # ctime too: an edit that keeps the size and puts the mtime back (os.utime) still moves
    # the ctime, which no user call can set
    try:
        return tuple(
            (str(p), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
            for p, st in ((p, p.stat()) for p in files)
        )
    except OSError:
        return None


#: What the readers' "--encoding" advice means for a catalog layer (no such option or key).
PACK_ENCODING_FIX = (
    " (a catalog layer takes no --encoding: for a Shapefile, write its encoding, e.g. GBK, into "
    "a .cpg file beside the .shp; for a MapInfo file, its Charset line, e.g. Charset "
    '"WindowsSimpChinese"; save any other file as UTF-8)'
)
#: The same for "--swap-xy": a catalog has no key to read a layer's axes swapped.
PACK_SWAP_FIX = (
    " (a catalog layer takes no --swap-xy: swap X and Y in the file itself, e.g. QGIS "
    "Processing › Swap X and Y coordinates, and save it over the layer)"
)
#: Readers' advice naming a command-line option, and what it means for a catalog layer.
_PACK_FIXES = (("--encoding", PACK_ENCODING_FIX), ("--swap-xy", PACK_SWAP_FIX))


def catalog_crs_fix(spec: LayerSpec, said: str) -> str:
    """What a pack layer's coordinates refused for their CRS (``said``) ask of its catalog:
    the command line's "--crs" means nothing there (as in :func:`enforce_layer_extent`)."""
    where = f"catalog.toml layer {spec.id!r}"
    if FILE_CRS_SAID in said:  # the file's own CRS was used (said next): the fix is there
        return "check the CRS its file declares"
    if spec.crs is not None:
        return f"check `crs` {spec.crs!r} of {where}"
    return f"check the CRS its file declares (a file that declares none takes `crs` in {where})"


def enforce_layer_extent(pack: Pack, spec: LayerSpec, gdf: gpd.GeoDataFrame) -> Notices:
    """:func:`~qzgeo.io.input_checks.enforce_extent` of one catalog layer (the layer as one),
    a refusal advising the catalog keys: a pack layer takes no --pack nor --crs."""
    where = f"catalog.toml layer {spec.id!r}"
    crs = (
        f"the wrong `crs` {spec.crs!r} of {where} (another GK zone?)"
        if spec.crs is not None
        else "the wrong CRS: the one its file declares (fix the .prj or the file's CRS; "
        f"a file that declares none takes `crs` in {where})"
    )
    causes = (
        f"Likely the wrong `extent` of catalog.toml's [pack] (it must hold the pack's "
        f"layers) or {crs}"
    )
    return enforce_extent(gdf, pack.extent, source=spec.path, per_feature=False, causes=causes)


def read_pack_layer(pack: Pack, spec: LayerSpec) -> gpd.GeoDataFrame:
    """One catalog layer as :func:`qzgeo.io.vector.read_layer` reads it (not yet repaired).

    A local source read before in this process, unchanged since (each of its
    :func:`source_files` of the same size, modification and change times and inode: a .dbf
    edited beside an untouched .shp is seen) and with the same read caps and
    :func:`read_settings`, is not read again: a copy of the earlier read is returned, its
    notices included.
    """
    source = pack.layer_path(spec)
    key: tuple[Any, ...] | None = None
    files = source_files(source) if "://" not in source else None
    state = _files_state(files) if files is not None else None
    if state is not None:
        # spec.id: the read's notices name the catalog layer (the `crs` given_by below)
        key = (
            str(Path(source).resolve()), state, spec.id, spec.layer, spec.crs, spec.datum,
            pack.extent, current_caps(), read_settings(),
        )  # fmt: skip
    if key is not None and key in _READS:
        _READS.move_to_end(key)
        return _copy(_READS[key])
    given_by = f"`crs` {spec.crs!r} of catalog.toml layer {spec.id!r} (remove it)"
    try:
        gdf = read_layer(
            source,
            layer=spec.layer,
            crs=spec.crs,
            datum=spec.datum,
            extent=pack.extent,
            crs_given_by=given_by,
        )
    except QzgeoError as exc:
        text = str(exc).replace(CRS_FIX, catalog_crs_fix(spec, str(exc)))
        fixes = "".join(fix for flag, fix in _PACK_FIXES if flag in text)
        if not fixes and text == str(exc):
            raise
        msg = f"{text}{fixes}"
        raise type(exc)(msg) from exc
    for d in gdf.attrs.get(NOTICES_ATTR, []):  # the readers' advice names a command-line option
        if isinstance(d, dict):
            text = str(d.get("message", ""))
            d["message"] = text + "".join(fix for flag, fix in _PACK_FIXES if flag in text)
    if key is not None:
        _READS[key] = _copy(gdf)
        while len(_READS) > _READS_KEPT:
            _READS.popitem(last=False)
    return gdf


def _copy(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = gdf.copy()
    out.attrs = copy.deepcopy(gdf.attrs)
    return out


def load_pack_layers(pack: Pack, *, only: list[str] | None = None) -> LoadedPack:
    """Read every catalog layer (or ``only`` those), repaired and in the storage CRS.

    Parameters
    ----------
    pack
        A pack from :func:`qzgeo.pack.catalog.load_pack` (validate it first).
    only
        Layer ids to load; default all. The ``coverage_layer`` is always loaded.

    Returns
    -------
    LoadedPack
    """
    report = RepairReport()
    layers: dict[str, gpd.GeoDataFrame] = {}
    hashes: dict[str, str] = {}
    if only is not None and pack.coverage_layer is not None:
        only = [*only, pack.coverage_layer]
    lonlat: dict[str, gpd.GeoDataFrame] = {}  # layers stored in lon/lat, as read
    for spec in pack.layers.values():
        if only is not None and spec.id not in only:
            continue
        source = pack.layer_path(spec)
        gdf = read_pack_layer(pack, spec)
        if wrong := area_layer_problems(spec, gdf):  # validate says it too
            raise PackError(wrong)
        notes = notices_of(gdf)
        notes.extend(enforce_layer_extent(pack, spec, gdf))
        report.warnings.extend(f"{spec.id}: {n}" for n in notes)
        gdf = _numbered_zones(gdf, spec, report)
        gdf = repair_layer(gdf, layer_id=spec.id, report=report)
        if gdf.crs is not None and gdf.crs.is_geographic:
            lonlat[spec.id] = gdf
        layers[spec.id] = to_storage(drawn_edges(gdf), crs=pack.storage_crs)
        if "://" not in source:
            rel = (
                Path(source).relative_to(pack.root)
                if Path(source).is_relative_to(pack.root)
                else Path(source)
            )
            hashes.setdefault(rel.as_posix(), sha256_path(source))
    _check_gcj02(pack, layers, report)
    report.warnings.extend(twin_source_warnings(pack))
    coverage, warned = pack_coverage(pack, layers)
    report.warnings.extend(warned)
    if pack.planar_crs:
        planar = CRS.from_user_input(pack.planar_crs)
    else:
        bounds = [g.total_bounds for g in layers.values() if not g.empty]
        if not bounds and pack.extent:
            bounds = [pack.extent]
        if not bounds:
            msg = f"{pack.catalog_path}: no layer has data to choose a planar CRS; set planar_crs"
            raise PackError([msg])
        else:
            minx = min(b[0] for b in bounds)
            maxx = max(b[2] for b in bounds)
            planar = planar_crs_for_bounds((minx, 0.0, maxx, 0.0))
    report.warnings.extend(planar_reach_warnings(pack, layers, planar))
    report.warnings.extend(long_edge_warnings(pack, lonlat, planar))
    report.warnings.extend(zone_overlap_warnings(pack, layers, planar))
    report.warnings.extend(unclassed_constraint_warnings(pack, layers))
    return LoadedPack(
        pack=pack,
        layers=layers,
        planar_crs=planar,
        report=report,
        input_hashes=dict(sorted(hashes.items())),
        coverage=coverage,
    )


def _numbered_zones(
    gdf: gpd.GeoDataFrame, spec: LayerSpec, report: RepairReport
) -> gpd.GeoDataFrame:
    """A zone layer whose ids are not numbers (a PostGIS table keyed by text) numbered by
    position: ``zone_fid`` (要素编号) is a number in every output; the key stays a column."""
    if spec.role != "zone" or gdf.empty or pd.api.types.is_integer_dtype(gdf.index):
        return gdf
    report.warnings.append(
        f"{spec.id}: its rows are keyed by text ({gdf.index[0]!r}, ...): zone_fid (要素编号) "
        "numbers them by position (0, 1, ...) in key order; the key stays a column"
    )
    return gdf.reset_index(drop=True)


def analysis_layer_ids(pack: Pack) -> list[str] | None:
    """The layers an analysis of parcels needs: constraints, zones and the GCJ-02 reference.

    ``None`` (load everything) when the pack declares no ``planar_crs``: the planar CRS is then
    chosen from the extent of all layers.
    """
    if not pack.planar_crs:
        return None
    ids = {s.id for s in pack.constraint_layers()} | {s.id for s in pack.zone_layers()}
    if pack.reference_layer:
        ids.add(pack.reference_layer)
    return [lid for lid in pack.layers if lid in ids]


def twin_source_warnings(pack: Pack) -> list[str]:
    """One data source declared twice, once internal and once public: the data are public."""
    seen: dict[tuple[str, str | None], list[tuple[str, str]]] = {}
    for spec in pack.layers.values():
        seen.setdefault((pack.layer_path(spec), spec.layer), []).append((spec.id, spec.sensitivity))
    out = []
    for (_, layer), specs in seen.items():
        if len({sens for _, sens in specs}) > 1:
            ids = ", ".join(f"{lid!r} ({sens})" for lid, sens in specs)
            src = specs[0][0]
            out.append(
                f"layers {ids} read the same data (path of {src!r}, layer {layer!r}): what "
                "the public layer publishes is public however the other is marked; declare "
                "the source once, or publish only the fields meant to be public"
            )
    return out


# Only layers that claim to be real data can be compared with the reference: schematic
# outlines do not follow a coast, so a shift would prove nothing about them.
_CHECKED_PRECISIONS = ("real", "OSM", "survey")


def _check_gcj02(pack: Pack, layers: dict[str, gpd.GeoDataFrame], report: RepairReport) -> None:
    """Warn about real-data layers that sit ~500 m off the reference like GCJ-02 data do."""
    ref_id = pack.reference_layer
    if ref_id is None or ref_id not in layers:
        return
    reference = layers[ref_id].geometry.values
    for spec in pack.layers.values():
        if spec.id == ref_id or spec.datum is not None or spec.id not in layers:
            continue
        if spec.precision not in _CHECKED_PRECISIONS:
            continue
        check = detect_gcj02_offset(layers[spec.id].geometry.values, reference)
        if check.looks_gcj02:
            report.warnings.append(check.message(f"layer {spec.id!r}"))
