"""One GeoPackage layer written from a stream of frames, in one GDAL call.

Appending chunk after chunk to a GeoPackage layer (one ``write_dataframe(append=True)`` per
chunk) makes GDAL insert every row into the R-tree one by one: 1M parcels in 4 appends took
5.7 s against 3.6 s in one call, and 2.8 s without the index. Here the frames become Arrow
record batches of one ``RecordBatchReader`` that GDAL pulls while it writes: one layer
creation, one transaction, the spatial index built once at the end, and only the batch in hand
in memory.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyogrio
import shapely

from qzgeo._errors import OutputError
from qzgeo.io.atomic import EarlyFlush, atomic_path
from qzgeo.io.gpkg_rtree import LeafPack, rtree_writable, write_rtree
from qzgeo.io.raw_wkb import MULTI_OF_ONE, RawWKB, wkb_column
from qzgeo.io.vector import PYOGRIO_ERRORS
from qzgeo.io.write import GPKG_DATASET_OPTIONS, pin_gpkg_timestamps

__all__ = ["arrow_batch", "multi_wkb", "write_gpkg_stream"]

_GEOM = "geom"


def arrow_batch(
    gdf: gpd.GeoDataFrame, *, declared: Sequence[tuple[str, str]] = (), raw: RawWKB | None = None
) -> pa.Table:
    """``gdf`` as an Arrow table for GDAL: polygons promoted to MultiPolygon, 2D WKB geometry.

    ``raw``: the WKB ``gdf``'s features were read with; untouched geometries are written with
    those bytes instead of being encoded again (:func:`qzgeo.io.raw_wkb.wkb_column`).

    ``declared`` (see :func:`qzgeo.io.layer_info.declared_fields`): the source's field types.
    A column declared as integers is written as integers even where a null made pandas read
    it as floats; an all-empty column (Arrow's null type, which GDAL lacks) takes its
    declared type (boolean, date...), else becomes text.
    """
    types = dict(declared)
    df = pd.DataFrame({c: gdf[c] for c in gdf.columns if c != gdf.geometry.name})
    for c, dtype in types.items():
        if dtype.startswith(("int", "uint")) and c in df.columns and df[c].dtype.kind == "f":
            with contextlib.suppress(TypeError, ValueError):  # not integral: keep the floats
                df[c] = df[c].astype("Int64")
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    if raw is None:
        df[_GEOM] = multi_wkb(geoms)
    else:  # the column as Arrow: no Python bytes to convert
        df[_GEOM] = pd.arrays.ArrowExtensionArray(wkb_column(geoms, gdf.index, raw, multi_wkb))
    table = pa.Table.from_pandas(df, preserve_index=False)
    for i, f in enumerate(table.schema):
        if pa.types.is_null(f.type):
            t = _arrow_type(types.get(f.name))
            table = table.set_column(i, f.with_type(t), table[i].cast(t))
    return table.replace_schema_metadata(None)


def _arrow_type(dtype: str | None) -> pa.DataType:
    """The Arrow type of a declared numpy dtype name (integers as int64); text if none."""
    if dtype is None:
        return pa.string()
    if dtype.startswith(("int", "uint")):
        return pa.int64()
    try:
        return pa.from_numpy_dtype(np.dtype(dtype))
    except (TypeError, pa.ArrowNotImplementedError):
        return pa.string()


def multi_wkb(geoms: np.ndarray) -> np.ndarray:
    """Little-endian WKB of ``geoms`` with every 2D Polygon written as a MultiPolygon of one.

    A MultiPolygon of one part is its Polygon's WKB behind a 9-byte header, so the promotion
    is a byte prefix: 6x cheaper than building the multipolygons in GEOS and encoding them.

    Examples
    --------
    >>> from shapely import box, from_wkb
    >>> from_wkb(multi_wkb(np.array([box(0, 0, 1, 1)]))[0]).geom_type
    'MultiPolygon'
    """
    wkb = shapely.to_wkb(geoms, byte_order=1, output_dimension=2)
    simple = shapely.get_type_id(geoms) == shapely.GeometryType.POLYGON
    out = wkb.copy()
    out[simple] = [MULTI_OF_ONE + w for w in wkb[simple]]
    return out


def write_gpkg_stream(
    path: str | os.PathLike[str],
    layer: str,
    tables: Iterable[pa.Table],
    *,
    crs: Any,
    geometry_type: str = "MultiPolygon",
    leaves: Callable[[], Sequence[LeafPack]] | None = None,
    meanwhile: Callable[[Path], object] | None = None,
    rows: int | None = None,
) -> tuple[Path, int]:
    """Write Arrow ``tables`` (of :func:`arrow_batch`) as one layer of a new GeoPackage.

    Atomic, like every qzgeo writer; returns the path and the number of rows. Every table is
    cast to the first one's schema. An exception raised while the tables are made ends the
    stream and is raised again here, unchanged, after GDAL has let go of the file (which is
    removed); without a single row the layer is written empty, with its CRS.

    ``leaves``: called once the tables are written, the rows' boxes packed into leaves, one
    :class:`~qzgeo.io.gpkg_rtree.LeafPack` per table with rows, in order: the spatial index is
    then written from them (:func:`qzgeo.io.gpkg_rtree.write_rtree`) instead of by GDAL.
    ``meanwhile``: called once the rows are written (not without rows) with the path they
    are in (the temporary file, committed), in a thread while the index is written (a reader
    of that file must wait for the index's lock: SQLite with a busy timeout, not GDAL); its
    error is raised here, and the file is not kept.
    ``rows``: how many rows the tables hold in all, if the caller knows (a file's feature
    count); they choose the page size (:data:`BIG_PAGE_ROWS`), else the first table's rows do.
    """
    pin_gpkg_timestamps()
    source = _Batches(iter(tables))
    first = source.first()
    with atomic_path(path) as tmp:
        if first is None:
            if source.error is not None:
                raise source.error
            empty = gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=crs))
            pyogrio.write_dataframe(
                empty, tmp, layer=layer, driver="GPKG", dataset_options=GPKG_DATASET_OPTIONS
            )
            return Path(path), 0
        flush = EarlyFlush(tmp)
        try:
            own_index = leaves is not None and rtree_writable()
            big = (first.num_rows if rows is None else rows) >= BIG_PAGE_ROWS
            _write_layer(tmp, layer, source, first, crs=crs, geometry_type=geometry_type,
                         index=not own_index, shown=path, big=big)  # fmt: skip
            if own_index and leaves is not None:
                flush.kick()  # GDAL's pages go to disk while the index is made
                with _alongside(None if meanwhile is None else functools.partial(meanwhile, tmp)):
                    _index(tmp, layer, leaves(), crs=crs, geometry_type=geometry_type)
            elif meanwhile is not None:
                meanwhile(tmp)
        finally:
            flush.close()
    return Path(path), source.rows


@contextlib.contextmanager
def _alongside(task: Callable[[], object] | None) -> Iterator[None]:
    """Run ``task`` in a thread while the body runs (SQLite lets go of the GIL); wait for it
    at the end, and raise its error if the body raised none."""
    if task is None:
        yield
        return
    failed: list[BaseException] = []

    def run() -> None:
        try:
            task()
        except BaseException as exc:
            failed.append(exc)

    thread = threading.Thread(target=run, name="qzgeo-meanwhile")
    thread.start()
    try:
        yield
    finally:
        thread.join()
    if failed:
        raise failed[0]


def _write_layer(
    tmp: Path,
    layer: str,
    source: _Batches,
    first: pa.Table,
    *,
    crs: Any,
    geometry_type: str,
    index: bool,
    shown: str | os.PathLike[str],
    big: bool = False,
) -> None:
    """GDAL writes the stream of ``source`` (from its table ``first``) as ``layer``, with its
    spatial index if ``index``, in pages of :data:`STREAM_PAGE_BYTES` if ``big``."""
    reader = pa.RecordBatchReader.from_batches(first.schema, source.started(first))
    try:
        with page_size(STREAM_PAGE_BYTES if big else None):
            pyogrio.write_arrow(
                reader, tmp, layer=layer, driver="GPKG", geometry_name=_GEOM,
                geometry_type=geometry_type, crs=_crs_text(crs),
                dataset_options=GPKG_DATASET_OPTIONS,
                layer_options={"SPATIAL_INDEX": "YES" if index else "NO", "GEOMETRY_NAME": _GEOM},
            )  # fmt: skip
    except PYOGRIO_ERRORS as exc:
        if source.error is not None:
            raise source.error from None
        msg = f"cannot write {shown} ({exc}); is the disk full or the folder read-only?"
        raise OutputError(msg) from exc
    except RuntimeError:  # pyogrio's "error while accessing batch from stream"
        if source.error is not None:
            raise source.error from None
        raise
    if source.error is not None:  # the stream ended early: do not keep a partial file
        raise source.error


#: SQLite's page size for a big layer (SQLite's default is 4 KiB). A million parcels are
#: ~230 MB: with 4 KiB pages GDAL's SQLite wrote and linked 56 000 pages, with 32 KiB pages
#: 7 000, and the write took ~0.2 CPU-s less of ~1.7 (benchmarks/README_e2e.md, round 12).
#: Reading the whole layer is faster too, 2 km boxes as fast (3.1 / 3.4 / 3.1 ms with 4 /
#: 32 / 64 KiB pages); 32 KiB reads fewer bytes per box than 64 where pages are cold.
STREAM_PAGE_BYTES = 32_768
#: Rows from which a layer gets :data:`STREAM_PAGE_BYTES` pages. Every
#: table of a GeoPackage takes a page at least: 10 rows made a 688 KB file with 32 KiB pages
#: against 98 KB with SQLite's; from 50 000 rows (~11 MB) that is a few per cent.
BIG_PAGE_ROWS = 50_000


@contextlib.contextmanager
def page_size(size: int | None) -> Iterator[None]:
    """GeoPackages that GDAL creates inside have SQLite pages of ``size`` bytes (``None``:
    as they would).

    GDAL runs ``OGR_SQLITE_PRAGMA`` on every SQLite file it opens; ``page_size`` takes effect
    in a new, empty one only (the others, e.g. the parcels read meanwhile, keep theirs). A
    value the user set is kept, after this one.
    """
    if size is None:
        yield
        return
    key = "OGR_SQLITE_PRAGMA"
    before = pyogrio.get_gdal_config_option(key)
    pragma = f"page_size={size}" + (f",{before}" if before else "")
    pyogrio.set_gdal_config_options({key: pragma})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({key: before})


def _index(
    path: Path, layer: str, packs: Sequence[LeafPack], *, crs: Any, geometry_type: str
) -> None:
    """The spatial index of ``layer`` from ``packs``, with the schema GDAL gives one: read
    from a one-row GeoPackage GDAL writes here with its own index."""
    with tempfile.TemporaryDirectory(prefix="qzgeo-rtree-") as folder:
        reference = Path(folder) / "reference.gpkg"
        one = gpd.GeoDataFrame(geometry=gpd.GeoSeries([shapely.box(0, 0, 1, 1)], crs=crs))
        pyogrio.write_dataframe(
            one, reference, layer=layer, driver="GPKG", geometry_type=geometry_type,
            dataset_options=GPKG_DATASET_OPTIONS,
            layer_options={"SPATIAL_INDEX": "YES", "GEOMETRY_NAME": _GEOM},
        )  # fmt: skip
        try:
            write_rtree(path, layer, _GEOM, packs, reference=reference)
        except (OSError, sqlite3.OperationalError) as exc:  # full, read-only, locked
            msg = f"cannot write the spatial index of {layer} ({exc}); is the disk full?"
            raise OutputError(msg) from exc
        except sqlite3.Error as exc:  # a constraint broken: a bug here, not the user's
            msg = f"cannot write the spatial index of {layer} ({exc}); please report this"
            raise OutputError(msg) from exc


class _Batches:
    """The tables as record batches of one schema; remembers an error instead of raising it.

    Raising inside the stream would reach GDAL as a bare "stream error" and lose the message
    (and the exit code) of a qzgeo error; the writer raises :attr:`error` itself instead.
    """

    def __init__(self, tables: Iterator[pa.Table]) -> None:
        self.tables = tables
        self.error: BaseException | None = None
        self.rows = 0

    def first(self) -> pa.Table | None:
        try:
            for table in self.tables:
                if table is not None and table.num_rows:
                    return table
        except BaseException as exc:
            self.error = exc
        return None

    def started(self, first: pa.Table) -> Iterator[pa.RecordBatch]:
        """:meth:`batches`, started here rather than by GDAL.

        A Ctrl-C (or SIGTERM) is raised where Python code next runs; in a generator, that
        may be its first line, before any ``try`` in it. Raised there inside GDAL's call,
        it would end the stream as a bare "stream error" (a RuntimeError traceback, the
        interrupt lost). Started here, it is raised here; every later resumption of the
        generator is inside its ``try``, where it is kept in :attr:`error`.
        """
        batches = self.batches(first)
        head = next(batches, None)
        return batches if head is None else itertools.chain([head], batches)

    def batches(self, first: pa.Table) -> Iterator[pa.RecordBatch]:
        try:
            self.rows += first.num_rows
            yield from first.to_batches()
            for table in self.tables:
                if table is None or not table.num_rows:
                    continue
                self.rows += table.num_rows
                yield from _cast(table, first.schema).to_batches()
        except BaseException as exc:
            self.error = exc


def _cast(table: pa.Table, schema: pa.Schema) -> pa.Table:
    if table.schema.equals(schema):
        return table
    try:
        return table.select(schema.names).cast(schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError, KeyError, ValueError) as exc:
        msg = (
            f"a later chunk of parcels does not fit the columns of the first ({exc}); "
            "analyze the file without chunks, or give its columns one type"
        )
        raise OutputError(msg) from exc


def _crs_text(crs: Any) -> str | None:
    if crs is None:
        return None
    from pyproj import CRS

    c = CRS.from_user_input(crs)
    epsg = c.to_epsg()
    return f"EPSG:{epsg}" if epsg else c.to_wkt("WKT1_GDAL")
