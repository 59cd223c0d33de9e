"""A surveyor's table of boundary points (点号, X, Y) given to ``check`` as a CSV.

It was refused with "give a vector layer ... or a CSV with a WKT column", which does not say
where such a table belongs: the 界址点坐标 .txt format reads exactly these points, one block per
parcel. The refusal now says so (exit 2, no guess at which points make which ring).
"""

from __future__ import annotations

from pathlib import Path

from tests.cli._cli import assert_exit2, qzgeo


def test_a_csv_of_boundary_points_points_to_the_jzd_format(tmp_path: Path) -> None:
    table = tmp_path / "坐标表.csv"
    table.write_text(
        "点号,X坐标,Y坐标\nJ1,2427000.0,36542000.0\nJ2,2427000.0,36542300.0\n"
        "J3,2427300.0,36542300.0\n",
        encoding="utf-8",
    )
    res = qzgeo("check", table)
    assert_exit2(res, "坐标表.csv", "has no geometry column", "go in a 界址点坐标 .txt")


def test_a_csv_of_attributes_is_not_sent_to_the_jzd_format(tmp_path: Path) -> None:
    table = tmp_path / "attributes.csv"
    table.write_text("名称,面积\n甲,1.5\n", encoding="utf-8")
    res = qzgeo("check", table)
    assert_exit2(res, "has no geometry column")
    assert "界址点坐标 .txt" not in res.output
