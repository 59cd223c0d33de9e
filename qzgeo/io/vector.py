"""Reading vector layers: one entry point, :func:`read_layer`, for every supported source.

Everything GDAL reads goes through pyogrio (Arrow where available); 界址点 ``.txt``, DXF,
GeoParquet and PostGIS URIs have their own readers. Readers never guess a CRS: a layer without
one needs ``crs=`` (the catalog's ``crs`` or ``--crs``). Writers live in :mod:`qzgeo.io.write`.
"""

from __future__ import annotations

import contextvars
import functools
import os
import re
import warnings as _warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio
import shapely
from pyproj import CRS

from qzgeo._errors import CRSError, InputError, MissingInputError, QzgeoError
from qzgeo.geo.crs import STORAGE_CRS
from qzgeo.io.arrow_ints import note_rounded_codes, read_dataframe
from qzgeo.io.csv_wkt import note_unparsed_wkt
from qzgeo.io.dxf import read_dxf
from qzgeo.io.fgb_count import arrow_safe
from qzgeo.io.geoparquet import read_geoparquet
from qzgeo.io.gpkg_count import one_row_per_fid, read_rows
from qzgeo.io.guard import (
    admit_source,
    check_vertices,
    ogr_layers,
    open_options,
    refuse_virtual,
    unreadable_geometry_type,
)
from qzgeo.io.input_checks import check_datum
from qzgeo.io.jzd_read import read_jzd
from qzgeo.io.kml_names import restore_kml_names
from qzgeo.io.layer_crs import check_layer_coordinates, from_gcj02, require_crs, settle_crs
from qzgeo.io.layer_info import default_layer, layer_form_hint
from qzgeo.io.mapinfo import MAPINFO_SUFFIXES, read_mapinfo
from qzgeo.io.paths import refuse_special
from qzgeo.io.postgis_read import KeyRange, read_postgis_layer
from qzgeo.io.postgis_uri import is_postgis_uri, redact_uri
from qzgeo.io.raw_wkb import raw_wkb_wanted, read_frame_keeping_wkb
from qzgeo.io.shapefile import (
    check_shapefile,
    cpg_label,
    cpg_mismatch,
    folder_shapefile,
    note_shapefile_read,
    shapefile_encoding,
)
from qzgeo.io.text_encoding import (
    dbf_text_message,
    gdal_said,
    not_utf8_message,
    require_utf8,
    xml_encoding_message,
)
from qzgeo.notices import Notice, Notices, attach_notices, notices_of

#: GDAL's advice to name a driver ("CSV:path"): qzgeo refuses such paths (io/guard), so the
#: hint would send users to a refusal.
_GDAL_PREFIX_HINT = re.compile(
    r"\s*It might help to specify the correct driver explicitly[^;]*?\.(?=;|$)"
)


def list_layers(path: str | os.PathLike[str]) -> list[str]:
    """Names of the layers in a vector data source (listed once per file version)."""
    try:
        st = Path(path).stat()
    except OSError:
        return list(_list_layers(str(path), 0, 0))
    return list(_list_layers(str(path), st.st_mtime_ns, st.st_size))


@functools.lru_cache(maxsize=64)
def _list_layers(path: str, mtime_ns: int, size: int) -> list[str]:
    try:
        return [name for name, _ in ogr_layers(path)]
    except pyogrio.errors.DataSourceError as exc:
        said = _GDAL_PREFIX_HINT.sub("", str(exc)).strip().rstrip(";. ")
        msg = f"cannot open {path}: {said}; the file may be corrupt or truncated"
        raise InputError(msg) from exc


#: Default size cap for text formats (GeoJSON, CSV, 界址点 txt, DXF...): parsing them needs
#: several times their size in memory. Override with ``max_bytes=``, ``QZGEO_MAX_BYTES`` or
#: ``--max-bytes``.
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
_JSON_SUFFIXES = (".geojson", ".json", ".geojsonl", ".geojsons", ".ndjson")
TEXT_SUFFIXES = frozenset((*_JSON_SUFFIXES, ".txt", ".csv", ".kml", ".gml", ".dxf"))
#: The exceptions pyogrio raises for unreadable or unwritable data.
PYOGRIO_ERRORS = (
    pyogrio.errors.DataSourceError,
    pyogrio.errors.DataLayerError,
    pyogrio.errors.FeatureError,
    pyogrio.errors.FieldError,
    pyogrio.errors.GeometryError,
    pyogrio.errors.CRSError,
)


