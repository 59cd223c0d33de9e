"""Reading and writing vector layers.

Everything goes through pyogrio (Arrow where available). Readers never guess a CRS: a layer
without one needs ``crs=`` (the catalog's ``crs`` or ``--crs``). Writers are atomic and
deterministic, so a re-run gives byte-identical files.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import struct
import tempfile
import warnings as _warnings
from collections.abc import Iterator, Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from qzgeo._errors import CRSError, InputError, OutputError
from qzgeo.geo.crs import (
    STORAGE_CRS,
    check_coordinates,
    geoms_gcj02_to_wgs84,
    resolve_crs,
    sample_coordinates,
)
from qzgeo.io.atomic import atomic_path, write_with

log = logging.getLogger(__name__)

# GeoPackages record a "last change" timestamp; pinning it keeps rebuilds byte-identical.
_FIXED_DATE = "2000-01-01T00:00:00.000Z"


def sha256_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes (for manifests and the never-modify-inputs check)."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def list_layers(path: str | os.PathLike[str]) -> list[str]:
    """Names of the layers in a vector data source."""
    try:
        return [str(name) for name, _ in pyogrio.list_layers(path)]
    except pyogrio.errors.DataSourceError as exc:
        msg = f"cannot open {path}: {exc}"
        raise InputError(msg) from exc


#: Default size cap for text formats (GeoJSON, CSV, 界址点 txt, DXF...): parsing them needs
#: several times their size in memory. Override with ``max_bytes=``, ``QZGEO_MAX_BYTES`` or
#: ``--max-bytes``.
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
TEXT_SUFFIXES = frozenset(
    {
        ".geojson",
        ".json",
        ".geojsonl",
        ".geojsons",
        ".ndjson",
        ".txt",
        ".csv",
        ".kml",
        ".gml",
        ".dxf",
    }
)
_PYOGRIO_ERRORS = (
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
    p = Path(path)
    if not p.exists():
        msg = f"{p} does not exist; check the path"
        raise InputError(msg)
    if p.is_dir():
        return p
    size = p.stat().st_size
    if size == 0:
        msg = f"{p} is empty (0 bytes); export it again"
        raise InputError(msg)
    cap = max_bytes_limit(max_bytes)
    if p.suffix.lower() in TEXT_SUFFIXES and size > cap:
        msg = (
            f"{p} is {size / 1e6:,.0f} MB, over the {cap / 1e6:,.0f} MB cap for text formats; "
            "convert it to GeoPackage or FlatGeobuf (ogr2ogr), or raise the cap with "
            "--max-bytes / QZGEO_MAX_BYTES / max_bytes="
        )
        raise InputError(msg)
    return p


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
) -> gpd.GeoDataFrame:
    """Read one vector layer; the index holds the source feature ids (FIDs).

    Parameters
    ----------
    source
        A file (GeoPackage, GeoJSON, Shapefile, FlatGeobuf, GeoParquet, 界址点 ``.txt``,
        DXF...) or a ``postgresql://`` URI. Files are opened read-only and never modified.
    layer
        Layer name inside a multi-layer source.
    crs
        CRS to assume when the source has none. A source with a CRS keeps its own.
    datum
        ``"gcj02"`` converts AMap-style GCJ-02 lon/lat to WGS84/CGCS2000 on load.
    encoding
        Text encoding of a Shapefile's DBF or a 界址点 file. Default: the ``.cpg`` file; else
        strict UTF-8, else GB18030 (a GBK superset), recorded in ``attrs["encoding"]``.
    max_bytes
        Size cap for text formats (default :data:`DEFAULT_MAX_BYTES` or ``$QZGEO_MAX_BYTES``).
    swap_xy
        界址点 files only: force (``True``) or forbid (``False``) swapping the X/Y columns.
    extent
        Extra lon/lat box accepted by the location check besides China (the pack extent).
    check_crs
        Check that the coordinates fit the CRS (zone variant, swapped X/Y, inside China).

    Returns
    -------
    GeoDataFrame in the source's CRS (or EPSG:4490 after a GCJ-02 conversion). ``attrs``
    holds ``warnings`` (a list of messages, also logged) and, where it applies, ``encoding``.

    Raises
    ------
    InputError
        Missing, empty, oversized, corrupt or truncated files; missing layers.
    CRSError
        No CRS, or coordinates that do not fit the declared CRS.
    """
    src = str(source)
    warnings: list[str] = []
    encoding_used: str | None = None
    if src.startswith(("postgresql://", "postgres://", "postgresql+")):
        from qzgeo.io.postgis import read_postgis_layer

        gdf = read_postgis_layer(src, crs=str(crs) if crs is not None else None)
    else:
        path = check_input_file(src, max_bytes=max_bytes)
        suffix = path.suffix.lower()
        if suffix == ".txt":
            from qzgeo.io.jzd import read_jzd

            gdf = read_jzd(path, encoding=encoding, swap_xy=swap_xy, crs=crs)
        elif suffix == ".dxf":
            from qzgeo.io.dxf import read_dxf

            gdf = read_dxf(path, crs=None)
        elif suffix in (".parquet", ".geoparquet"):
            gdf = _read_parquet(path)
        else:
            gdf = _read_ogr(path, layer=layer, encoding=encoding)
        warnings.extend(gdf.attrs.get("warnings", []))
        encoding_used = gdf.attrs.get("encoding")
        if gdf.crs is None:
            if crs is None:
                msg = (
                    f'{path} has no CRS; declare it with `crs = "EPSG:4524"` (for example) '
                    "in the catalog or pass --crs. qzgeo never guesses a CRS."
                )
                raise CRSError(msg)
            gdf = gdf.set_crs(crs)
    resolved = resolve_crs(gdf.crs)
    if resolved != gdf.crs:
        gdf = gdf.set_crs(resolved, allow_override=True)
    if check_crs:
        check_coordinates(
            sample_coordinates(gdf.geometry.values), gdf.crs, source=src, extent=extent
        )
    if datum == "gcj02":
        if not gdf.crs.is_geographic:
            msg = f"{src}: datum 'gcj02' applies to lon/lat data, but its CRS is {gdf.crs.name}"
            raise CRSError(msg)
        gdf = gdf.set_geometry(geoms_gcj02_to_wgs84(gdf.geometry.values), crs=STORAGE_CRS)
    gdf.attrs["warnings"] = warnings
    if encoding_used is not None:
        gdf.attrs["encoding"] = encoding_used
    return gdf


def _read_ogr(path: Path, *, layer: str | None, encoding: str | None) -> gpd.GeoDataFrame:
    if layer is not None:
        names = list_layers(path)
        if layer not in names:
            msg = f"{path} has no layer {layer!r}; it has: {', '.join(names) or '(none)'}"
            raise InputError(msg)
    warnings: list[str] = []
    if path.suffix.lower() == ".shp":
        _check_shapefile(path)
        if encoding is None:
            encoding, note = _shapefile_encoding(path)
            if note:
                warnings.append(note)
                log.info("%s", note)
    try:
        try:
            gdf = _pyogrio_read(path, layer, encoding, "raise")
        except shapely.errors.GEOSException:
            # Typically rings that do not close (GDAL accepts them, GEOS does not): close them
            # and name the features that needed it.
            bad = _pyogrio_read(path, layer, encoding, "warn").geometry.isna()
            gdf = _pyogrio_read(path, layer, encoding, "fix")
            fids = [str(i) for i in gdf.index[bad.to_numpy() & gdf.geometry.notna().to_numpy()]]
            note = (
                f"{path.name}: feature(s) {', '.join(fids[:20])}{' ...' if len(fids) > 20 else ''} "
                "had invalid rings (e.g. not closed); GEOS fixed them on read (closed the rings)"
            )
            warnings.append(note)
            log.info("%s", note)
        if encoding is None and path.suffix.lower() == ".shp":
            encoding = str(pyogrio.read_info(path)["encoding"])
    except (
        *_PYOGRIO_ERRORS,
        RuntimeError,
        UnicodeDecodeError,
        shapely.errors.GEOSException,
    ) as exc:
        msg = f"cannot read {path}: {exc}; the file may be corrupt or truncated"
        raise InputError(msg) from exc
    gdf.attrs["warnings"] = warnings
    if encoding is not None:
        gdf.attrs["encoding"] = encoding
    return gdf


def _pyogrio_read(
    path: Path, layer: str | None, encoding: str | None, on_invalid: str
) -> gpd.GeoDataFrame:
    with _warnings.catch_warnings():
        # GDAL's "Non closed ring detected" etc.: handled and reported by the caller.
        _warnings.simplefilter("ignore")
        try:
            return pyogrio.read_dataframe(
                path,
                layer=layer,
                use_arrow=True,
                fid_as_index=True,
                encoding=encoding,
                on_invalid=on_invalid,
            )
        except ValueError:
            # pyogrio's Arrow path fails on GeoJSON whose features have an "id" property
            # (the FID column appears twice); the row-by-row path reads them.
            return pyogrio.read_dataframe(
                path,
                layer=layer,
                use_arrow=False,
                fid_as_index=True,
                encoding=encoding,
                on_invalid=on_invalid,
            )


def _read_parquet(path: Path) -> gpd.GeoDataFrame:
    try:
        return gpd.read_parquet(path)
    except (OSError, ValueError, TypeError) as exc:
        msg = f"cannot read {path} as GeoParquet: {exc}"
        raise InputError(msg) from exc


# --- Shapefiles ---------------------------------------------------------------------------


def _sidecar(path: Path, ext: str) -> Path | None:
    for cand in (path.with_suffix(ext), path.with_suffix(ext.upper())):
        if cand.exists():
            return cand
    return None


def _check_shapefile(path: Path) -> None:
    """Refuse truncated .shp/.shx/.dbf files (GDAL would silently read fewer features)."""
    for ext in (".shp", ".shx"):
        part = path if ext == ".shp" else _sidecar(path, ext)
        if part is None:
            msg = f"{path}: the {ext} file is missing; copy all the shapefile's files together"
            raise InputError(msg)
        size = part.stat().st_size
        with part.open("rb") as fh:
            head = fh.read(100)
        if len(head) < 100 or struct.unpack(">i", head[:4])[0] != 9994:
            msg = f"{part} is not a shapefile (bad or truncated header); export it again"
            raise InputError(msg)
        declared = struct.unpack(">i", head[24:28])[0] * 2
        if size < declared:
            msg = (
                f"{part} is truncated: its header says {declared} bytes, the file has {size}; "
                "copy or export it again"
            )
            raise InputError(msg)
    dbf = _sidecar(path, ".dbf")
    if dbf is None:
        msg = f"{path}: the .dbf file is missing; copy all the shapefile's files together"
        raise InputError(msg)
    n_records, header_len, record_len = _dbf_header(dbf)
    if dbf.stat().st_size < header_len + n_records * record_len:
        msg = (
            f"{dbf} is truncated: {n_records} records need {header_len + n_records * record_len} "
            f"bytes, the file has {dbf.stat().st_size}; copy or export it again"
        )
        raise InputError(msg)


def _dbf_header(dbf: Path) -> tuple[int, int, int]:
    with dbf.open("rb") as fh:
        head = fh.read(32)
    if len(head) < 32:
        msg = f"{dbf} is truncated (no complete header)"
        raise InputError(msg)
    n_records, header_len, record_len = struct.unpack("<IHH", head[4:12])
    return n_records, header_len, record_len


def _dbf_text_chunks(dbf: Path, *, chunk_records: int = 4096) -> Iterator[bytes]:
    """The raw bytes of the DBF's field names and character fields, in chunks."""
    n_records, header_len, record_len = _dbf_header(dbf)
    with dbf.open("rb") as fh:
        header = fh.read(header_len)
        fields: list[tuple[int, int]] = []
        names: list[bytes] = []
        offset = 1  # deletion flag
        for k in range(32, len(header) - 1, 32):
            desc = header[k : k + 32]
            if desc[:1] == b"\r" or len(desc) < 32:
                break
            names.append(desc[:11].split(b"\0", 1)[0])
            length = desc[16]
            if desc[11:12] == b"C":
                length = desc[16] + 256 * desc[17]  # FoxPro-style long character fields
                fields.append((offset, length))
            offset += length
        yield b"\n".join(names)
        remaining = n_records
        while remaining > 0:
            n = min(chunk_records, remaining)
            block = fh.read(n * record_len)
            remaining -= n
            yield b"\n".join(
                block[r * record_len + o : r * record_len + o + ln]
                for r in range(len(block) // record_len)
                for o, ln in fields
            )


def _shapefile_encoding(path: Path) -> tuple[str | None, str | None]:
    """Encoding of a shapefile's DBF and a note for the user (None: GDAL knows, from .cpg)."""
    if _sidecar(path, ".cpg") is not None:
        return None, None
    dbf = _sidecar(path, ".dbf")
    assert dbf is not None  # _check_shapefile ran first
    for enc in ("utf-8", "gb18030"):
        try:
            for chunk in _dbf_text_chunks(dbf):
                chunk.decode(enc)
        except UnicodeDecodeError:
            continue
        label = "UTF-8" if enc == "utf-8" else "GB18030"
        note = f"{path.name}: no .cpg file; the attribute text decodes as {label}, read as {label}"
        if enc == "utf-8":
            log.info("%s", note)
            return label, None
        return label, note
    msg = (
        f"{path}: no .cpg file and the attribute text is neither UTF-8 nor GBK; pass the "
        "encoding (encoding=... / --encoding, e.g. big5) or add a .cpg file"
    )
    raise InputError(msg)


def to_storage(gdf: gpd.GeoDataFrame, *, crs: str = STORAGE_CRS) -> gpd.GeoDataFrame:
    """Reproject to the storage CRS (EPSG:4490 unless the pack says otherwise)."""
    if gdf.crs is None:
        msg = "the layer has no CRS; use set_crs() or declare `crs` in the catalog"
        raise CRSError(msg)
    return gdf.to_crs(crs)


def write_gpkg(
    path: str | os.PathLike[str], layers: Mapping[str, gpd.GeoDataFrame | pd.DataFrame]
) -> Path:
    """Write several layers into one new GeoPackage, atomically and reproducibly.

    The file is always rebuilt from scratch: re-runs replace the GeoPackage, they never append
    layers to an old one. A plain DataFrame becomes an attribute table.
    """
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": _FIXED_DATE})
    with atomic_path(path) as tmp:
        for name, gdf in layers.items():
            pyogrio.write_dataframe(
                gdf,
                tmp,
                layer=name,
                driver="GPKG",
                append=tmp.exists(),
                layer_options={"SPATIAL_INDEX": "YES"},
            )
    return Path(path)


# --- Writing one layer, format by extension -----------------------------------------------

#: Output formats by file extension.
WRITE_FORMATS = {
    ".gpkg": "GPKG",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".fgb": "FlatGeobuf",
    ".shp": "ESRI Shapefile",
    ".parquet": "GeoParquet",
    ".txt": "界址点",
}
_DBF_NAME_BYTES = 10
_DBF_TEXT_BYTES = 254
_SHP_SIDECARS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".fix")


