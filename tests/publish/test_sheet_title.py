"""Line breaking of a sheet's 图名: between Chinese characters, at spaces, never inside a Latin
word or a number, never before closing punctuation nor after opening punctuation.

The rules are checked on the lines as properties (hypothesis), with one unit of width a
character: nothing here depends on a font.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qzgeo.publish.sheet_title import break_lines, title_block, title_floor_pt

CLOSING = "，。、；：！？）」』》”"
OPENING = "（「『《“"
WORDS = ["Port", "A-12", "1:50 000", "2035", "3.5", "Qinzhou", "2021—2035", "……"]
HANZI = "钦州港片区规划分区与控制线冲突分析示意"


def _em(text: str) -> float:
    return float(len(text))


_pieces = st.one_of(
    st.sampled_from(HANZI),
    st.sampled_from(CLOSING),
    st.sampled_from(OPENING),
    st.sampled_from(WORDS).map(lambda w: f" {w} "),
)
titles = st.lists(_pieces, min_size=1, max_size=60).map("".join).filter(lambda t: t.strip())


@settings(max_examples=300, deadline=None)
@given(title=titles, width=st.integers(min_value=1, max_value=40))
def test_lines_keep_every_character_and_break_only_where_allowed(title: str, width: int) -> None:
    lines = break_lines(title, width, _em)
    # nothing lost or added but the spaces a break swallows
    assert "".join(lines).replace(" ", "") == title.replace(" ", "")
    assert all(line == line.strip() and line for line in lines)
    for line in lines[1:]:
        assert line[0] not in CLOSING, lines  # never before closing punctuation
    for line in lines[:-1]:
        assert line[-1] not in OPENING, lines  # never after opening punctuation
    for word in WORDS:
        if word in title:
            # a Latin word or a number is never cut: each of its occurrences is on one line
            assert sum(line.count(word) for line in lines) == title.count(word), (word, lines)


@settings(max_examples=200, deadline=None)
@given(title=titles, width=st.integers(min_value=1, max_value=40))
def test_only_an_unbreakable_run_overflows(title: str, width: int) -> None:
    for line in break_lines(title, width, _em):
        if len(line) > width:
            # alone on its line, and with no place to break: no two Chinese characters side by
            # side, and no space but one grouping digits (1:50 000), after an opening bracket or
            # before a closing mark
            for m in re.finditer(" +", line):
                before, after = line[: m.start()].rstrip()[-1:], line[m.end() : m.end() + 1]
                digits = before.isdigit() and after.isdigit() and m.end() - m.start() == 1
                assert digits or before in OPENING or after in CLOSING, line
            assert not re.search(f"[{HANZI}][{HANZI}]", line), line


def test_chinese_breaks_between_characters_and_keeps_punctuation_with_its_word() -> None:
    assert break_lines("钦州港片区（示意）规划", 6, _em) == ["钦州港片区", "（示意）规划"]
    assert break_lines("钦州港片区（示意）规划", 8, _em) == ["钦州港片区（示", "意）规划"]
    assert break_lines("规划分区，控制线", 5, _em) == ["规划分区，", "控制线"]
    assert break_lines("规划分区，控制线", 4, _em) == ["规划分", "区，控制", "线"]  # not "，控制线"
    assert break_lines("比例尺 1:50 000 总图", 10, _em) == ["比例尺", "1:50 000 总", "图"]


@pytest.mark.parametrize(("paper", "unit"), [("A4", 2**-0.5), ("A3", 1.0), ("A1", 2.0)])
def test_a_long_title_wraps_at_no_less_than_the_floor(paper: str, unit: float) -> None:
    title = "钦州港片区规划分区与控制线冲突分析" * 7 + "（示意）"  # 123 characters
    width = {"A4": 188.8, "A3": 390.0, "A1": 781.0}[paper]  # A4 portrait, A3 and A1 landscape
    block = title_block(
        title, None, width_mm=width, unit=unit, internal=False, measure=_em, measure_en=_em
    )
    assert 2 <= len(block.lines) <= 3
    assert block.size >= title_floor_pt(unit) >= 12.0
    assert not block.warnings
    assert "".join(block.lines) == title


def test_a_title_too_long_for_three_lines_is_shrunk_with_a_warning() -> None:
    title = "规划" * 100
    block = title_block(
        title, None, width_mm=100.0, unit=1.0, internal=False, measure=_em, measure_en=_em
    )
    assert len(block.lines) == 3
    assert block.size < 12.0
    assert "".join(block.lines) == title
    assert block.warnings and "200 characters" in block.warnings[0]
    assert "shorten" in block.warnings[0]


def test_a_newline_in_the_title_is_a_space_not_a_line_drawn_over_the_subtitle() -> None:
    block = title_block(
        "钦州港\n片区\t总图",
        "Port\nArea",
        width_mm=300.0,
        unit=1.0,
        internal=False,
        measure=_em,
        measure_en=_em,
    )
    assert block.lines == ["钦州港 片区 总图"] and block.sub_lines == ["Port Area"]
