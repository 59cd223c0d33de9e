"""A GBK Shapefile carries its code page in the DBF header too: the language driver id (byte
29 of the header, per the dBASE/Esri DBF layout) 0x4D is code page 936, what ArcGIS writes
for Simplified Chinese. qzgeo wrote 0 (no code page) beside its .cpg, so a copy without the
.cpg (a .shp, .shx and .dbf mailed on) was read by GDAL and QGIS as Latin-1 mojibake.
The byte is read back raw, the file through GDAL (pyogrio) with no encoding given."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from tests.cli._cli import qzgeo

NAMES = ["王堃甲区", "钦南工业园"]  # 堃 is in GBK, not in GB2312


@pytest.fixture
def zones(tmp_path: Path) -> Path:
    src = tmp_path / "zones.geojson"
    boxes = [shapely.box(108.60, 21.90, 108.61, 21.91), shapely.box(108.62, 21.90, 108.63, 21.91)]
    gpd.GeoDataFrame({"名称": NAMES}, geometry=boxes, crs=4490).to_file(src)
    return src


def _ldid(dbf: Path) -> int:
    return dbf.read_bytes()[29]


def _convert(src: Path, out: Path, *args: str) -> None:
    res = qzgeo("convert", src, out, *args)
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("spelt", ["GBK", "cp936"])
def test_gbk_is_marked_code_page_936_beside_its_cpg(zones: Path, spelt: str) -> None:
    out = zones.parent / "zones.shp"
    _convert(zones, out, "--out-encoding", spelt)
    assert _ldid(out.with_suffix(".dbf")) == 0x4D
    assert out.with_suffix(".cpg").read_text(encoding="ascii").strip() == "GBK"
    assert "王堃".encode("gbk") in out.with_suffix(".dbf").read_bytes()
    assert pyogrio.read_dataframe(out)["名称"].tolist() == NAMES


def test_without_its_cpg_gdal_reads_it_by_the_header(zones: Path) -> None:
    out = zones.parent / "zones.shp"
    _convert(zones, out, "--out-encoding", "GBK")
    out.with_suffix(".cpg").unlink()  # copied on without it
    assert pyogrio.read_dataframe(out)["名称"].tolist() == NAMES


@pytest.mark.parametrize("encoding", [None, "GB18030", "UTF-8"])
def test_encodings_without_a_code_page_id_keep_0(zones: Path, encoding: str | None) -> None:
    """No language driver id means UTF-8 or GB18030 (GB18030 is more than code page 936):
    their .cpg alone says it, as GDAL writes them."""
    out = zones.parent / "zones.shp"
    _convert(zones, out, *(["--out-encoding", encoding] if encoding else []))
    assert _ldid(out.with_suffix(".dbf")) == 0
    assert pyogrio.read_dataframe(out)["名称"].tolist() == NAMES
