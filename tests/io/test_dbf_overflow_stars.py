"""DBF cells GDAL reads otherwise without a word: overflow stars, impossible dates.

Found in round 16's audit: ArcGIS and GDAL write ``**********`` into an ``N(10,2)`` field when
a value does not fit (an area in m²). GDAL reads it as empty without a word; convert and
analyze passed the empty cell on, and nobody was told the file had lost the number. A date
no calendar has (20230230, a typo) was rolled over into another (2023-03-02).
"""

from __future__ import annotations

import struct
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from click.testing import CliRunner

from qzgeo.cli.main import cli
from qzgeo.io.vector import read_layer
from qzgeo.notices import notices_of

E0, N0 = 36_566_227.0, 2_400_719.0


def _shapefile(path: Path, starred: list[int]) -> Path:
    """Four parcels with 面积 N(10,2); the cells of records ``starred`` overwritten with '*'."""
    boxes = [shapely.box(E0 + 300 * i, N0, E0 + 300 * i + 200, N0 + 200) for i in range(4)]
    gpd.GeoDataFrame(
        {"名称": ["甲", "乙", "丙", "丁"], "面积": [4.0, 4.0, 4.0, 4.0]}, geometry=boxes, crs=4524
    ).to_file(path, engine="pyogrio", layer_options={"ENCODING": "UTF-8"})
    dbf = path.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    header_len, record_len = struct.unpack("<HH", data[8:12])
    offset, k = 1, 32
    while data[k] != 0x0D:  # walk the field descriptors to 面积
        name, width = bytes(data[k : k + 11]).split(b"\0")[0], data[k + 16]
        if name == "面积".encode():
            break
        offset, k = offset + width, k + 32
    for r in starred:
        at = header_len + r * record_len + offset
        data[at : at + width] = b"*" * width
    dbf.write_bytes(bytes(data))
    return path


def test_starred_cells_are_said_with_their_features(tmp_path: Path) -> None:
    gdf = read_layer(_shapefile(tmp_path / "宗地.shp", [1, 3]))
    assert gdf["面积"].isna().tolist() == [False, True, False, True]  # GDAL: empty
    said = [str(n) for n in notices_of(gdf) if "'***'" in str(n)]
    assert len(said) == 1, said
    assert "field '面积'" in said[0] and "in 2 feature(s) (1, 3)" in said[0]


def test_a_clean_file_has_no_such_note(tmp_path: Path) -> None:
    gdf = read_layer(_shapefile(tmp_path / "宗地.shp", []))
    assert not [n for n in notices_of(gdf) if "'***'" in str(n)]


def test_convert_and_chunked_analyze_say_it(tmp_path: Path) -> None:
    src = _shapefile(tmp_path / "宗地.shp", [2])
    runner = CliRunner()
    res = runner.invoke(cli, ["convert", str(src), str(tmp_path / "o.gpkg")])
    assert res.exit_code == 0, res.output
    assert "field '面积' holds '***'" in res.output and "(2)" in res.output
    out = tmp_path / "out"
    args = ["analyze", "--parcels", str(src), "--out", str(out), "--chunk-rows", "1"]
    res = runner.invoke(cli, [*args, "--workers", "1"])
    assert res.exit_code == 0, res.output
    report = (out / "internal" / "parcels_report.json").read_text(encoding="utf-8")
    assert report.count("holds '***'") == 1  # said once, by the chunk holding it


def _dated(path: Path, days: list[bytes]) -> Path:
    """A shapefile whose .dbf, written here byte by byte, has one Date field 批准日期 (GBK
    name) holding ``days`` as written (8 bytes each)."""
    boxes = [shapely.box(E0 + 300 * i, N0, E0 + 300 * i + 200, N0 + 200) for i in range(len(days))]
    gpd.GeoDataFrame({"a": range(len(days))}, geometry=boxes, crs=4524).to_file(path)
    head = struct.pack("<BBBBIHH20x", 3, 123, 5, 1, len(days), 32 + 32 + 1, 1 + 8)
    desc = "批准日期".encode("gbk").ljust(11, b"\0") + b"D" + b"\0" * 4 + bytes([8, 0])
    body = b"".join(b" " + day for day in days)
    path.with_suffix(".dbf").write_bytes(head + desc + b"\0" * 14 + b"\r" + body + b"\x1a")
    path.with_suffix(".cpg").write_text("GBK")
    return path


def test_dates_no_calendar_has_are_said(tmp_path: Path) -> None:
    """20230230 (a typo) came out as 2023-03-02 in every output, without a word. Empty dates
    (blank, 00000000: ArcGIS's null) and real ones (20240229, a leap day) are not flagged."""
    days = [b"20230230", b"20240229", b"00000000", b"        ", b"20231301", b"19000229"]
    gdf = read_layer(_dated(tmp_path / "宗地.shp", days))
    said = [str(n) for n in notices_of(gdf) if "no calendar has" in str(n)]
    assert len(said) == 1, said
    for bad in ("feature 0: 20230230", "feature 4: 20231301", "feature 5: 19000229"):
        assert bad in said[0], said
    assert "20240229" not in said[0] and "feature 2" not in said[0]
    assert pd.Timestamp(gdf["批准日期"].iloc[1]) == pd.Timestamp("2024-02-29")


def test_an_empty_number_gdal_wrote_is_not_called_lost(tmp_path: Path) -> None:
    """GDAL (and QGIS, and qzgeo convert) writes an empty number cell as '*' across the field
    and truncates an overflow instead: converting a GeoPackage whose 面积 is empty for one
    parcel to .shp and reading it back said the number was "lost in the file itself" by "an
    overflow, as ArcGIS and GDAL write" it, and to export again with a wider field. Found in
    round 21's convert/tables audit."""
    boxes = [shapely.box(E0 + 300 * i, N0, E0 + 300 * i + 200, N0 + 200) for i in range(2)]
    src = tmp_path / "宗地.gpkg"
    gpd.GeoDataFrame({"面积": [4.0, None]}, geometry=boxes, crs=4524).to_file(src)
    runner = CliRunner()
    shp = tmp_path / "宗地.shp"
    assert runner.invoke(cli, ["convert", str(src), str(shp)]).exit_code == 0
    res = runner.invoke(cli, ["convert", str(shp), str(tmp_path / "回读.gpkg")])
    assert res.exit_code == 0, res.output
    assert "holds '***' in 1 feature(s) (1)" in res.output
    assert "as ArcGIS and GDAL write an overflow" not in res.output
    assert "empty cell (NULL)" in res.output
