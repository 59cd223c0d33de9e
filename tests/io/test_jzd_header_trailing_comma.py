"""A 界址点 parcel header ending ``,@,`` (a comma after the ``@``, as some producers write).

The empty field after the ``@`` hid the ``@`` from the header test: the header was read as a
vertex row and refused with "圈号 '4.5831' is not an integer" (its 面积 taken for a 圈号).
The oracle is the lon/lat square the file was made from, measured by pyproj.Geod.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pyproj import Geod, Transformer

from qzgeo.io.jzd_read import read_jzd

TO_GK = Transformer.from_crs(4490, 4524, always_xy=True)  # CGCS2000 3-degree zone 36
CORNERS = [(108.600, 21.700), (108.602, 21.700), (108.602, 21.702), (108.600, 21.702)]


def _file(tmp_path: Path, header_end: str) -> Path:
    ring = [TO_GK.transform(lon, lat) for lon, lat in CORNERS]
    rows = [f"J{i},1,{n:.4f},{e:.4f}" for i, (e, n) in enumerate([*ring, ring[0]], start=1)]
    text = "\n".join(
        [
            "[属性描述]",
            "坐标系=2000国家大地坐标系",
            "几度分带=3",
            "带号=36",
            "[地块坐标]",
            f"5,4.5831,D-1,一号地块,面,,工业用地,0601,{header_end}",
            *rows,
        ]
    )
    path = tmp_path / "jzd.txt"
    path.write_text(text + "\n", encoding="gbk")
    return path


@pytest.mark.parametrize("header_end", ["@,", "@, ", "@,,"])
def test_a_header_with_a_comma_after_the_at_sign_is_a_header(
    tmp_path: Path, header_end: str
) -> None:
    gdf = read_jzd(_file(tmp_path, header_end))
    assert len(gdf) == 1
    row = gdf.iloc[0]
    assert (row["地块编号"], row["地块名称"], row["地块用途"], row["地类编码"]) == (
        "D-1", "一号地块", "工业用地", "0601",
    )  # fmt: skip
    lons, lats = zip(*CORNERS, strict=True)
    want_m2 = abs(Geod(ellps="GRS80").polygon_area_perimeter(lons, lats)[0])
    got = gdf.to_crs(6933).geometry.area.iloc[0]  # equal-area: within 0.1 % of the geodesic
    assert got == pytest.approx(want_m2, rel=1e-3)


def test_the_usual_header_still_reads_the_same(tmp_path: Path) -> None:
    assert read_jzd(_file(tmp_path, "@"))["地块编号"].tolist() == ["D-1"]