def max_bytes_limit(max_bytes: int | None = None) -> int:
    """The size cap for text inputs: ``max_bytes``, else ``$QZGEO_MAX_BYTES``, else 512 MB."""
    if max_bytes is not None:
        return int(max_bytes)
    env = os.environ.get("QZGEO_MAX_BYTES")
    if env:
        try:
            return int(env)
        except ValueError:
            msg = f"QZGEO_MAX_BYTES must be a number of bytes, got {env!r}"
            raise InputError(msg) from None
    return DEFAULT_MAX_BYTES


def check_input_file(path: str | os.PathLike[str], *, max_bytes: int | None = None) -> Path:
    """Refuse missing, empty and oversized inputs before any parser sees them.

    Text formats (:data:`TEXT_SUFFIXES`) larger than :func:`max_bytes_limit` are refused with
    a message naming the size, the cap and how to raise it.
    """
    refuse_virtual(path)
    p = Path(path)
    if not p.exists():
        msg = f"{p} does not exist; {layer_form_hint(str(path)) or 'check the path'}"
        raise MissingInputError(msg)
    refuse_special(p)
    if p.is_dir():
        return p
    size = p.stat().st_size
    if size == 0:
        msg = f"{p} is empty (0 bytes); export it again"
        raise InputError(msg)
    cap = max_bytes_limit(max_bytes)
    if p.suffix.lower() in TEXT_SUFFIXES and size > cap:
        msg = (
            # in bytes, as --max-bytes takes them: in whole MB a low cap read "0 MB over 0 MB"
            f"{p} is {size:,} bytes ({size / 1e6:,.1f} MB), over the cap of {cap:,} bytes for "
            "text formats; convert it to GeoPackage or FlatGeobuf (ogr2ogr), or raise the cap "
            "(in bytes) with --max-bytes / QZGEO_MAX_BYTES / max_bytes="
        )
        raise InputError(msg)
    return p


@dataclass(frozen=True)
class ReadOptions:
    """How to read the user's files, shared by every command that reads them.

    The CLI builds one from its reading options (:mod:`qzgeo.cli.options`); ``kwargs()``
    gives the matching :func:`read_layer` keywords.
    """

    encoding: str | None = None
    swap_xy: bool | None = None
    max_bytes: int | None = None
    assume_datum_shift_negligible: bool = False
    towgs84: tuple[float, ...] | None = None

    def kwargs(self) -> dict[str, Any]:
        return {
            "encoding": self.encoding,
            "swap_xy": self.swap_xy,
            "max_bytes": self.max_bytes,
            "assume_datum_shift_negligible": self.assume_datum_shift_negligible,
            "towgs84": self.towgs84,
        }


