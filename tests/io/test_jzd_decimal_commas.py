"""界址点 vertex rows written with decimal commas (a spreadsheet of a European locale, or a
converter that formats numbers so): ``J1,1,2429500,8569,36564041,3779``. X and Y were read as
the fields 3 and 4, 2429500 and 8569 (the northing and its decimals), and the file refused with
"coordinates ... do not look like Gauss-Krüger northing/easting", which names no line and no
cause."""

from __future__ import annotations

from pathlib import Path

from tests.cli._cli import assert_exit2, qzgeo

HEAD = (
    "[属性描述]\n坐标系=2000国家大地坐标系\n几度分带=3\n投影类型=高斯克吕格\n计量单位=米\n"
    "带号=36\n精度=0.0001\n[地块坐标]\n"
)
ROWS = [
    (2429500.8569, 36564041.3779),
    (2429500.8569, 36564241.3779),
    (2429700.8569, 36564241.3779),
    (2429700.8569, 36564041.3779),
    (2429500.8569, 36564041.3779),
]


def _jzd(path: Path, point: str) -> Path:
    """The parcel with ``point`` as the decimal mark."""
    body = "".join(
        f"J{k},1,{x:.4f},{y:.4f}\n".replace(".", point) for k, (x, y) in enumerate(ROWS, start=1)
    )
    path.write_text(HEAD + "5,4.0000,1,甲,面,,,,@\n" + body, encoding="gbk")
    return path


def test_decimal_commas_are_named_with_the_line_and_fix(tmp_path: Path) -> None:
    src = _jzd(tmp_path / "界址点.txt", ",")
    res = qzgeo("check", src, "--format", "json")
    assert_exit2(res, "界址点.txt line 10", "decimal commas", "2429500.8569")


def test_decimal_points_still_read(tmp_path: Path) -> None:
    src = _jzd(tmp_path / "界址点.txt", ".")
    res = qzgeo("check", src, "--format", "json")
    assert res.exit_code in (0, 1), res.output
    assert '"area_m2": 39995.' in res.output, res.output
