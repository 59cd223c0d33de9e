"""qzgeo.io.write_stream: one GeoPackage layer from a stream of Arrow tables (an outsider's view).

The oracle is what pyogrio reads back from the written file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyogrio
import pytest
import shapely

from qzgeo._errors import OutputError
from qzgeo.io.write_stream import STREAM_PAGE_BYTES as STREAM_PAGE
from qzgeo.io.write_stream import arrow_batch, multi_wkb, write_gpkg_stream

CRS = "EPSG:4524"
X0, Y0 = 36_564_000.0, 2_399_000.0


def frame(n: int, start: int = 0, **columns: object) -> gpd.GeoDataFrame:
    """``n`` 10 m squares in a row (pid ``start``..), with the given columns."""
    x = X0 + 20.0 * np.arange(start, start + n)
    geoms = shapely.box(x, Y0, x + 10.0, Y0 + 10.0)
    data = {"pid": np.arange(start, start + n, dtype=np.int64), **columns}
    return gpd.GeoDataFrame(data, geometry=list(geoms), crs=CRS)


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_later_chunks_of_other_types_are_cast_to_the_first(tmp_path: Path) -> None:
    """int64 then float64 with NaN; text all null in the first chunk, then text: all kept."""
    first = frame(3, 0, a=np.array([1, 2, 3], dtype=np.int64), b=[None, None, None])
    second = frame(2, 3, a=np.array([4.0, np.nan]), b=["x", "水"])
    third = frame(1, 5, a=np.array([np.nan]), b=[None])
    target = tmp_path / "out.gpkg"
    tables = [arrow_batch(f) for f in (first, second, third)]
    assert pa.types.is_null(pa.Table.from_pandas(first[["b"]]).schema.field("b").type)
    path, rows = write_gpkg_stream(target, "parcels", iter(tables), crs=CRS)
    assert path == target and rows == 6
    info = pyogrio.read_info(target, layer="parcels")
    assert info["geometry_type"] == "MultiPolygon" and info["features"] == 6
    assert dict(zip(info["fields"], info["dtypes"], strict=True))["a"] == "int64"
    back = pyogrio.read_dataframe(target, layer="parcels")
    assert back["pid"].tolist() == list(range(6))
    a = back["a"].to_numpy(dtype=float)
    np.testing.assert_array_equal(a[:4], [1, 2, 3, 4])
    assert np.isnan(a[4:]).all()
    assert back["b"].tolist()[:3] == [None, None, None] or back["b"].isna()[:3].all()
    assert back["b"].tolist()[3:5] == ["x", "水"] and pd.isna(back["b"].iloc[5])
    want = shapely.multipolygons([[g] for g in pd.concat([first, second, third]).geometry])
    got = np.asarray(back.geometry.values, dtype=object)
    assert shapely.equals_exact(got, want, tolerance=0).all()
    assert listing(tmp_path) == ["out.gpkg"]


def test_a_later_chunk_that_cannot_be_cast_is_an_output_error(tmp_path: Path) -> None:
    """A fractional float after an integer column cannot be cast: a qzgeo error, no file."""
    tables = [
        arrow_batch(frame(2, 0, a=np.array([1, 2], dtype=np.int64))),
        arrow_batch(frame(1, 2, a=np.array([2.5]))),
    ]
    with pytest.raises(OutputError, match="does not fit the columns of the first"):
        write_gpkg_stream(tmp_path / "out.gpkg", "parcels", iter(tables), crs=CRS)
    assert listing(tmp_path) == []


class BoomError(RuntimeError):
    """An error of the caller's own, raised while the tables are made."""


def _failing(at: int, exc: BaseException) -> Iterator[pa.Table]:
    for k in range(3):
        if k == at:
            raise exc
        yield arrow_batch(frame(1000, 1000 * k, c=np.full(1000, k)))


@pytest.mark.parametrize("at", [0, 1, 2])
def test_an_error_mid_stream_is_raised_unchanged_and_leaves_no_file(
    tmp_path: Path, at: int
) -> None:
    target = tmp_path / "out.gpkg"
    exc = BoomError(f"chunk {at} failed: 地块 7")
    with pytest.raises(BoomError) as got:
        write_gpkg_stream(target, "parcels", _failing(at, exc), crs=CRS)
    assert got.value is exc and str(got.value) == f"chunk {at} failed: 地块 7"
    assert listing(tmp_path) == []


