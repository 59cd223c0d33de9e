"""qzgeo.io.raw_wkb: the bytes a feature was read with are written back only where they are
exactly what encoding its geometry again would write.

The oracle is :func:`qzgeo.io.write_stream.multi_wkb` (the encoder used without raw WKB) and
``pyogrio.read_dataframe`` (the frame read without keeping the WKB).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyogrio
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from qzgeo.io.raw_wkb import RawWKB, keep_raw_wkb, read_frame_keeping_wkb, wkb_column
from qzgeo.io.write_stream import arrow_batch, multi_wkb

CRS = "EPSG:4524"
X0, Y0 = 36_564_000.0, 2_399_000.0

SQUARE = shapely.box(X0, Y0, X0 + 10.0, Y0 + 10.0)
HOLED = shapely.Polygon(
    [(X0, Y0), (X0 + 9, Y0), (X0 + 9, Y0 + 9), (X0, Y0 + 9)],
    [[(X0 + 1, Y0 + 1), (X0 + 2, Y0 + 1), (X0 + 2, Y0 + 2), (X0 + 1, Y0 + 2)]],
)
TWO = shapely.MultiPolygon([SQUARE, shapely.affinity.translate(SQUARE, 30.0)])


def _le(g: shapely.Geometry) -> bytes:
    return bytes(shapely.to_wkb(g, byte_order=1, output_dimension=2))


def _cases() -> list[bytes | None]:
    """Canonical and non-canonical WKB of the same kinds of parcels."""
    return [
        _le(SQUARE),
        _le(HOLED),
        _le(shapely.MultiPolygon([HOLED])),
        _le(TWO),  # several parts: encoded again
        bytes(shapely.to_wkb(SQUARE, byte_order=0)),  # big-endian
        bytes(shapely.to_wkb(shapely.force_3d(SQUARE), byte_order=1)),  # Z
        bytes(
            shapely.to_wkb(shapely.set_srid(SQUARE, 4524), byte_order=1, include_srid=True)
        ),  # EWKB with an SRID
        bytes(shapely.to_wkb(shapely.Polygon(), byte_order=1)),  # empty
        None,
    ]


def _raw(wkbs: list[bytes | None], fids: list[int] | None = None) -> RawWKB:
    """A read's :class:`RawWKB`, as the reader makes it (a GeoPackage of ``wkbs``)."""
    from qzgeo.io.raw_wkb import _raw as make

    arr = pa.array(wkbs, type=pa.binary())
    geoms = shapely.from_wkb(np.array(wkbs, dtype=object))
    index = pd.Index(fids if fids is not None else range(1, len(wkbs) + 1))
    return make(index, np.asarray(geoms, dtype=object), arr)


def test_only_canonical_bytes_are_reused() -> None:
    wkbs = _cases()
    raw = _raw(wkbs)
    assert raw.reusable.tolist() == [True, True, True] + [False] * 6
    assert raw.polygon.tolist()[:3] == [True, True, False]
    for w, g, ok in zip(wkbs, raw.geoms, raw.reusable, strict=True):
        if ok:
            assert w == _le(g)


def test_trailing_bytes_are_not_reused() -> None:
    """A WKB followed by junk that the parser may ignore: its length gives it away."""
    w = _le(SQUARE)
    raw = _raw([w])
    from qzgeo.io.raw_wkb import _raw as make

    padded = make(raw.fids, raw.geoms, pa.array([w + b"\x00" * 8], type=pa.binary()))
    assert raw.reusable.tolist() == [True] and padded.reusable.tolist() == [False]


@pytest.mark.parametrize("kind", ["untouched", "repaired", "dropped", "reordered", "sliced"])
def test_column_is_what_encoding_writes(kind: str) -> None:
    wkbs = _cases()[:5] * 3
    raw = _raw(wkbs)
    geoms, index = raw.geoms.copy(), raw.fids
    if kind == "repaired":  # new objects with the same shapes, and a changed one
        geoms[[0, 4, 7]] = [shapely.Polygon(SQUARE.exterior), HOLED, TWO]
    elif kind == "dropped":
        geoms, index = geoms[::2], index[::2]
    elif kind == "reordered":
        geoms, index = geoms[::-1], index[::-1]
    elif kind == "sliced":  # rows that were never read are encoded
        geoms, index = np.append(geoms[3:7], SQUARE), index[3:7].append(pd.Index([99]))
    got = wkb_column(geoms, index, raw, multi_wkb)
    assert got.type == pa.binary()
    assert got.to_pylist() == [bytes(b) for b in multi_wkb(geoms)]


def test_arrow_batch_with_and_without_raw_is_the_same_table() -> None:
    raw = _raw([_le(SQUARE), _le(shapely.MultiPolygon([HOLED])), _le(TWO)])
    gdf = gpd.GeoDataFrame(
        {"a": [1, 2, 3], "s": ["x", None, "水"]}, geometry=list(raw.geoms), crs=CRS
    )
    gdf.index = raw.fids
    assert arrow_batch(gdf, raw=raw).equals(arrow_batch(gdf), check_metadata=True)


def _layer(tmp_path: Path, **columns: object) -> Path:
    x = X0 + 20.0 * np.arange(5)
    geoms = list(shapely.box(x, Y0, x + 10.0, Y0 + 10.0))
    geoms[1] = shapely.MultiPolygon([geoms[1]])
    gdf = gpd.GeoDataFrame(
        {"pid": np.arange(5), "name": ["a", None, "地块", "b", "c"], **columns},
        geometry=geoms,
        crs=CRS,
    )
    path = tmp_path / "p.gpkg"
    gdf.to_file(path, layer="p", driver="GPKG")
    return path


@pytest.mark.parametrize(
    ("columns", "kept"),
    [
        ({"v": [1.5, None, 2.0, 3.0, 4.0], "ok": [True, False, True, None, False]}, True),
        ({"day": [dt.date(2024, 1, d) for d in range(1, 6)]}, True),
        ({"at": pd.to_datetime(["2024-01-01 10:00"] * 5)}, False),  # pyogrio parses these
    ],
)
def test_frame_is_read_dataframe_s(tmp_path: Path, columns: dict[str, object], kept: bool) -> None:
    path = _layer(tmp_path, **columns)
    kw = {"layer": "p", "encoding": None, "skip_features": 1, "max_features": 3, "where": None}
    want = pyogrio.read_dataframe(path, use_arrow=True, fid_as_index=True, **kw)
    with keep_raw_wkb() as raws:
        got = read_frame_keeping_wkb(path, kw)
    assert_geodataframe_equal(got, want, check_dtype=True, check_index_type=True)
    assert got.columns.tolist() == want.columns.tolist() and got.crs == want.crs
    assert len(raws) == int(kept)
    if kept:
        raw = raws[0]
        assert raw.fids.tolist() == got.index.tolist() and raw.reusable.all()
        assert all(a is b for a, b in zip(raw.geoms, got.geometry.values, strict=True))


def test_nothing_is_kept_outside_keep_raw_wkb(tmp_path: Path) -> None:
    path = _layer(tmp_path)
    kw = {"layer": "p", "encoding": None, "skip_features": 0, "max_features": None}
    want = pyogrio.read_dataframe(path, use_arrow=True, fid_as_index=True, **kw)
    assert_geodataframe_equal(read_frame_keeping_wkb(path, kw), want)
