"""What GDAL may open, and how big a layer may be: checked before and after every read.

GDAL can be made to read anything: a ``.vrt`` file names other sources (``/etc/passwd``
through ``CSV:``, a URL through ``/vsicurl/``), a ``XX:`` prefix picks a driver, ``/vsi*``
paths reach archives and the network. :func:`admit_source` lets through only files of the
formats qzgeo reads, by extension and by their first bytes, and GDAL's network access is
switched off when this module is imported.

Caps on vertices per feature and features per layer (``--max-vertices``, ``--max-features``)
stop a single hostile polygon or layer from taking the machine; the pipeline sets them for a
run with :func:`read_caps`.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely

from qzgeo._errors import InputError
from qzgeo.io.fgb_count import check_fgb_count
from qzgeo.io.geojson_ids import duplicate_ids
from qzgeo.io.gpkg_count import table_rows
from qzgeo.io.mapinfo import MAPINFO_SUFFIXES, admit_mapinfo
from qzgeo.io.paths import refuse_special, refuse_undecodable
from qzgeo.io.shapefile import dbf_wide_integers, sidecar
from qzgeo.io.text_encoding import refuse_json_nul, utf16_said

#: Extensions GDAL may open (OGR drivers GPKG, ESRI Shapefile, GeoJSON(Seq), FlatGeobuf,
#: KML, GML, CSV, MapInfo File) and those qzgeo reads itself (界址点 .txt, DXF, GeoParquet).
ALLOWED_SUFFIXES = frozenset(
    {
        ".gpkg",
        ".shp",
        ".geojson",
        ".json",
        ".geojsonl",
        ".geojsons",
        ".ndjson",
        ".fgb",
        ".kml",
        ".gml",
        ".csv",
        ".txt",
        ".dxf",
        ".parquet",
        ".geoparquet",
        ".tab",
        ".mif",
    }
)
_OWN_READERS = frozenset({".txt", ".dxf", ".parquet", ".geoparquet"})
_MAGIC = {
    ".gpkg": (b"SQLite format 3\x00",),
    ".shp": (b"\x00\x00\x27\x0a",),
    ".fgb": (b"fgb",),
}
_PREFIX_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]+:")
_FORBIDDEN_CONTENT = (b"OGRVRTDataSource",)
_GDAL_OFFLINE = {
    # No URL is fetched: /vsicurl/ accepts no extension, HTTP goes nowhere, GML/XSD links
    # are not resolved.
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".qzgeo-no-network",
    "GDAL_HTTP_PROXY": "127.0.0.1:9",
    "GDAL_HTTP_TIMEOUT": "1",
    "GML_SKIP_RESOLVE_ELEMS": "ALL",
    "GML_DOWNLOAD_SCHEMA": "NO",
}
pyogrio.set_gdal_config_options(_GDAL_OFFLINE)
# rasterio carries its own GDAL, which reads these from the environment
os.environ.update(_GDAL_OFFLINE)

#: Raster formats GDAL may open (GeoTIFF/COG, Erdas Imagine or ENVI, ASCII grid), and their
#: drivers: GDAL picks a driver by content, not by name, so a ``dem.tif`` holding
#: ``<GDAL_WMS>`` or ``<MRF_META>`` XML would otherwise fetch a URL or read any file.
RASTER_DRIVERS: dict[str, tuple[str, ...]] = {
    ".tif": ("GTiff",),
    ".tiff": ("GTiff",),
    ".img": ("HFA", "ENVI"),
    ".asc": ("AAIGrid",),
    # SRTM tiles (N31E117.hgt): raw big-endian int16, placed by GDAL from the file name
    ".hgt": ("SRTMHGT",),
}
RASTER_SUFFIXES = frozenset(RASTER_DRIVERS)

DEFAULT_MAX_VERTICES = 1_000_000
DEFAULT_MAX_FEATURES = 5_000_000


@dataclass(frozen=True)
class ReadCaps:
    """Caps on what one read may hold; raise them with ``--max-vertices``/``--max-features``.

    ``features_given``: ``max_features`` was asked for (``--max-features``), so it also caps
    a layer read in chunks; the default cap bounds memory, which a chunked read bounds itself.
    """

    max_vertices: int = DEFAULT_MAX_VERTICES
    max_features: int = DEFAULT_MAX_FEATURES
    features_given: bool = False


_CAPS: contextvars.ContextVar[ReadCaps] = contextvars.ContextVar("qzgeo_read_caps")


@contextlib.contextmanager
def read_caps(caps: ReadCaps | None) -> Iterator[ReadCaps]:
    """Apply ``caps`` (default :class:`ReadCaps`) to every :func:`read_layer` in the block."""
    token = _CAPS.set(caps or ReadCaps())
    try:
        yield _CAPS.get()
    finally:
        _CAPS.reset(token)


def current_caps() -> ReadCaps:
    """The caps in force (the defaults outside :func:`read_caps`)."""
    return _CAPS.get(ReadCaps())


def _refuse(path: str, why: str) -> InputError:
    return InputError(
        f"{path}: {why}; GDAL opens only GeoPackage, Shapefile, GeoJSON, FlatGeobuf, KML, GML, "
        "CSV and MapInfo (native .tab, .mif) files here (driver allow-list; no VRT, no /vsi* or "
        "PREFIX: paths). Convert the data to GeoPackage first: ogr2ogr -f GPKG OUT.gpkg IN (or "
        "QGIS: Export, Save As)"
    )


def open_options(path: str | os.PathLike[str]) -> dict[str, str]:
    """GDAL open options every qzgeo read passes (as keyword arguments of pyogrio's readers).

    Reading a GML file that has no ``.xsd`` beside it makes GDAL write a ``.gfs`` there
    (``WRITE_GFS=AUTO``): it would change the user's folder, and a stale ``.gfs`` left by one
    version of the file steers the reading of the next. qzgeo never writes beside its inputs.

    A shapefile whose DBF has integer fields of 19 digits or more (``N(19,0)``: a 19-digit
    宗地代码 as QGIS or ArcGIS write a 64-bit integer) is opened with ``ADJUST_TYPE``: GDAL
    then reads the values that fit as 64-bit integers instead of rounding them to floats.

    Examples
    --------
    >>> open_options("宗地.gml"), open_options("宗地.gpkg")
    ({'WRITE_GFS': 'NO'}, {})
    """
    suffix = Path(os.fspath(path)).suffix.lower()
    if suffix == ".shp" and dbf_wide_integers(Path(os.fspath(path))):
        return {"ADJUST_TYPE": "YES"}
    return {"WRITE_GFS": "NO"} if suffix == ".gml" else {}


#: pyogrio's warning when GDAL reads a layer of Measured (M) geometries as 2D.
M_WARNING = r"Measured \(M\) geometry types are not supported"


@functools.lru_cache(maxsize=16)
def _feature_count(
    path: str, layer: str | None, mtime_ns: int, size: int, ino: int = 0
) -> tuple[int, bool]:
    """A layer's feature count, once per file version (each chunk of a big file asks), and
    whether its geometries are Measured (GDAL reads them without their M values)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        info = pyogrio.read_info(path, layer=layer, **open_options(path))
    measured = any(re.search(M_WARNING, str(w.message)) for w in caught)
    return int(info.get("features") or 0), measured


def ogr_layers(path: str | os.PathLike[str]) -> list[tuple[str, str | None]]:
    """``pyogrio.list_layers(path)`` as ``(name, geometry type)``, with :func:`open_options`.

    ``pyogrio.list_layers`` takes no open options, so a GML file's layers are listed one
    :func:`pyogrio.read_info` at a time. A file's list is kept per version of it (a big
    file is read in chunks, and each chunk asked again: ~2 ms a time).
    """
    p = Path(os.fspath(path))
    if p.is_file():
        st = p.stat()
        return list(_layers_of(str(p), st.st_mtime_ns, st.st_size, st.st_ino))
    return _ogr_layers(path)


@functools.lru_cache(maxsize=16)
def _layers_of(
    path: str, mtime_ns: int, size: int, ino: int = 0
) -> tuple[tuple[str, str | None], ...]:
    return tuple(_ogr_layers(path))


def _ogr_layers(path: str | os.PathLike[str]) -> list[tuple[str, str | None]]:
    options = open_options(path)
    if not options:
        try:
            layers = pyogrio.list_layers(path)
        except pyogrio.errors.GeometryError as exc:
            error = unreadable_geometry_type(path, exc)
            if error is None:
                raise
            raise error from exc
        return [(str(n), None if g is None else str(g)) for n, g in layers]
    out: list[tuple[str, str | None]] = []
    while True:
        try:
            info = pyogrio.read_info(path, layer=len(out), **options)
        except pyogrio.errors.DataLayerError:
            return out
        geometry = info.get("geometry_type")
        out.append((str(info["layer_name"]), None if geometry is None else str(geometry)))


#: GDAL's codes of "any geometry" with Z, M or both, the layer types pyogrio cannot open.
_ANY_GEOMETRY_ZM = {
    0x80000000: "Geometry Z",
    1000: "Geometry Z",
    2000: "Geometry M",
    3000: "Geometry ZM",
}
_UNSUPPORTED_TYPE_RE = re.compile(r"Geometry type is not supported: (\d+)")


def unreadable_geometry_type(path: str | os.PathLike[str], exc: Exception) -> InputError | None:
    """The error to raise when pyogrio cannot open a layer for its declared type, else None.

    A layer declared as any geometry with Z ("Geometry Z": GeoPackages exported from 3D CAD
    data, PostGIS views, QGIS layers of mixed types) makes pyogrio fail before reading a
    feature, whatever the features hold; it reads the same layer saved without Z and M.

    Examples
    --------
    >>> exc = RuntimeError("Geometry type is not supported: 2147483648")
    >>> "'Geometry Z'" in str(unreadable_geometry_type("宗地.gpkg", exc))
    True
    >>> unreadable_geometry_type("宗地.gpkg", RuntimeError("other")) is None
    True
    """
    found = _UNSUPPORTED_TYPE_RE.search(str(exc))
    if found is None:
        return None
    code = int(found.group(1))
    name = _ANY_GEOMETRY_ZM.get(code, f"code {code}")
    msg = (
        f"cannot read {os.fspath(path)}: a layer of it is declared with the geometry type "
        f"{name!r}, which qzgeo's reader (pyogrio) cannot open; save it without Z and M first, "
        "e.g. "
        f"`ogr2ogr -dim XY out.gpkg {os.fspath(path)}` (QGIS: Export > Save Features As, "
        "geometry type Polygon or MultiPolygon, Z and M unticked)"
    )
    return InputError(msg)


def refuse_virtual(path: str | os.PathLike[str]) -> None:
    """Refuse a ``/vsi*`` or ``PREFIX:`` path before anything else (even an existence check,
    which would blame a missing file and show the path as :class:`~pathlib.Path` mangles it).
    """
    refuse_undecodable(path)
    text = os.fspath(path)
    if text.startswith("/vsi") or _PREFIX_RE.match(text):
        shown = repr(text) if any(ord(c) < 32 for c in text) else text
        why = "a /vsi* or PREFIX: source is not accepted (give a plain local path; download first)"
        if not text.startswith("/vsi") and os.path.lexists(text):  # "v2:final.gpkg" exists
            why += (
                f"; for the local file of that name, give its absolute path "
                f"({Path(text).absolute()}) or rename it without the colon"
            )
        raise _refuse(shown, why)


#: What to do with files users commonly have in a format that is not on the allow-list.
_SUFFIX_HINTS = {
    ".kmz": "a KMZ of Google Earth or 奥维地图 is a zip holding a .kml: unzip it and give "
    "the .kml inside, often doc.kml",
    ".zip": "unzip it and give the file inside",
    ".dwg": "save it as DXF in CAD (closed polylines become polygons) and give the .dxf",
    ".xlsx": "a spreadsheet: boundary points (点号, X, Y) go in a 界址点坐标 .txt, one parcel "
    "after another; polygons as WKT, save it as CSV UTF-8 with a WKT column",
    ".dat": "a 南方CASS coordinate file (点名,编码,Y,X,H) holds points, not parcels: put a "
    "parcel's boundary points in order into a 界址点坐标 .txt, or draw it in CASS and save "
    "the drawing as DXF",
}
_SUFFIX_HINTS[".xls"] = _SUFFIX_HINTS[".xlsx"]
#: Files that belong to another one: the file to give instead (its data and geometry).
_PART_OF = {
    **dict.fromkeys((".dbf", ".shx", ".prj", ".cpg", ".sbn", ".sbx", ".qix"), ".shp"),
    **dict.fromkeys((".dat", ".map", ".id", ".ind"), ".tab"),
    ".mid": ".mif",
}


def _owner(p: Path) -> Path | None:
    """The Shapefile or MapInfo file ``p`` is a part of (a .dbf beside its .shp...), if any."""
    owner = _PART_OF.get(p.suffix.lower())
    return None if owner is None else sidecar(p, owner)


def admit_path(path: str | os.PathLike[str]) -> Path:
    """Refuse a path GDAL must not open (driver allow-list, by extension and first bytes).

    Raises
    ------
    InputError
        A ``/vsi*`` path, a ``PREFIX:`` path, a format not on the allow-list (``.vrt``...),
        a file whose first bytes do not match its extension (or name a VRT), or a folder
        other than a FileGDB or a folder of shapefiles.
    """
    text = os.fspath(path)
    shown = repr(text) if any(ord(c) < 32 for c in text) else text
    refuse_virtual(text)
    p = Path(text)
    refuse_special(p, shown)
    suffix = p.suffix.lower()
    if p.is_dir():
        # GDAL opens a folder with whichever driver claims its files (MapInfo .tab, CSV...):
        # only a FileGDB and a folder of shapefiles are on the allow-list.
        if suffix != ".gdb" and not any(f.suffix.lower() == ".shp" for f in p.iterdir()):
            why = (
                "a folder is read only as a FileGDB (.gdb) or a folder of shapefiles, and this "
                "one holds no .shp; give the file itself (a .shp, .tab, .gpkg, .geojson, .kml or "
                "界址点 .txt)"
            )
            raise _refuse(shown, why)
        return p
    if suffix not in ALLOWED_SUFFIXES:
        if (owner := _owner(p)) is not None:
            msg = f"{shown} is a part of {owner.name}, not a layer of its own: give {owner}"
            raise InputError(msg)
        why = f"the format {suffix or '(no extension)'!r} is not accepted"
        if (hint := _SUFFIX_HINTS.get(suffix)) is not None:  # its own fix, not ogr2ogr's
            msg = f"{shown}: {why}: {hint}"
            raise InputError(msg)
        raise _refuse(shown, why)
    with p.open("rb") as fh:
        head = fh.read(4096)
    magic = _MAGIC.get(suffix)
    if magic is not None and not head.startswith(magic):
        raise _refuse(shown, f"the file is not a {suffix} file (its first bytes do not match)")
    if any(m in head for m in _FORBIDDEN_CONTENT):
        raise _refuse(shown, "the file is a GDAL virtual data source, which is not accepted")
    if suffix in _GEOJSON_SUFFIXES and (utf16 := utf16_said(head)) is not None:
        # GDAL says "not recognized as a supported format", read as "corrupt"
        msg = f"cannot read {shown}: {utf16}; save it as UTF-8 (Notepad: Save As, Encoding UTF-8)"
        raise InputError(msg)
    if suffix == ".gpkg":
        refuse_pending_writes(p, shown)
    if suffix in MAPINFO_SUFFIXES:
        admit_mapinfo(p, shown)
    return p


#: The first bytes of a SQLite rollback journal that still has to be played back ("hot").
_HOT_JOURNAL = b"\xd9\xd5\x05\xf9\x20\xa1\x63\xd7"


def refuse_pending_writes(path: Path, shown: str | None = None) -> None:
    """Refuse a GeoPackage whose latest changes are not in the file itself yet.

    In WAL mode they wait in ``NAME-wal`` until the program editing the file closes it (or
    for ever, if it crashed). Reading such a file changes it: when GDAL closes a file it
    opened read-only, it opens it once more read-write to tidy the ``-wal`` file away, which
    writes the changes into the ``.gpkg`` (its bytes and time stamp). A ``NAME-journal``
    that is "hot" is a write that did not finish, which reading would roll back.
    """
    shown = shown or str(path)
    wal = path.with_name(path.name + "-wal")
    size = wal.stat().st_size if wal.is_file() else 0
    if size:
        msg = (
            f"{shown}: {wal.name} holds {size:,} bytes of changes not yet written into "
            f"{path.name}: a program (QGIS, QField...) has it open for editing, or stopped "
            f"while editing it. Reading it now would write them into {path.name}, and qzgeo "
            "never modifies its inputs. Finish the edit there (QGIS: save, stop editing and "
            "close the project), or copy the file together with its -wal file to another "
            "folder and give qzgeo the copy"
        )
        raise InputError(msg)
    journal = path.with_name(path.name + "-journal")
    refuse_special(journal)  # a pipe would block the read below
    with contextlib.suppress(OSError), journal.open("rb") as fh:
        if fh.read(len(_HOT_JOURNAL)) == _HOT_JOURNAL:
            msg = (
                f"{shown}: {journal.name} is the journal of a write to {path.name} that has "
                "not finished: a program is writing it, or stopped while writing it. Reading "
                f"it now would roll that write back inside {path.name}, and qzgeo never "
                "modifies its inputs. Let the program finish (or open the file once in QGIS, "
                "which completes the recovery), or copy the file together with its -journal "
                "file to another folder and give qzgeo the copy"
            )
            raise InputError(msg)


def admit_raster(path: str | os.PathLike[str]) -> Path:
    """Refuse a raster GDAL must not open: not a GeoTIFF, IMG, ASCII grid or SRTM tile, a VRT,
    a /vsi* or PREFIX: path (a ``.vrt`` DEM can name any file or URL), or one not UTF-8."""
    refuse_undecodable(path, what="raster")
    text = os.fspath(path)
    shown = repr(text) if any(ord(c) < 32 for c in text) else text
    if text.startswith("/vsi") or _PREFIX_RE.match(text):
        raise _refuse(shown, "a /vsi* or PREFIX: source is not accepted")
    p = Path(text)
    refuse_special(p, shown)
    if p.suffix.lower() not in RASTER_SUFFIXES:
        msg = (
            f"{shown}: the raster format {p.suffix.lower() or '(no extension)'!r} is not "
            "accepted; give a GeoTIFF (.tif), .img, .asc or an SRTM .hgt tile (driver "
            "allow-list: no VRT; "
            f"a mosaic: gdal_translate {shown} out.tif)"
        )
        raise InputError(msg)
    if p.is_file():
        with p.open("rb") as fh:
            head = fh.read(4096)
        if b"VRTDataset" in head or b"OGRVRTDataSource" in head:
            raise _refuse(shown, "the file is a GDAL virtual data source, which is not accepted")
    return p


def raster_drivers(path: Path) -> tuple[str, ...]:
    """The GDAL drivers to open ``path`` (let through by :func:`admit_raster`) with: only
    those of its suffix, e.g. ``rasterio.open(path, driver=name)`` for each in turn."""
    return RASTER_DRIVERS[path.suffix.lower()]


def admit_source(path: str | os.PathLike[str], *, layer: str | None = None) -> list[str]:
    """:func:`admit_path`, then the feature cap; return warnings (duplicate GeoJSON ids)."""
    p = admit_path(path)
    if p.is_dir() or p.suffix.lower() in _OWN_READERS:
        return []
    text = os.fspath(path)
    return _layer_checks(p, repr(text) if any(ord(c) < 32 for c in text) else text, layer)


_GEOJSON_SUFFIXES = frozenset({".geojson", ".json", ".geojsonl", ".geojsons", ".ndjson"})


def _layer_checks(p: Path, shown: str, layer: str | None) -> list[str]:
    """Feature cap of binary formats before reading; duplicate ids of GeoJSON.

    A GeoPackage over the cap by its stored count is counted again by SQLite (the count may
    be stale, too high): only its rows are refused, and the refusal says their number.

    Text formats are already bounded by their byte cap and counted after reading
    (:func:`check_vertices`): counting them here would parse them twice.
    """
    if p.suffix.lower() in _GEOJSON_SUFFIXES:
        refuse_json_nul(p, shown)
        return duplicate_ids(p, layer)
    if p.suffix.lower() == ".fgb":
        check_fgb_count(p)  # GDAL reads as many features as its header counts, no more
    caps = current_caps()
    try:
        st = p.stat()
        n, measured = _feature_count(str(p), layer, st.st_mtime_ns, st.st_size, st.st_ino)
    except Exception:
        return []
    what = "Measured (M) geometries: their M values are not used (2D; areas unchanged)"
    notes = [f"{shown}: {what}"] if measured else []
    if n > caps.max_features:
        with contextlib.suppress(Exception):  # a GeoPackage's stored count may be stale
            rows = table_rows(p, layer)
            n = n if rows is None else rows
    if n > caps.max_features:
        where = f"{shown} (layer {layer!r})" if layer else shown
        msg = (
            f"{where} has {n} features, over the cap of {caps.max_features} per layer; "
            "raise it with --max-features N if the data are what you expect"
        )
        raise InputError(msg)
    return notes


def check_vertices(gdf: gpd.GeoDataFrame, source: str) -> None:
    """Refuse a layer with a feature over the vertex cap, or over the feature cap."""
    caps = current_caps()
    if len(gdf) > caps.max_features:
        msg = (
            f"{source} has {len(gdf):,} features, over the cap of {caps.max_features} per "
            "layer; raise it with --max-features N if the data are what you expect"
        )
        raise InputError(msg)
    if gdf.empty:
        return
    counts = shapely.get_num_coordinates(np.asarray(gdf.geometry.values, dtype=object))
    worst = int(np.argmax(counts))
    if counts[worst] > caps.max_vertices:
        msg = (
            f"{source}: feature {gdf.index[worst]} has {int(counts[worst]):,} vertices, over "
            f"the cap of {caps.max_vertices} per feature; simplify it, or raise the cap "
            "with --max-vertices N"
        )
        raise InputError(msg)
