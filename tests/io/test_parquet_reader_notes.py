"""A GeoParquet qzgeo wrote does not carry the notes of the file it was converted from.

pandas stores ``DataFrame.attrs`` in a Parquet file's metadata (``PANDAS_ATTRS``) and
restores them on read. qzgeo's readers keep their notes there (``notices``, ``encoding``), so
``convert 界址点.txt x.parquet`` stored the 界址点 file's warnings in the Parquet, and reading
x.parquet gave them again as if about it: ``qzgeo check x.parquet`` listed "jzd.txt line 12:
parcel '1' declares 99 公顷 …" for a file not given, and ``convert`` said "Read x.parquet as
GB18030 text".
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq
from shapely import Point, box

from qzgeo.io.vector import read_layer
from qzgeo.io.write import write_layer
from qzgeo.notices import Notice, Notices, attach_notices, notices_of


def _read_with_notes() -> gpd.GeoDataFrame:
    gdf = gpd.GeoDataFrame(
        {"地块名称": ["王堃的地块"]},
        geometry=[box(108.62, 21.95, 108.625, 21.954)],
        crs="EPSG:4490",
    )
    note = Notice("jzd.txt line 12: parcel '1' declares 99 公顷", source="jzd.txt", feature=0)
    attach_notices(gdf, Notices([note]))
    gdf.attrs["encoding"] = "GB18030"
    return gdf


def test_written_parquet_holds_no_reader_notes(tmp_path: Path) -> None:
    out = write_layer(_read_with_notes(), tmp_path / "x.parquet")
    meta = pq.read_schema(out).metadata or {}
    assert b"jzd.txt" not in meta.get(b"PANDAS_ATTRS", b"")
    got = read_layer(out)
    assert notices_of(got).messages() == []
    assert "encoding" not in got.attrs
    assert got["地块名称"].tolist() == ["王堃的地块"]


def test_notes_stored_by_an_earlier_version_are_not_given_again(tmp_path: Path) -> None:
    path = tmp_path / "old.parquet"
    _read_with_notes().to_parquet(path)  # as earlier versions wrote it: attrs in the metadata
    assert b"jzd.txt" in pq.read_schema(path).metadata[b"PANDAS_ATTRS"]
    got = read_layer(path)
    assert [n for n in notices_of(got) if "jzd.txt" in str(n)] == []
    assert "encoding" not in got.attrs


def test_second_geometry_column_is_kept_as_wkt_with_a_note(tmp_path: Path) -> None:
    """A GeoParquet may hold several geometry columns (DuckDB, Sedona, a centroid column a
    geopandas user added): GDAL writes one, so convert stopped on a ValueError traceback and
    analyze on a pyarrow one. The others are kept as WKT text, and the note says so."""
    parcels = _read_with_notes()
    parcels["中心点"] = gpd.GeoSeries([Point(108.6225, 21.952)], crs=parcels.crs)
    parcels.loc[len(parcels)] = ["空", box(108.63, 21.95, 108.64, 21.96), None]
    path = tmp_path / "two.parquet"
    parcels.to_parquet(path)
    got = read_layer(path)
    assert _text(got["中心点"]) == [parcels["中心点"].iloc[0].wkt, None]
    notes = notices_of(got).messages()
    assert any("中心点" in m and "WKT" in m for m in notes), notes
    back = read_layer(write_layer(got, tmp_path / "two.gpkg"))
    assert _text(back["中心点"]) == [parcels["中心点"].iloc[0].wkt, None]


def _text(column: pd.Series) -> list[str | None]:
    return [None if pd.isna(v) else v for v in column]
