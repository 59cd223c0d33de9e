"""The WKB each feature was read with, kept to write untouched geometries back as they came.

``parcels.gpkg`` holds the parcels' own geometries. Encoding them again (``shapely.to_wkb``)
and turning a million Python ``bytes`` into an Arrow column cost ~0.7 CPU-s per million
parcels, for bytes the reader already had. Within :func:`keep_raw_wkb`, a GDAL file read
through Arrow (:func:`read_frame_keeping_wkb`) leaves its WKB column beside the frame; the
writer (:func:`wkb_column`) reuses a feature's bytes only if its geometry is still the very
object parsed from them (any repair, flattening or transform makes a new one) and the bytes are
exactly what ``to_wkb`` would write (little-endian 2D Polygon or MultiPolygon of one part, no
trailing bytes); every other feature is encoded as before. The output is byte-identical.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyogrio
import shapely

from qzgeo.io.arrow_ints import ARROW_TO_PANDAS, plain_integers, read_dataframe
from qzgeo.io.guard import open_options

__all__ = ["RawWKB", "keep_raw_wkb", "raw_wkb_wanted", "read_frame_keeping_wkb", "wkb_column"]


@dataclass(frozen=True)
class RawWKB:
    """One read's WKB: ``wkb[i]`` was parsed into ``geoms[i]``, the feature ``fids[i]``."""

    fids: pd.Index
    geoms: npt.NDArray[np.object_]
    wkb: pa.BinaryArray
    reusable: npt.NDArray[np.bool_]  # the bytes are what to_wkb(little-endian, 2D) writes
    polygon: npt.NDArray[np.bool_]  # a Polygon (written as a MultiPolygon of one part)


_SINK: contextvars.ContextVar[list[RawWKB] | None] = contextvars.ContextVar(
    "qzgeo_raw_wkb", default=None
)


@contextlib.contextmanager
def keep_raw_wkb() -> Iterator[list[RawWKB]]:
    """Collect the :class:`RawWKB` of the reads made inside (the list yielded)."""
    kept: list[RawWKB] = []
    token = _SINK.set(kept)
    try:
        yield kept
    finally:
        _SINK.reset(token)


def raw_wkb_wanted() -> bool:
    """Whether a :func:`keep_raw_wkb` is collecting the reads."""
    return _SINK.get() is not None


def read_frame_keeping_wkb(path: Path, kwargs: dict[str, Any]) -> gpd.GeoDataFrame:
    """``pyogrio.read_dataframe(path, use_arrow=True, fid_as_index=True, **kwargs)``, the same
    frame, with the WKB column kept in the :func:`keep_raw_wkb` collecting.

    Fields pyogrio parses after reading (date-times, JSON) are left to it: such a layer is
    read by ``read_dataframe`` itself, and keeps no WKB.
    """
    sink = _SINK.get()
    plain = sink is not None and _plain_fields(str(path), kwargs.get("layer"))
    if not plain:
        return read_dataframe(path, use_arrow=True, fid_as_index=True, **kwargs)
    meta, table = pyogrio.read_arrow(path, return_fids=True, datetime_as_string=True, **kwargs)
    name = meta["geometry_name"] or "wkb_geometry"
    if name not in table.column_names:
        return read_dataframe(path, use_arrow=True, fid_as_index=True, **kwargs)
    wkb = table.column(name).combine_chunks()
    if isinstance(wkb, pa.ExtensionArray):
        wkb = wkb.storage
    try:
        df = plain_integers(
            table.drop_columns([name]).to_pandas(self_destruct=True, **ARROW_TO_PANDAS)
        )
    except UnicodeDecodeError as ex:  # as pyogrio says it
        msg = "The file being read is not encoded in UTF-8; please use_arrow=False"
        raise pyogrio.errors.DataSourceError(msg) from ex
    del table
    df = df.set_index(meta["fid_column"])
    df.index.names = ["fid"]
    geoms = shapely.from_wkb(wkb.to_numpy(zero_copy_only=False), on_invalid="raise")
    df["geometry"] = geoms
    if sink is not None and wkb.type == pa.binary() and df.index.is_unique:
        sink.append(_raw(df.index, np.asarray(geoms, dtype=object), wkb))
    return gpd.GeoDataFrame(df, geometry="geometry", crs=meta["crs"])


def _plain_fields(path: str, layer: str | None) -> bool:
    """No field pyogrio's ``read_dataframe`` parses after reading (date-times, JSON)."""
    st = Path(path).stat()
    return _plain_fields_of(path, layer, st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=16)
def _plain_fields_of(path: str, layer: str | None, mtime_ns: int, size: int) -> bool:
    """:func:`_plain_fields` once per file version (each chunk of a file asks)."""
    info = pyogrio.read_info(path, layer=layer, **open_options(path))
    dated = any(str(d).startswith("datetime") and str(d) != "datetime64[D]" for d in info["dtypes"])
    return not dated and "OFSTJSON" not in list(info.get("ogr_subtypes") or [])