def test_an_error_mid_stream_keeps_the_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "out.gpkg"
    write_gpkg_stream(target, "parcels", iter([arrow_batch(frame(2))]), crs=CRS)
    before = target.read_bytes()
    with pytest.raises(KeyboardInterrupt):
        write_gpkg_stream(target, "parcels", _failing(1, KeyboardInterrupt()), crs=CRS)
    assert target.read_bytes() == before and listing(tmp_path) == ["out.gpkg"]


def test_no_rows_writes_an_empty_layer_with_its_crs(tmp_path: Path) -> None:
    target = tmp_path / "out.gpkg"
    path, rows = write_gpkg_stream(target, "parcels", iter([None, None]), crs=CRS)
    assert rows == 0
    info = pyogrio.read_info(path, layer="parcels")
    assert info["features"] == 0 and info["crs"] == CRS


def test_multi_wkb_promotes_polygons_only() -> None:
    poly = shapely.Polygon(
        [(0, 0), (4, 0), (4, 3), (0, 0)], [[(1, 0.5), (3, 0.5), (3, 1), (1, 0.5)]]
    )
    multi = shapely.MultiPolygon([poly, shapely.box(10, 10, 11, 11)])
    poly3d = shapely.Polygon([(0, 0, 5), (1, 0, 6), (1, 1, 7), (0, 0, 5)])
    empty = shapely.Polygon()
    geoms = np.array([poly, multi, poly3d, empty, None], dtype=object)
    out = multi_wkb(geoms)
    back = shapely.from_wkb(out)
    assert shapely.equals_exact(back[0], shapely.MultiPolygon([poly]), tolerance=0)
    assert out[1] == shapely.to_wkb(multi, byte_order=1)
    assert shapely.equals_exact(back[1], multi, tolerance=0)
    flat = shapely.MultiPolygon([shapely.force_2d(poly3d)])
    assert not shapely.has_z(back[2]) and shapely.equals_exact(back[2], flat, tolerance=0)
    assert back[3].geom_type == "MultiPolygon" and back[3].is_empty
    assert out[4] is None and back[4] is None
    assert all(w[0] == 1 for w in out[:4])  # little-endian


class _InterruptedAfterOneBatch:
    """A first table whose batches stop with Ctrl-C after the first one: a KeyboardInterrupt
    raised where the stream resumes after handing GDAL its first batch (where a real Ctrl-C
    lands while GDAL writes that batch)."""

    def __init__(self, table: pa.Table) -> None:
        self.table, self.schema, self.num_rows = table, table.schema, table.num_rows

    def to_batches(self) -> Iterator[pa.RecordBatch]:
        yield self.table.to_batches()[0]
        raise KeyboardInterrupt


def test_ctrl_c_after_the_first_batch_is_a_keyboard_interrupt(tmp_path: Path) -> None:
    """Not pyogrio's "Error while accessing batch from stream" RuntimeError (a traceback in
    the terminal after Ctrl-C); no file left."""
    target = tmp_path / "out.gpkg"
    first = _InterruptedAfterOneBatch(arrow_batch(frame(5)))
    with pytest.raises(KeyboardInterrupt):
        write_gpkg_stream(target, "parcels", iter([first]), crs=CRS)  # type: ignore[list-item]
    assert listing(tmp_path) == []


class _InterruptedAsTheStreamStarts(_InterruptedAfterOneBatch):
    """Ctrl-C landing as the stream starts (its second look at ``num_rows``)."""

    def __init__(self, table: pa.Table) -> None:
        super().__init__(table)
        self.looks = 0

    @property  # type: ignore[override]
    def num_rows(self) -> int:
        self.looks += 1
        if self.looks > 1:
            raise KeyboardInterrupt
        return int(self.table.num_rows)

    @num_rows.setter
    def num_rows(self, value: int) -> None:
        pass


def test_ctrl_c_as_the_stream_starts_is_a_keyboard_interrupt(tmp_path: Path) -> None:
    target = tmp_path / "out.gpkg"
    first = _InterruptedAsTheStreamStarts(arrow_batch(frame(5)))
    with pytest.raises(KeyboardInterrupt):
        write_gpkg_stream(target, "parcels", iter([first]), crs=CRS)  # type: ignore[list-item]
    assert listing(tmp_path) == []