def read_layer(
    source: str | os.PathLike[str],
    *,
    layer: str | None = None,
    crs: str | CRS | None = None,
    datum: str | None = None,
    encoding: str | None = None,
    max_bytes: int | None = None,
    swap_xy: bool | None = None,
    extent: tuple[float, float, float, float] | None = None,
    check_crs: bool = True,
    assume_datum_shift_negligible: bool = False,
    towgs84: tuple[float, ...] | None = None,
    crs_given_by: str | None = None,
) -> gpd.GeoDataFrame:
    """Read one vector layer; the index holds the source feature ids (FIDs).

    Parameters
    ----------
    source
        A file (GeoPackage, GeoJSON, Shapefile, FlatGeobuf, GeoParquet, 界址点 ``.txt``,
        DXF...) or a ``postgresql://`` URI. Files are opened read-only and never modified.
    layer, crs, crs_given_by
        Layer name in a multi-layer source; CRS of a source with none; who gave it (the notice
        when the file has another CRS; default ``--crs <crs>``).
    datum
        ``"gcj02"`` converts AMap-style GCJ-02 lon/lat to WGS84/CGCS2000 on load.
    encoding
        Text encoding of a Shapefile's DBF, a 界址点 or MapInfo file. Default: the ``.cpg``
        (``Charset``); else strict UTF-8, else GB18030 (GBK's superset); ``attrs["encoding"]``.
    max_bytes, swap_xy
        Size cap for text formats (default :data:`DEFAULT_MAX_BYTES`, ``$QZGEO_MAX_BYTES``);
        界址点 files only: force (``True``) or forbid (``False``) swapping the X/Y columns.
    extent, check_crs
        Extra lon/lat box accepted besides China (the pack extent); check that the
        coordinates fit the CRS (zone variant, swapped X/Y, inside China).
    assume_datum_shift_negligible, towgs84
        Xian 1980 / Beijing 1954 data are refused unless read as if CGCS2000 (a warning) or
        moved by 7 parameters (:func:`qzgeo.io.input_checks.check_datum`).

    Returns
    -------
    GeoDataFrame in the source's CRS (EPSG:4490 after a GCJ-02 or 7-parameter move). ``attrs``
    holds the reader's ``notices`` (see :func:`qzgeo.notices.notices_of`) and ``encoding``.

    Raises
    ------
    InputError
        Missing, empty, oversized, corrupt or truncated files; missing layers; a format GDAL
        may not open or data over the caps (:mod:`qzgeo.io.guard`).
    CRSError
        No CRS, coordinates that do not fit the declared CRS, or an old datum (Xian 1980,
        Beijing 1954) without ``assume_datum_shift_negligible``.
    """
    src = str(source)
    if is_postgis_uri(src):
        gdf = read_postgis_layer(src, crs=crs, features=_FEATURES.get())
        notes, encoding_used = notices_of(gdf).with_source(src), None
    else:
        path = check_input_file(src, max_bytes=max_bytes)
        layer = default_layer(path, layer)  # several layers with geometry: never a guess
        admitted = admit_source(src, layer=layer)  # driver allow-list, caps (qzgeo.io.guard)
        gdf = _read_file(path, layer=layer, crs=crs, encoding=encoding, swap_xy=swap_xy)
        notes = notices_of(gdf)
        notes.extend(Notice(m, source=src) for m in admitted)
        encoding_used = gdf.attrs.get("encoding")
        gdf = require_crs(_require_geometry(gdf, path), crs, path)
    check_vertices(gdf, redact_uri(src))
    given_by = crs_given_by or f"--crs {crs}"
    gdf = settle_crs(gdf, crs, src, notes, given_by=given_by, swap_xy=swap_xy)
    gdf = check_datum(gdf, src, notes, assumed=assume_datum_shift_negligible, towgs84=towgs84)
    if check_crs:
        chunked = _FEATURES.get() is not None  # a chunk's sample is smaller
        check_layer_coordinates(gdf, redact_uri(src), crs, extent=extent, chunk=chunked)
    if datum == "gcj02":
        gdf = from_gcj02(gdf, src)
    attach_notices(gdf, notes)
    if encoding_used is not None:
        gdf.attrs["encoding"] = encoding_used
    return gdf


#: ``(skip, filter or key range; count)`` of a read in progress (:func:`read_layer_features`).
Features = tuple[int | str | KeyRange, int]
_FEATURES: contextvars.ContextVar[Features | None] = contextvars.ContextVar(
    "qzgeo_read_features", default=None
)


def read_layer_features(
    source: str | os.PathLike[str], features: Features, **kwargs: Any
) -> gpd.GeoDataFrame:
    """:func:`read_layer` of some features only: a chunk of a big GDAL file or PostGIS table.

    ``features`` is ``(skip, count)``: ``count`` features after the first ``skip``; ``skip``
    may instead be an attribute filter such as ``'"fid" > 250000'`` (on a GeoPackage's primary
    key GDAL seeks, while skipping by position re-reads the skipped features), or a PostGIS
    table's :class:`~qzgeo.io.postgis_read.KeyRange`. Every check of read_layer applies.
    """
    token = _FEATURES.set(features)
    try:
        return read_layer(source, **kwargs)
    finally:
        _FEATURES.reset(token)


def _read_file(
    path: Path,
    *,
    layer: str | None,
    crs: str | CRS | None,
    encoding: str | None,
    swap_xy: bool | None,
) -> gpd.GeoDataFrame:
    """Read a checked input file with the reader its extension calls for."""
    suffix = path.suffix.lower()
    if suffix == ".txt":
        return read_jzd(path, encoding=encoding, swap_xy=swap_xy, crs=crs)
    if suffix == ".dxf":
        return read_dxf(path, crs=None, encoding=encoding)
    if suffix in (".parquet", ".geoparquet"):
        return read_geoparquet(path)
    if suffix in MAPINFO_SUFFIXES:
        return read_mapinfo(path, layer=layer, encoding=encoding, read=_read_ogr)
    shp = folder_shapefile(path, layer)  # read as the file: its .cpg, encoding, checks
    return _read_ogr(shp or path, layer=None if shp else layer, encoding=encoding)