def write_layer(
    gdf: gpd.GeoDataFrame,
    path: str | os.PathLike[str],
    *,
    layer: str | None = None,
    zone: int | None = None,
    prefix: bool = True,
) -> Path:
    """Write one layer to ``path``, the format chosen by the extension (see :data:`WRITE_FORMATS`).

    Writes are atomic (a temporary file beside the target, then a rename; for Shapefiles each
    of the .shp/.shx/.dbf/.prj/.cpg files is replaced in turn) and reproducible. The index is
    not written. Shapefiles are written in UTF-8 with a ``.cpg``; field names over the 10-byte
    DBF limit and text over 254 bytes are refused instead of being cut. ``zone`` and ``prefix``
    apply to 界址点 ``.txt`` output (see :func:`qzgeo.io.jzd.write_jzd`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from shapely import box
    >>> g = gpd.GeoDataFrame({"名称": ["甲"]}, geometry=[box(108.6, 21.7, 108.61, 21.71)],
    ...                      crs="EPSG:4490")
    >>> out = write_layer(g, pathlib.Path(tempfile.mkdtemp()) / "a.fgb")
    >>> read_layer(out)["名称"].tolist()
    ['甲']
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in WRITE_FORMATS:
        msg = (
            f"cannot write {target.name}: unknown extension; use one of {', '.join(WRITE_FORMATS)}"
        )
        raise OutputError(msg)
    data = gdf.reset_index(drop=True)
    try:
        return _write_by_suffix(data, target, suffix, layer or target.stem, zone, prefix)
    except _PYOGRIO_ERRORS as exc:
        msg = f"could not write {target}: {exc}; the previous file is unchanged"
        raise OutputError(msg) from exc


def _write_by_suffix(
    data: gpd.GeoDataFrame, target: Path, suffix: str, name: str, zone: int | None, prefix: bool
) -> Path:
    if suffix == ".gpkg":
        return write_gpkg(target, {name: data})
    if suffix == ".txt":
        from qzgeo.io.jzd import write_jzd

        return write_jzd(data, target, zone=zone, prefix=prefix)
    if suffix == ".shp":
        return _write_shapefile(data, target)
    if suffix == ".parquet":
        return write_with(target, lambda tmp: data.to_parquet(tmp))
    driver = WRITE_FORMATS[suffix]
    return write_with(
        target,
        lambda tmp: pyogrio.write_dataframe(data, tmp, layer=name, driver=driver),
    )


def _write_shapefile(gdf: gpd.GeoDataFrame, target: Path) -> Path:
    encoding = "UTF-8"
    columns = [str(c) for c in gdf.columns if c != gdf.geometry.name]
    long_names = [c for c in columns if len(c.encode(encoding)) > _DBF_NAME_BYTES]
    if long_names:
        listed = ", ".join(f"{c!r} ({len(c.encode(encoding))} bytes)" for c in long_names)
        msg = (
            f"cannot write {target.name}: field names longer than the 10-byte DBF limit in "
            f"{encoding}: {listed}. Shapefiles would cut them; rename the columns or write a "
            "GeoPackage (.gpkg) instead"
        )
        raise OutputError(msg)
    for c in columns:
        col = gdf[c]
        if col.dtype == object or pd.api.types.is_string_dtype(col):
            sizes = col.dropna().map(lambda v: len(str(v).encode(encoding)))
            if len(sizes) and sizes.max() > _DBF_TEXT_BYTES:
                msg = (
                    f"cannot write {target.name}: column {c!r} holds text of {sizes.max()} bytes, "
                    "over the 254-byte DBF limit; write a GeoPackage (.gpkg) instead"
                )
                raise OutputError(msg)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmpdir = Path(tempfile.mkdtemp(prefix=f".{target.stem}.", dir=target.parent))
    try:
        pyogrio.write_dataframe(
            gdf,
            tmpdir / target.name,
            driver="ESRI Shapefile",
            encoding=encoding,
            layer_options={"DBF_DATE_LAST_UPDATE": "2000-01-01"},
        )
        written = {p.suffix.lower(): p for p in tmpdir.iterdir()}
        for p in written.values():
            with p.open("rb") as fh:
                os.fsync(fh.fileno())
        # Stale indexes of an old file would describe the wrong geometries: remove them.
        for ext in _SHP_SIDECARS:
            if ext not in written:
                with contextlib.suppress(FileNotFoundError):
                    target.with_suffix(ext).unlink()
        for ext in sorted(written, key=lambda e: e == ".shp"):  # the .shp last
            os.replace(written[ext], target.with_suffix(ext))
    except OSError as exc:
        msg = f"could not write {target}: {exc.strerror or exc}; the previous file is unchanged"
        raise OutputError(msg) from exc
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return target