def _gpkg_version(path: Path) -> int:
    import sqlite3

    with contextlib.closing(sqlite3.connect(path)) as con:
        return int(con.execute("PRAGMA user_version").fetchone()[0])


@pytest.mark.parametrize("rows", [0, 3])
def test_every_geopackage_is_version_1_2(tmp_path: Path, rows: int) -> None:
    # GeoPackage 1.4 (GDAL 3.9+'s default) made QGIS 3.22's GDAL warn on every layer opened;
    # 1.2 is read everywhere. The header's user_version is MMmmPP (10200 = 1.2.0).
    from qzgeo.io.write import write_gpkg

    frame = gpd.GeoDataFrame(
        {"n": range(rows)}, geometry=[shapely.box(i, 0, i + 1, 1) for i in range(rows)],
        crs="EPSG:4545",
    )  # fmt: skip
    streamed, _ = write_gpkg_stream(
        tmp_path / "s.gpkg", "parcels", iter([arrow_batch(frame)]), crs="EPSG:4545"
    )
    layered = write_gpkg(tmp_path / "l.gpkg", {"a": frame, "b": frame})
    assert _gpkg_version(streamed) == _gpkg_version(layered) == 10200
    assert pyogrio.read_info(layered, layer="b")["features"] == rows


def _packs(tables: list[gpd.GeoDataFrame]) -> list:
    from qzgeo.io.gpkg_rtree import pack_leaves

    return [pack_leaves(shapely.bounds(np.asarray(t.geometry.values))) for t in tables]


def test_meanwhile_runs_once_the_rows_are_in_and_before_the_file_is(tmp_path: Path) -> None:
    """The summary of a streamed run is written while the index is: after the last row,
    before the GeoPackage is moved in place."""
    chunks = [frame(3, 0), frame(2, 3)]
    target = tmp_path / "out.gpkg"
    seen: list[bool] = []
    write_gpkg_stream(
        target, "parcels", iter([arrow_batch(c) for c in chunks]), crs=CRS,
        leaves=lambda: _packs(chunks), meanwhile=lambda _: seen.append(target.exists()),
    )  # fmt: skip
    assert seen == [False] and pyogrio.read_info(target)["features"] == 5


def test_an_error_meanwhile_is_raised_and_no_file_is_kept(tmp_path: Path) -> None:
    chunks = [frame(3, 0)]
    target = tmp_path / "out.gpkg"

    def fail(_: Path) -> None:
        raise OutputError("summary: disk full")

    with pytest.raises(OutputError, match="summary: disk full"):
        write_gpkg_stream(
            target, "parcels", iter([arrow_batch(c) for c in chunks]), crs=CRS,
            leaves=lambda: _packs(chunks), meanwhile=fail,
        )  # fmt: skip
    assert listing(tmp_path) == []


def test_meanwhile_is_not_called_without_rows(tmp_path: Path) -> None:
    called: list[int] = []
    write_gpkg_stream(
        tmp_path / "out.gpkg", "parcels", iter([None]), crs=CRS,
        leaves=lambda: [], meanwhile=lambda _: called.append(1),
    )  # fmt: skip
    assert called == []


def _pragma(path: Path, name: str) -> object:
    import sqlite3

    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
        return con.execute(f"PRAGMA {name}").fetchone()[0]