def _require_geometry(gdf: Any, path: Path) -> gpd.GeoDataFrame:
    """``gdf`` if it is a layer with geometry; a table without (a CSV of attributes) is refused."""
    if not isinstance(gdf, gpd.GeoDataFrame):
        msg = (
            f"{path}: has no geometry column (columns: {', '.join(map(str, gdf.columns))}); "
            "give a vector layer (GeoPackage, Shapefile, GeoJSON, 界址点 .txt) or a CSV "
            "with a WKT column"
        )
        # QGIS's attribute table export names its WKT column wkt_geom, others geometry or
        # SHAPE: GDAL takes geometry from a column named WKT only.
        firsts = {str(c): gdf[c].dropna() for c in gdf.columns}
        wkt = [c for c, v in firsts.items() if len(v) and _WKT_RE.match(str(v.iloc[0]))]
        if wkt:
            msg += f" (GDAL reads geometry only from a column named WKT: rename {wkt[0]!r} to WKT)"
        elif {"X", "Y"} <= {str(c).strip().upper().removesuffix("坐标") for c in gdf.columns}:
            msg += "; boundary points (点号, X, Y) go in a 界址点坐标 .txt, its format in README"
        raise InputError(msg)
    return gdf


_WKT_RE = re.compile(r"\s*(MULTI)?(POLYGON|LINESTRING|POINT|SURFACE|CURVEPOLYGON)\s*[ZM(]", re.I)


def _read_ogr(path: Path, *, layer: str | None, encoding: str | None) -> gpd.GeoDataFrame:
    if layer is not None:
        names = _layer_names(path)
        if names is not None and layer not in names:
            msg = f"{path} has no layer {layer!r}; it has: {', '.join(names) or '(none)'}"
            raise InputError(msg)
    notes = Notices()
    if path.suffix.lower() == ".shp":
        check_shapefile(path)
        if encoding is None:
            encoding, note = shapefile_encoding(path)
            if note:
                notes.add(
                    note + "; pass --encoding if names look wrong", kind="note", source=path.name
                )
    try:
        try:
            gdf = _pyogrio_read(path, layer, encoding, "raise")
        except shapely.errors.GEOSException:
            # Typically rings that do not close (GDAL accepts them, GEOS does not): close them
            # and name the features that needed it.
            bad = _pyogrio_read(path, layer, encoding, "warn").geometry.isna()
            gdf = _pyogrio_read(path, layer, encoding, "fix")
            fixed = gdf.index[bad.to_numpy() & gdf.geometry.notna().to_numpy()]
            for fid in fixed.tolist():
                notes.add(
                    f"{path.name}: feature {fid} had invalid rings (e.g. not closed); GEOS "
                    "fixed them on read (closed the rings)",
                    kind="repair",
                    source=path.name,
                    feature=fid,
                )
        gdf = one_row_per_fid(gdf, path, layer, notes, whole=_FEATURES.get() is None)
        if encoding is None and path.suffix.lower() == ".shp":
            encoding = cpg_label(path) or str(pyogrio.read_info(path)["encoding"])
        if path.suffix.lower() == ".shp":
            note_shapefile_read(gdf, path, notes)
        note_unparsed_wkt(gdf, path, notes)
        note_rounded_codes(gdf, path, notes)
        if gdf.attrs.pop("arcs", False):
            notes.add(
                f"{path.name}: the layer holds curves (arcs); read as straight segments, one "
                f"every {arc_step_degrees()}° of arc (at 0.5°, a circle's area comes out "
                "0.0013 % small; OGR_ARC_STEPSIZE sets it)",
                source=path.name,
            )
    except UnicodeDecodeError as exc:
        if path.suffix.lower() != ".shp":
            raise InputError(not_utf8_message(path, exc.encoding, exc.reason)) from exc
        msg = dbf_text_message(path, exc.encoding, exc.reason, exc.start)
        cpg = cpg_mismatch(path, encoding)
        raise InputError(msg if cpg is None else f"{msg}; {cpg}") from exc
    except (*PYOGRIO_ERRORS, RuntimeError, shapely.errors.GEOSException) as exc:
        error = unreadable_geometry_type(path, exc)
        if error is not None:
            raise error from exc
        cpg = cpg_mismatch(path, encoding) if "not encoded in UTF-8" in str(exc) else None
        said = _GDAL_PREFIX_HINT.sub("", gdal_said(exc)).strip().rstrip(";. ")
        msg = f"cannot read {path}: {cpg or f'{said}; the file may be corrupt or truncated'}"
        if "unknown encoding" in said and path.suffix.lower() in (".kml", ".gml"):
            msg = xml_encoding_message(path) or msg
        if isinstance(exc, pyogrio.errors.CRSError):  # not the data: the CRS they declare
            prj = "its .prj" if path.suffix.lower() == ".shp" else "the CRS it declares"
            msg = (
                f"cannot read {path}: {prj} cannot be understood ({said}); replace it with a "
                "valid one, or remove it and pass --crs"
            )
        if path.is_dir():
            msg = (
                f"cannot read {path}: a folder, and GDAL finds no layer in it; give the file "
                "itself (a .shp, .gpkg, .geojson, .kml or 界址点 .txt)"
            )
        raise InputError(msg) from exc
    gdf = restore_kml_names(gdf, path, notes)
    attach_notices(gdf, notes)
    if encoding is not None:
        gdf.attrs["encoding"] = encoding
    return gdf


