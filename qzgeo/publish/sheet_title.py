"""The 图名 of a PDF sheet: broken into lines as Chinese titles are, at a legible size.

A title is set on one line at its full size if it fits, a little smaller if that is enough,
else wrapped onto two or three balanced lines at no less than :func:`title_floor_pt` (12 pt on
A4 and A3, 24 pt on A1). Lines break between Chinese characters, at spaces, never inside a
Latin word or a number, never before closing punctuation（，。）」…) nor after opening
punctuation（（「《…). A title too long even for three lines is shrunk until it fits, with a
warning. The title box grows with the lines (:func:`title_block`), and the map frame below it
is laid out in the room left (:func:`qzgeo.publish.sheet_layout.sheet_layout`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.patches import Rectangle

from qzgeo.publish.sheet_legend import MM_PER_PT

__all__ = [
    "INTERNAL_MARK",
    "TitleBlock",
    "break_lines",
    "draw_title",
    "title_block",
    "title_floor_pt",
]

INTERNAL_MARK = "内部"
Measure = Callable[[str], float]  # width of a text in em

# No line starts with these (closing brackets and quotes, pause and stop marks, iteration marks)
_NO_START = frozenset("，。、；：！？）」』》〉】〕〗〙〛”’,.;:!?)]}›»々〻ー・·")
# No line ends with these (opening brackets and quotes)
_NO_END = frozenset("（「『《〈【〔〖〘〚“‘([{‹«")
_LINE_PITCH = 1.3  # line spacing in font sizes
_TITLE_PT = 20.0  # on A3; scaled with the paper (Layout.unit)
_SUBTITLE_PT = 9.5
_MAX_LINES = 3
_STAMP_W, _STAMP_H = 30.0, 13.0  # the 内部 stamp in mm on A3, top right of the title box


def _in_word(c: str) -> bool:
    """Part of a run broken only at spaces: Latin words, numbers (1:50 000, 3.5, 2021—2035),
    dashes and ellipses (never split), full-width letters and digits; not Chinese characters.
    """
    if c.isspace():
        return False
    wide = unicodedata.east_asian_width(c) in ("W", "F")
    return not wide or unicodedata.category(c) in ("Lu", "Ll", "Nd")


def _may_break(text: str, i: int) -> bool:
    """May a line end before ``text[i]``?"""
    b = text[i]
    if b.isspace() or b in _NO_START:
        return False  # spaces stay at the end of the line they follow, and are dropped there
    before = text[:i].rstrip()
    if not before or before[-1] in _NO_END:
        return False
    if len(before) < i:  # after spaces, unless they group digits (1:50 000, 23 058)
        return not (before[-1].isdigit() and b.isdigit() and i - len(before) == 1)
    return not (_in_word(before[-1]) and _in_word(b))


def _segments(text: str) -> list[str]:
    """``text`` cut at every place a line may break (trailing spaces kept on each piece)."""
    pieces: list[str] = []
    start = 0
    for i in range(1, len(text)):
        if _may_break(text, i):
            pieces.append(text[start:i])
            start = i
    if text:
        pieces.append(text[start:])
    return pieces


def break_lines(text: str, width: float, measure: Measure) -> list[str]:
    """Greedy line breaking of ``text`` into lines at most ``width`` wide where possible.

    A piece that cannot be broken (a long Latin word) wider than ``width`` gets a line of its
    own and overflows it: callers check the widths (:func:`title_block` shrinks the text).

    Examples
    --------
    >>> em = len  # one unit a character
    >>> break_lines("某某港片区（示意）规划", 6, em)
    ['某某港片区', '（示意）规划']
    >>> break_lines("某某港片区（示意）规划", 8, em)  # never before ）
    ['某某港片区（示', '意）规划']
    >>> break_lines("Port A-12 区规划范围", 8, em)
    ['Port', 'A-12 区规划', '范围']
    """
    lines: list[str] = []
    line, line_w = "", 0.0  # line_w: the width of ``line`` with its trailing spaces
    for piece in _segments(text.strip()):
        # a piece is text then spaces: the spaces are not measured at the end of a line
        full, ink = measure(piece), measure(piece.rstrip())
        if line and line_w + ink > width:
            lines.append(line.rstrip())
            line, line_w = piece, full
        else:
            line, line_w = line + piece, line_w + full
    if line.strip():
        lines.append(line.rstrip())
    return lines


def _fits(text: str, room: float, lines: int, measure: Measure) -> bool:
    got = break_lines(text, room, measure)
    return len(got) <= lines and all(measure(g) <= room for g in got)


def _balanced(text: str, room: float, measure: Measure) -> list[str]:
    """The same number of lines as at ``room``, at the narrowest width that keeps it."""
    n = len(break_lines(text, room, measure))
    lo, hi = 0.0, room
    for _ in range(30):
        mid = (lo + hi) / 2
        if _fits(text, mid, n, measure):
            hi = mid
        else:
            lo = mid
    return break_lines(text, hi, measure)


@dataclass(frozen=True)
class _Fit:
    lines: list[str]
    size: float  # pt
    shrunk: bool


def _fit(text: str, room_mm: float, measure: Measure, tries: Sequence[tuple[int, float]]) -> _Fit:
    """The first (lines, size) of ``tries`` at which ``text`` fits ``room_mm``; else shrunk."""
    for lines, size in tries:
        room = room_mm / (size * MM_PER_PT)  # in em
        if _fits(text, room, lines, measure):
            return _Fit(_balanced(text, room, measure), size, shrunk=False)
    lines, size = tries[-1]
    lo, hi = 0.0, size
    for _ in range(40):  # the largest size at which it fits: widths scale with the size
        mid = (lo + hi) / 2
        if _fits(text, room_mm / (mid * MM_PER_PT), lines, measure):
            lo = mid
        else:
            hi = mid
    size = max(lo, 1e-3)
    return _Fit(_balanced(text, room_mm / (size * MM_PER_PT), measure), size, shrunk=True)


def title_floor_pt(unit: float) -> float:
    """The smallest 图名 size before a title is shrunk: 12 pt, and 24 pt on A1 (``unit`` 2).

    Examples
    --------
    >>> title_floor_pt(2 ** -0.5), title_floor_pt(1.0), title_floor_pt(2.0)
    (12.0, 12.0, 24.0)
    """
    return 12.0 * max(unit, 1.0)


@dataclass(frozen=True)
class TitleBlock:
    """The 图名 and English subtitle set in lines, and the height of their box (mm)."""

    lines: list[str]
    size: float  # pt
    sub_lines: list[str]
    sub_size: float
    height: float
    unit: float
    internal: bool
    warnings: list[str]


def _title_tries(unit: float) -> list[tuple[int, float]]:
    """One line at 100, 90, 80 % of the full size, then two and three lines down to the floor."""
    full, floor = _TITLE_PT * unit, title_floor_pt(unit)
    one = [(1, max(full * f, floor)) for f in (1.0, 0.9, 0.8)]
    wrapped = [(n, max(full * f, floor)) for n in (2, 3) for f in (0.8, 0.7, 0.6)]
    return list(dict.fromkeys(one + wrapped))


def title_block(
    title: str,
    title_en: str | None,
    *,
    width_mm: float,
    unit: float,
    internal: bool,
    measure: Measure,
    measure_en: Measure,
) -> TitleBlock:
    """Set the title (bold, ``measure``) and subtitle (``measure_en``) in a box ``width_mm`` wide.

    The lines are centred between the 内部 stamp's width on either side (on internal sheets).
    Runs of white space (a newline in the TOML) are set as one space: matplotlib would draw a
    newline as a line of its own, over the subtitle.
    """
    title = " ".join(title.split())
    title_en = " ".join(title_en.split()) if title_en else None
    room = width_mm - 2 * ((_STAMP_W + 2.0) * unit if internal else 0.0)
    warnings: list[str] = []
    main = _fit(title, room, measure, _title_tries(unit))
    if main.shrunk:
        warnings.append(
            f"the title ({len(title)} characters) does not fit {_MAX_LINES} lines at "
            f"{title_floor_pt(unit):g} pt: it is set at {main.size:.1f} pt; shorten it or "
            "use a larger paper"
        )
    sub = _Fit([], _SUBTITLE_PT * unit, shrunk=False)
    if title_en:
        sub = _fit(title_en, room, measure_en, [(1, sub.size), (2, sub.size)])
        if sub.shrunk:
            warnings.append(
                f"the English title ({len(title_en)} characters) does not fit 2 lines at "
                f"{_SUBTITLE_PT * unit:.1f} pt: it is set at {sub.size:.1f} pt; shorten it"
            )
    height = max(20.0 * unit, _stack(main, sub, unit)[-1])
    return TitleBlock(main.lines, main.size, sub.lines, sub.size, height, unit, internal, warnings)


def _stack(main: _Fit, sub: _Fit, unit: float) -> list[float]:
    """Line centres from the box's bottom (subtitle lines, then title lines), then the height."""
    s, ss = main.size * MM_PER_PT, sub.size * MM_PER_PT
    y = 1.5 * unit + ss / 2
    centres = []
    for _ in sub.lines or [""]:  # the subtitle's line is kept free when there is none
        centres.append(y)
        y += _LINE_PITCH * ss
    y += -_LINE_PITCH * ss + ss / 2 + 4.0 * unit + s / 2
    for _ in main.lines:
        centres.append(y)
        y += _LINE_PITCH * s
    return [*centres, y - _LINE_PITCH * s + s / 2 + 4.0 * unit]


