"""界址点 .txt header fields from cells a GeoPackage leaves empty or holds as Real.

An integer column with an empty cell is read as integers (pandas' Int64, its empty cell
``<NA>``): ``qzgeo convert`` wrote the text ``<NA>`` as the parcel's 地块编号 and 地类编码 (and
the 地块编号 was not numbered as an empty one is). A Real 地类编码 ``203.0`` was written
``203.0``, a 地块编号 ``450702001001.0`` so. Found in round 21's convert/tables audit.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from qzgeo.io.jzd_read import read_jzd
from tests.cli._cli import qzgeo

X0, Y0 = 564_000.0, 2_429_500.0  # CGCS2000 GK CM 108E (EPSG:4545), no prefix


def _headers(path: Path) -> list[list[str]]:
    """The parcel header lines (those ending '@'), split by hand."""
    text = path.read_bytes().decode("gbk")
    return [line.split(",") for line in text.splitlines() if line.endswith(",@")]


def test_empty_and_real_cells_are_written_as_a_survey_writes_them(tmp_path: Path) -> None:
    boxes = [shapely.box(X0 + 200 * i, Y0, X0 + 200 * i + 100, Y0 + 100) for i in range(3)]
    src = tmp_path / "宗地.gpkg"
    gpd.GeoDataFrame(
        {
            "地块编号": pd.array([7, None, 9], dtype="Int64"),
            "地类编码": [203.0, None, 101.5],
            "图幅号": pd.array(["F49", None, "F50"], dtype="string"),
        },
        geometry=boxes,
        crs=4545,
    ).to_file(src)
    out = tmp_path / "宗地.txt"
    res = qzgeo("convert", src, out)
    assert res.exit_code == 0, res.output
    assert "<NA>" not in out.read_bytes().decode("gbk")
    # 点数,面积,地块编号,地块名称,图形属性,图幅号,地块用途,地类编码,@
    heads = _headers(out)
    assert [h[2] for h in heads] == ["7", "2", "9"]  # an empty 地块编号: the row number
    assert [h[7] for h in heads] == ["203", "", "101.5"]
    assert [h[5] for h in heads] == ["F49", "", "F50"]
    back = read_jzd(out)
    assert back["地块编号"].tolist() == ["7", "2", "9"]