def _layer_names(path: Path) -> list[str] | None:
    """The layers of ``path``; None if pyogrio cannot list them for another layer's type.

    One layer declared "Geometry Z" stops pyogrio from listing any: a named layer of another
    type still reads, and reading the named one says what is wrong with it.
    """
    try:
        return list_layers(path)
    except InputError as exc:
        if isinstance(exc.__cause__, pyogrio.errors.GeometryError):
            return None
        raise


def _pyogrio_read(
    path: Path, layer: str | None, encoding: str | None, on_invalid: str
) -> gpd.GeoDataFrame:
    skip, count = _FEATURES.get() or (0, None)
    where = skip if isinstance(skip, str) else None
    skip = 0 if isinstance(skip, str) else skip
    with _warnings.catch_warnings():
        # GDAL's "Non closed ring detected" etc.: handled and reported by the caller.
        _warnings.simplefilter("ignore")
        kwargs = {
            "layer": layer,
            "fid_as_index": True,
            "encoding": encoding,
            "on_invalid": on_invalid,
            "skip_features": skip,
            "max_features": count,
            "where": where,
            **open_options(path),
        }
        try:
            arrow = arrow_safe(path)
            if arrow and on_invalid == "raise" and raw_wkb_wanted():  # the chunks of analyze
                keep = {k: v for k, v in kwargs.items() if k not in ("fid_as_index", "on_invalid")}
                return require_utf8(read_frame_keeping_wkb(path, keep))
            return require_utf8(read_dataframe(path, use_arrow=arrow, **kwargs))
        except UnicodeDecodeError:
            raise  # a ValueError too, but not one the row-by-row path would read better
        except OSError as exc:  # qzgeo's own, or the system's (an errno): as they are
            if isinstance(exc, QzgeoError) or exc.errno is not None:
                raise
            # Arrow's bare "Unexpected I/O failure": GDAL stopped inside the file (a FlatGeobuf
            # whose header counts more features than it holds); the caller names the file
            msg = f"{exc} (its header or index does not match its features; export it again)"
            raise pyogrio.errors.DataSourceError(msg) from exc
        except ValueError:
            # pyogrio's Arrow path fails on GeoJSON whose features have an "id" property
            # (the FID column appears twice); the row-by-row path reads them.
            return read_rows(path, **kwargs)
        except NotImplementedError:
            # Curves (arcs of ArcGIS or CAD parcels: CurvePolygon, MultiSurface), which shapely
            # cannot hold: the row-by-row path has GDAL turn them into straight segments, one
            # every ARC_STEP_DEGREES of arc (set below), and the caller says so.
            gdf = read_rows(path, **kwargs)
            gdf.attrs["arcs"] = True
            return gdf


#: Degrees of arc per straight segment when GDAL turns curves into lines (its default, 4°,
#: makes a circle 0.08 % too small; 0.5° makes it 0.0013 % too small), unless the user set
#: ``OGR_ARC_STEPSIZE`` (which the pack cache's key holds, as every ``OGR_*`` setting).
ARC_STEP_DEGREES = 0.5
if "OGR_ARC_STEPSIZE" not in os.environ:
    pyogrio.set_gdal_config_options({"OGR_ARC_STEPSIZE": str(ARC_STEP_DEGREES)})


def arc_step_degrees() -> str:
    """The degrees of arc per segment GDAL uses for curves here: the user's or qzgeo's."""
    return os.environ.get("OGR_ARC_STEPSIZE", str(ARC_STEP_DEGREES))


def to_storage(gdf: gpd.GeoDataFrame, *, crs: str = STORAGE_CRS) -> gpd.GeoDataFrame:
    """Reproject to the storage CRS (EPSG:4490 unless the pack says otherwise)."""
    if gdf.crs is None:
        msg = "the layer has no CRS; use set_crs() or declare `crs` in the catalog"
        raise CRSError(msg)
    return gdf.to_crs(crs)