#: Bytes looked at: a MultiPolygon header (9), its Polygon's header (9) and ring count (4).
_HEADER = 22


def _raw(fids: pd.Index, geoms: npt.NDArray[np.object_], wkb: pa.BinaryArray) -> RawWKB:
    """The :class:`RawWKB` of a read, each feature's bytes checked against what
    ``to_wkb(byte_order=1, output_dimension=2)`` would write for its geometry.

    A Polygon: header ``01 03000000``, ring count ``r``, ``9 + 4r + 16c`` bytes for its ``c``
    coordinates; a MultiPolygon of one part: ``01 06000000 01000000`` then that Polygon. The
    length check leaves no room for trailing bytes or a second part; anything else
    (big-endian, Z/M or ISO/EWKB codes, curves, several parts, nulls, empty) is encoded again.
    """
    n = len(wkb)
    offsets = np.frombuffer(wkb.buffers()[1], dtype=np.int32)[wkb.offset : wkb.offset + n + 1]
    lengths = np.diff(offsets).astype(np.int64)
    # shorter than a Polygon with one ring of 4 points: empty, or not worth the look
    ok = np.asarray(wkb.is_valid(), dtype=bool) & (lengths >= _HEADER)
    polygon = np.zeros(n, dtype=bool)
    multi = np.zeros(n, dtype=bool)
    if ok.any():
        data = np.frombuffer(wkb.buffers()[2], dtype=np.uint8)
        # every 4 bytes from each byte on, as a little-endian count (unaligned view, no copy)
        words = np.ndarray((len(data) - 3,), dtype="<u4", buffer=data, strides=(1,))
        at = offsets[:-1][ok].astype(np.int64)

        def u32(k: int) -> npt.NDArray[np.int64]:
            return words[at + k].astype(np.int64)

        size, coords = lengths[ok], shapely.get_num_coordinates(geoms[ok]).astype(np.int64)
        little = data[at] == 1
        polygon[ok] = little & (u32(1) == 3) & (size == 9 + 4 * u32(5) + 16 * coords)
        part = little & (u32(1) == 6) & (u32(5) == 1) & (data[at + 9] == 1) & (u32(10) == 3)
        multi[ok] = part & (size == 18 + 4 * u32(14) + 16 * coords)
    return RawWKB(fids, geoms, wkb, polygon | multi, polygon)


#: A little-endian 2D MultiPolygon of one part, before that part's Polygon WKB.
MULTI_OF_ONE = b"\x01" + (6).to_bytes(4, "little") + (1).to_bytes(4, "little")


#: Encodes geometries as :func:`wkb_column` writes them (an object array of WKB bytes).
Encoder = Callable[[npt.NDArray[np.object_]], npt.NDArray[np.object_]]


def wkb_column(
    geoms: npt.NDArray[np.object_], index: pd.Index, raw: RawWKB, encode: Encoder
) -> pa.Array:
    """The output WKB of ``geoms`` (rows ``index``): the read bytes of every untouched
    geometry (Polygons behind :data:`MULTI_OF_ONE`), ``encode(geoms)`` (an object array of
    WKB) for the others."""
    pos = raw.fids.get_indexer(index)
    same = pos >= 0
    picked = np.where(same, pos, 0)
    same &= raw.reusable[picked]
    # identity, not equality: a geometry repaired, flattened or moved is a new object
    same &= np.fromiter(map(operator.is_, geoms, raw.geoms[picked]), bool, count=len(geoms))
    if not same.all():
        return _mixed(geoms, raw, pos, same, encode)
    plain = len(pos) == len(raw.fids) and bool((pos == np.arange(len(pos))).all())
    wkb = raw.wkb if plain else raw.wkb.take(pa.array(pos))
    poly = raw.polygon[pos]
    if not poly.any():
        return wkb
    multi = pc.binary_replace_slice(wkb, start=0, stop=0, replacement=MULTI_OF_ONE)
    return multi if poly.all() else pc.if_else(pa.array(poly), multi, wkb)


def _mixed(
    geoms: npt.NDArray[np.object_],
    raw: RawWKB,
    pos: npt.NDArray[np.intp],
    same: npt.NDArray[np.bool_],
    encode: Encoder,
) -> pa.Array:
    """:func:`wkb_column` where some geometries are encoded again: both parts, in row order."""
    kept = np.flatnonzero(same)
    reused = wkb_column(geoms[kept], raw.fids[pos[kept]], raw, encode)
    fresh = pa.array(encode(geoms[~same]), type=pa.binary())
    order = np.empty(len(geoms), dtype=np.int64)
    order[kept] = np.arange(len(kept))
    order[~same] = len(kept) + np.arange(len(fresh))
    return pa.concat_arrays([reused, fresh]).take(pa.array(order))
