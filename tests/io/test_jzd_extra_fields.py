"""界址点 rows with more fields than ``点号,圈号,X,Y`` (a Z or a remark after Y, as some
converters write) or a header with fields after 地类编码: the extra fields were read past
without a word. They are read past still, and said once per file, in the command's JSON."""

from __future__ import annotations

from pathlib import Path

import pytest

from qzgeo.io.jzd_read import read_jzd
from qzgeo.notices import notices_of
from tests.cli._cli import check_json

HEAD = "[属性描述]\n几度分带=3\n带号=36\n[地块坐标]\n"
ROWS = [
    (2429500.0, 36564000.0),
    (2429500.0, 36564200.0),
    (2429700.0, 36564200.0),
    (2429700.0, 36564000.0),
    (2429500.0, 36564000.0),
]


def _jzd(path: Path, tail: str, header_tail: str = "") -> Path:
    body = "".join(f"J{k},1,{x},{y}{tail}\n" for k, (x, y) in enumerate(ROWS, start=1))
    path.write_text(HEAD + f"5,4.0,1,甲,面,,,{header_tail},@\n" + body, encoding="utf-8")
    return path


def _messages(path: Path) -> list[str]:
    return [n.message for n in notices_of(read_jzd(path))]


def test_vertex_fields_after_y_are_said_with_line_and_value(tmp_path: Path) -> None:
    msgs = _messages(_jzd(tmp_path / "a.txt", ",12.5,井盖"))
    said = [m for m in msgs if "more fields than 点号,圈号,X,Y" in m]
    assert len(said) == 1, msgs
    assert "5 line(s)" in said[0] and "line 6" in said[0] and "'12.5,井盖'" in said[0]


def test_header_fields_after_land_class_are_said(tmp_path: Path) -> None:
    msgs = _messages(_jzd(tmp_path / "a.txt", "", header_tail=",备注"))
    said = [m for m in msgs if "地类编码,@" in m]
    assert len(said) == 1 and "line 5" in said[0] and "'备注'" in said[0], msgs


@pytest.mark.parametrize("tail", ["", ",", ",,"])
def test_empty_trailing_fields_say_nothing(tmp_path: Path, tail: str) -> None:
    msgs = _messages(_jzd(tmp_path / "a.txt", tail))
    assert not [m for m in msgs if "more fields" in m], msgs


def test_the_notice_reaches_the_json_of_check(tmp_path: Path) -> None:
    src = _jzd(tmp_path / "界址点.txt", ",12.5")
    _, sites = check_json(src)
    assert any("more fields than 点号,圈号,X,Y" in w for w in sites[0]["warnings"]), sites
