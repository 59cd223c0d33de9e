"""界址点 .txt to a Shapefile for ArcGIS (round 16's audit).

`qzgeo convert 界址点.txt 宗地.shp --out-encoding GBK` was refused: "field names longer than
the 10-byte DBF limit in GBK: '申报面积_公顷' (13 bytes) ... rename the columns", a column
qzgeo itself names when it reads the file, which the user cannot rename. Every column of a
界址点 file now fits a GBK DBF; the declared area keeps its unit in its name (申报面积ha).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from _cli import qzgeo
from pyproj import Geod, Transformer

N0, E0 = 2_400_719.0, 36_566_227.0
RING = [(N0, E0), (N0, E0 + 200), (N0 + 200, E0 + 200), (N0 + 200, E0), (N0, E0)]


def test_a_jzd_file_converts_to_a_gbk_shapefile(tmp_path: Path) -> None:
    rows = [f"J{k},1,{n:.3f},{e:.3f}" for k, (n, e) in enumerate(RING, 1)]
    text = "[属性描述]\n坐标系=2000国家大地坐标系\n带号=36\n[地块坐标]\n"
    text += "5,4.0000,QZ-1,钦州港地块,面,,工业用地,0601,@\n" + "\n".join(rows) + "\n"
    src = tmp_path / "界址点.txt"
    src.write_text(text, encoding="gbk")
    out = tmp_path / "宗地.shp"
    res = qzgeo("convert", src, out, "--out-encoding", "GBK")
    assert res.exit_code == 0, res.output
    got = gpd.read_file(out, encoding="GBK")
    assert got["地块编号"].tolist() == ["QZ-1"] and got["地块用途"].tolist() == ["工业用地"]
    assert got["申报面积ha"].tolist() == [4.0]
    # the geometry as surveyed, in zone 36 with the prefix (EPSG:4524); area by pyproj alone
    lon, lat = Transformer.from_crs(got.crs, "EPSG:4490", always_xy=True).transform(
        [e for _, e in RING], [n for n, _ in RING]
    )
    expected = abs(Geod(ellps="GRS80").polygon_area_perimeter(lon, lat)[0])
    ll = got.to_crs("EPSG:4490").geometry.iloc[0].exterior.coords.xy
    assert abs(Geod(ellps="GRS80").polygon_area_perimeter(*ll)[0]) == pytest.approx(expected)
    assert got.crs.to_epsg() == 4524
