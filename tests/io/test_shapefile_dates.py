"""Dates into a Shapefile: a GeoPackage DATE column (批准日期) came out of ``qzgeo convert`` as a
text field C(80) holding ``2024-01-02`` (ArcGIS and Excel: no date, not sortable as one), where
ogr2ogr writes a DBF date D(8) ``20240102``; a date-and-time column became text with only
pyogrio's raw RuntimeWarning. Found in round 21's convert/tables audit."""

from __future__ import annotations

import datetime as dt
import struct
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from tests.cli._cli import qzgeo

X0, Y0 = 564_000.0, 2_429_500.0  # CGCS2000 GK CM 108E (EPSG:4545), no prefix


def _fields(dbf: Path) -> dict[str, tuple[bytes, int, list[bytes]]]:
    """Per field name (GBK), its DBF type, width and cells, read byte by byte."""
    data = dbf.read_bytes()
    n, header_len, record_len = struct.unpack("<IHH", data[4:12])
    out, offset = {}, 1
    for k in range(32, header_len - 1, 32):
        if data[k] == 0x0D:
            break
        name = data[k : k + 11].split(b"\0")[0].decode("gbk")
        width = data[k + 16]
        starts = [header_len + r * record_len + offset for r in range(n)]
        cells = [data[at : at + width] for at in starts]
        out[name] = (data[k + 11 : k + 12], width, cells)
        offset += width
    return out


def test_a_date_column_is_a_dbf_date(tmp_path: Path) -> None:
    boxes = [shapely.box(X0 + 200 * i, Y0, X0 + 200 * i + 100, Y0 + 100) for i in range(2)]
    src = tmp_path / "宗地.gpkg"
    gdf = gpd.GeoDataFrame(
        {
            "批准日期": [dt.date(2024, 1, 2), None],
            "时间": pd.to_datetime(["2024-01-02 13:45:00", None]),
        },
        geometry=boxes,
        crs=4545,
    )
    pyogrio.write_dataframe(gdf, src, use_arrow=True)  # 批准日期 a GeoPackage DATE
    assert pyogrio.read_info(src)["ogr_types"][0] == "OFTDate"
    out = tmp_path / "宗地.shp"
    res = qzgeo("convert", src, out, "--out-encoding", "GBK")
    assert res.exit_code == 0, res.output
    kind, width, cells = _fields(out.with_suffix(".dbf"))["批准日期"]
    assert (kind, width, cells[0]) == (b"D", 8, b"20240102")
    assert pyogrio.read_info(out, encoding="GBK")["ogr_types"][0] == "OFTDate"
    # a DBF has no date-and-time type: written as text, and said
    kind, _, cells = _fields(out.with_suffix(".dbf"))["时间"]
    assert kind == b"C" and cells[0].strip() == b"2024-01-02T13:45:00"
    assert "'时间' hold dates with times" in res.output and "GeoPackage" in res.output
    assert "RuntimeWarning" not in res.output