def test_a_streamed_layer_has_big_pages_and_an_index_sqlite_accepts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's own answers: the page size, integrity_check and rtreecheck() of the index
    written into a file of such pages (big pages from 300 rows here)."""
    from qzgeo.io import write_stream
    from qzgeo.io.write_stream import STREAM_PAGE_BYTES

    monkeypatch.setattr(write_stream, "BIG_PAGE_ROWS", 300)
    chunks = [frame(300, 0), frame(200, 300)]
    path, rows = write_gpkg_stream(
        tmp_path / "out.gpkg", "parcels", iter([arrow_batch(c) for c in chunks]), crs=CRS,
        leaves=lambda: _packs(chunks),
    )  # fmt: skip
    assert rows == 500 and _pragma(path, "page_size") == STREAM_PAGE_BYTES > 4096
    assert _pragma(path, "integrity_check") == "ok"
    import sqlite3

    with contextlib.closing(sqlite3.connect(path)) as con:
        check = con.execute("SELECT rtreecheck('rtree_parcels_geom')").fetchone()[0]
        hits = con.execute(
            "SELECT count(*) FROM rtree_parcels_geom WHERE maxx >= ? AND minx <= ?",
            (X0 + 20.0 * 100, X0 + 20.0 * 109 + 10.0),
        ).fetchone()[0]
    assert check == "ok" and hits == 10  # squares 100..109, by their x alone
    got = pyogrio.read_dataframe(path)
    assert got["pid"].tolist() == list(range(500))


def test_the_page_size_leaves_the_users_sqlite_pragmas_as_they_were(tmp_path: Path) -> None:
    """The page size goes through GDAL's process-wide OGR_SQLITE_PRAGMA: the user's value
    (or none) is back once the layer is written."""
    key = "OGR_SQLITE_PRAGMA"
    for before in ("cache_size=-4000", None):
        pyogrio.set_gdal_config_options({key: before})
        try:
            write_gpkg_stream(
                tmp_path / f"{before is None}.gpkg", "parcels", iter([arrow_batch(frame(3))]),
                crs=CRS,
            )  # fmt: skip
            assert pyogrio.get_gdal_config_option(key) == before
        finally:
            pyogrio.set_gdal_config_options({key: None})


@pytest.mark.parametrize("first", [3, 49_999, 50_000])
def test_big_pages_from_a_first_table_of_50_000_rows(tmp_path: Path, first: int) -> None:
    """Every table of a GeoPackage takes a page at least: a small layer keeps SQLite's 4 KiB
    pages (10 rows: 98 KB, not 688 KB); the first table decides, a later one does not."""
    from qzgeo.io.write_stream import BIG_PAGE_ROWS, STREAM_PAGE_BYTES

    assert BIG_PAGE_ROWS == 50_000
    tables = [arrow_batch(frame(first)), arrow_batch(frame(BIG_PAGE_ROWS, first))]
    path, rows = write_gpkg_stream(tmp_path / "out.gpkg", "parcels", iter(tables), crs=CRS)
    assert rows == first + BIG_PAGE_ROWS
    want = STREAM_PAGE_BYTES if first >= BIG_PAGE_ROWS else 4096
    assert _pragma(path, "page_size") == want and _pragma(path, "integrity_check") == "ok"


@pytest.mark.parametrize(("rows", "want"), [(49_999, 4096), (50_000, 32_768)])
def test_the_callers_row_count_chooses_the_pages(tmp_path: Path, rows: int, want: int) -> None:
    """A streamed file's chunks are smaller than the file: its feature count, given by the
    caller, decides (a 300k-parcel file in chunks of 25 000 gets big pages)."""
    path, _ = write_gpkg_stream(
        tmp_path / "out.gpkg", "parcels", iter([arrow_batch(frame(10))]), crs=CRS, rows=rows
    )
    assert _pragma(path, "page_size") == want


@pytest.mark.parametrize(
    ("user", "pragma", "want", "page"),
    [
        ("auto_vacuum=FULL", "auto_vacuum", 1, STREAM_PAGE),  # the user's pragma runs too
        ("page_size=8192", "page_size", 8192, 8192),  # the user's page size wins (it runs after)
    ],
)
def test_the_users_sqlite_pragmas_apply_to_the_streamed_file(
    tmp_path: Path, user: str, pragma: str, want: int, page: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OGR_SQLITE_PRAGMA set by the user (environment or --config) is run with the page size,
    after it: SQLite's own answers on the file written (big pages from 30 rows here)."""
    from qzgeo.io import write_stream

    monkeypatch.setattr(write_stream, "BIG_PAGE_ROWS", 30)
    key = "OGR_SQLITE_PRAGMA"
    pyogrio.set_gdal_config_options({key: user})
    try:
        path, _ = write_gpkg_stream(
            tmp_path / "out.gpkg", "parcels", iter([arrow_batch(frame(30))]), crs=CRS
        )
        assert pyogrio.get_gdal_config_option(key) == user
    finally:
        pyogrio.set_gdal_config_options({key: None})
    assert _pragma(path, pragma) == want and _pragma(path, "page_size") == page
    assert _pragma(path, "integrity_check") == "ok"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.gpkg"]  # no -wal, -journal
    assert pyogrio.read_dataframe(path)["pid"].tolist() == list(range(30))