def draw_title(ax: Axes, box: tuple[float, float, float, float], block: TitleBlock) -> None:
    """Draw the title block (and the 内部 stamp) in ``box``, as set by :func:`title_block`."""
    x, y, w, h = box
    u = block.unit
    main = _Fit(block.lines, block.size, shrunk=False)
    sub = _Fit(block.sub_lines, block.sub_size, shrunk=False)
    *centres, needed = _stack(main, sub, u)
    lift = (h - needed) / 2  # centred in a box taller than needed (20 mm on A3 at least)
    n_sub = max(len(block.sub_lines), 1)
    cx = x + w / 2
    for line, cy in zip(reversed(block.sub_lines), centres[:n_sub], strict=False):
        ax.text(
            cx,
            y + lift + cy,
            line,
            fontsize=block.sub_size,
            ha="center",
            va="center",
            color="#333333",
        )
    for line, cy in zip(reversed(block.lines), centres[n_sub:], strict=True):
        ax.text(
            cx,
            y + lift + cy,
            line,
            fontsize=block.size,
            fontweight="bold",
            ha="center",
            va="center",
        )
    if block.internal:
        _stamp(ax, (x + w - _STAMP_W * u, y + h - _STAMP_H * u), u)


def _stamp(ax: Axes, corner: tuple[float, float], u: float) -> None:
    """The red 内部 stamp with its lower-left corner at ``corner``."""
    sx, sy = corner
    sw, sh = _STAMP_W * u, _STAMP_H * u
    red = "#C00000"
    ax.add_patch(Rectangle((sx, sy), sw, sh, fill=False, edgecolor=red, linewidth=2.0 * u))
    ax.text(
        sx + sw / 2,
        sy + sh * 0.6,
        INTERNAL_MARK,
        fontsize=18 * u,
        color=red,
        fontweight="bold",
        ha="center",
        va="center",
    )
    ax.text(
        sx + sw / 2,
        sy + sh * 0.17,
        "内部资料 不得公开",
        fontsize=5.5 * u,
        color=red,
        ha="center",
        va="center",
    )
