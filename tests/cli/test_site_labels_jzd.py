"""A 界址点 file names its parcels in the header line: 地块编号 always, 地块名称 often empty (as
勘测定界 software writes them). Such a site was labelled by its position, ``jzd.txt:0``,
which GIS staff cannot find in the file; the 地块编号 names it now, a 地块名称 still first."""

from __future__ import annotations

from pathlib import Path

from tests.cli._cli import check_json

HEAD = "[属性描述]\n坐标系=2000国家大地坐标系\n几度分带=3\n投影类型=高斯克吕格\n带号=36\n"


def _ring(x0: float, y0: float) -> str:
    pts = [(x0, y0), (x0 + 100, y0), (x0 + 100, y0 + 150), (x0, y0 + 150), (x0, y0)]
    return "".join(f"J{i + 1},1,{y:.2f},{36_000_000 + x:.2f}\n" for i, (x, y) in enumerate(pts))


def test_a_parcel_without_a_name_is_labelled_by_its_number(tmp_path: Path) -> None:
    text = (
        HEAD
        + "[地块坐标]\n"
        + "5,1.5000,QZ-2024-07,,面,,工业用地,,@\n"
        + _ring(564_148.36, 2_402_924.97)
        + "5,1.5000,QZ-2024-08,港区二号地,面,,工业用地,,@\n"
        + _ring(564_448.36, 2_402_924.97)
    )
    src = tmp_path / "界址点.txt"
    src.write_bytes(text.encode("gbk"))
    _, sites = check_json(src)
    assert [(s["site"], s["site_field"]) for s in sites] == [
        ("QZ-2024-07", "地块编号"),
        ("港区二号地", "地块名称"),
    ]
