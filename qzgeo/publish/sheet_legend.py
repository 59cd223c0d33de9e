"""Symbols and the legend of a PDF sheet, from the same styles as the web map.

A :class:`~qzgeo.pack.model.Symbol` is in screen pixels (Leaflet); on paper one pixel of line weight
or dash is drawn as :data:`PT_PER_PX` points, scaled with the paper size.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Rectangle

from qzgeo._errors import PublishError
from qzgeo.pack.model import Symbol
from qzgeo.publish.colors import sheet_rgba
from qzgeo.publish.render import GROUP_ORDER, LayerView, legend_entries
from qzgeo.publish.sheet_font import FONT_ENV, advance_measure, find_cjk_font

PT_PER_PX = 0.5
MM_PER_PT = 25.4 / 72.0
_HATCH = {45: "////", -45: "\\\\\\\\", 135: "\\\\\\\\", 0: "----", 90: "||||", -90: "||||"}


@functools.lru_cache(maxsize=4)
def _measure_em(font_env: str | None) -> Callable[[str], float]:
    # the bold face: headings are bold, and it is the wider of the two; keyed on the variable
    # that chooses the font (find_cjk_font reads it)
    del font_env
    return advance_measure(find_cjk_font(bold=True))


def text_width(text: str, size_pt: float) -> float:
    """Width in mm of ``text`` set at ``size_pt`` in the sheets' CJK face (bold, the wider).

    The glyphs' own advances: a flat 0.55 em a Latin letter let capitals (W is 0.9 em) run
    over the legend's next column and off the panel.
    """
    return size_pt * MM_PER_PT * _measure_em(os.environ.get(FONT_ENV))(text)


def wrap(text: str, width_mm: float, size_pt: float) -> list[str]:
    """Greedy line breaking of mixed Chinese/Latin text into lines at most ``width_mm`` wide."""
    lines: list[str] = []
    line = ""
    for c in text:
        if text_width(line + c, size_pt) <= width_mm or not line:
            line += c
            continue
        cut = line.rfind(" ")
        if c != " " and cut > len(line) - 16 and cut > 0:
            lines.append(line[:cut])
            line = line[cut + 1 :] + c
        else:
            lines.append(line)
            line = "" if c == " " else c
    if line:
        lines.append(line)
    return lines


def line_width(sym: Symbol, unit: float) -> float:
    """Stroke width in points (0 for no stroke)."""
    return max(sym.weight, 0.0) * PT_PER_PX * unit


def dash_style(sym: Symbol, unit: float) -> Any:
    """matplotlib line style of a Leaflet ``dashArray`` such as ``"8 4"``."""
    if not sym.dash:
        return "solid"
    parts = [float(p) for p in sym.dash.replace(",", " ").split() if p]
    if len(parts) % 2:
        parts = parts * 2
    return (0, tuple(max(p * PT_PER_PX * unit, 0.1) for p in parts)) if parts else "solid"


def hatch(sym: Symbol) -> str | None:
    """matplotlib hatch of ``pattern = "stripe"`` at the nearest of 0°, ±45°, 90°."""
    if sym.pattern != "stripe":
        return None
    angle = min(_HATCH, key=lambda a: abs(((sym.pattern_angle - a + 180) % 360) - 180))
    return _HATCH[angle]


def polygon_style(sym: Symbol, unit: float) -> dict[str, Any]:
    """Keyword arguments of a polygon patch or collection drawn with ``sym``."""
    lw = line_width(sym, unit)
    face = sheet_rgba(sym.fill, sym.fill_opacity) if sym.fill else (0.0, 0.0, 0.0, 0.0)
    style: dict[str, Any] = {
        "facecolor": face,
        "edgecolor": sheet_rgba(sym.stroke, sym.opacity) if lw > 0 else "none",
        "linewidth": lw,
        "linestyle": dash_style(sym, unit),
    }
    h = hatch(sym)
    if h:
        style["hatch"] = h
        style["hatchcolor"] = sheet_rgba(sym.pattern_color or sym.stroke, sym.opacity)
        style["hatch_linewidth"] = 0.5 * unit
    return style


def line_style(sym: Symbol, unit: float) -> dict[str, Any]:
    """Keyword arguments of a line collection drawn with ``sym``."""
    return {
        "colors": [sheet_rgba(sym.stroke, sym.opacity)],
        "linewidths": max(line_width(sym, unit), 0.25 * unit),
        "linestyles": dash_style(sym, unit),
        "capstyle": "butt",
        "joinstyle": "round",
    }


def point_style(sym: Symbol, unit: float) -> dict[str, Any]:
    """Keyword arguments of ``Axes.scatter`` for point symbols (radius in px)."""
    diameter_pt = 2 * sym.radius * PT_PER_PX * 1.6 * unit
    return {
        "s": diameter_pt**2,
        "facecolors": [sheet_rgba(sym.fill, sym.fill_opacity) if sym.fill else "none"],
        "edgecolors": [sheet_rgba(sym.stroke, sym.opacity)],
        "linewidths": line_width(sym, unit),
    }


@dataclass(frozen=True)
class LegendBlock:
    """One layer's part of the legend."""

    title: str
    kind: str
    rows: list[tuple[str, Symbol]]


def legend_blocks(views: Sequence[LayerView]) -> list[LegendBlock]:
    """Legend blocks in the web legend's order (by group, then map order); empty layers skipped."""
    ranked = sorted((i, v) for i, v in enumerate(views) if len(v.prepared.gdf))
    ranked.sort(key=lambda iv: (GROUP_ORDER.index(iv[1].group), iv[0]))
    blocks = []
    for _, v in ranked:
        style = v.style
        title = style.legend_title if style and style.legend_title else v.title
        rows = [(str(r["label"]), Symbol(**r["symbol"])) for r in legend_entries(v)]
        blocks.append(LegendBlock(title, v.prepared.kind, rows))
    return blocks


def draw_swatch(
    ax: Axes, kind: str, sym: Symbol, box: tuple[float, float, float, float], unit: float
) -> None:
    """The legend symbol of one row in ``box`` (x, y, w, h in mm on the paper axes)."""
    x, y, w, h = box
    if kind == "polygon":
        ax.add_patch(Rectangle((x, y), w, h, **polygon_style(sym, unit)))
    elif kind == "line":
        style = line_style(sym, unit)
        ax.add_line(
            Line2D(
                [x, x + w],
                [y + h / 2] * 2,
                color=style["colors"][0],
                linewidth=style["linewidths"],
                linestyle=style["linestyles"],
                solid_capstyle="butt",
                dash_capstyle="butt",
            )
        )
    else:
        r = min(w, h) / 2 * min(1.0, sym.radius / 6.0)
        face = sheet_rgba(sym.fill, sym.fill_opacity) if sym.fill else "none"
        ax.add_patch(
            Circle(
                (x + w / 2, y + h / 2),
                r,
                facecolor=face,
                edgecolor=sheet_rgba(sym.stroke, sym.opacity),
                linewidth=line_width(sym, unit),
            )
        )


@dataclass(frozen=True)
class _Line:
    text: str
    title: bool
    kind: str | None = None
    symbol: Symbol | None = None
    first: bool = True  # first line of a wrapped row: carries the swatch


def _legend_lines(blocks: Sequence[LegendBlock], text_w: float, size: float) -> list[_Line]:
    lines: list[_Line] = []
    for block in blocks:
        lines.extend(_Line(t, True) for t in wrap(block.title, text_w + 12 * size / 7, size + 0.5))
        for label, sym in block.rows:
            for i, t in enumerate(wrap(label, text_w, size)):
                lines.append(_Line(t, False, block.kind, sym, first=i == 0))
    return lines


def draw_legend(
    ax: Axes,
    blocks: Sequence[LegendBlock],
    box: tuple[float, float, float, float],
    unit: float,
    *,
    upright: bool = False,
) -> float:
    """Draw the legend (图例) at the top of ``box``; return the height used in mm.

    Rows flow into a second column, then shrink, when one column does not fit. ``upright``: the
    sheet is portrait, whose panel under the map holds fewer lines than a landscape one's.
    """
    x, y, w, h = box
    for size in (7.0 * unit, 6.2 * unit, 5.5 * unit, 4.8 * unit):
        for ncol in (1, 2):
            col_w = (w - (ncol - 1) * 4 * unit) / ncol
            sw_w, gap = 9 * unit, 2 * unit
            lines = _legend_lines(blocks, col_w - sw_w - gap, size)
            lh = size * MM_PER_PT * 1.55
            per_col = -(-len(lines) // ncol)
            head = 9 * unit
            if head + per_col * lh <= h:
                _draw_lines(
                    ax, lines, (x, y + h - head, col_w, per_col), (sw_w, gap, lh), size, unit
                )
                ax.text(
                    x, y + h, "图例", fontsize=10 * unit, fontweight="bold", va="top", ha="left"
                )
                return head + per_col * lh
    # a land-use layer of a hundred classes: the panel and the text scale together with the
    # paper, so no paper holds more lines; a landscape sheet's panel (a column) holds more
    room = max(0, 2 * int((h - head) // lh))
    turn = (
        'a landscape sheet (--orientation landscape, or orientation = "landscape" in the map) '
        "holds more; or show fewer entries "
        if upright
        else "show fewer entries "
    )
    msg = (
        f"the legend ({len(lines)} lines) does not fit the sheet's panel, which holds about "
        f"{room} in two columns at the smallest size ({size:.1f} pt), on any paper held "
        f"{'upright' if upright else 'sideways'}; {turn}(fewer classes in the layers' styles, "
        "or the layers over more maps)"
    )
    raise PublishError(msg)


def _draw_lines(
    ax: Axes,
    lines: Sequence[_Line],
    col: tuple[float, float, float, int],
    metrics: tuple[float, float, float],
    size: float,
    unit: float,
) -> None:
    x0, top, col_w, per_col = col
    sw_w, gap, lh = metrics
    for i, line in enumerate(lines):
        cx = x0 + (i // per_col) * (col_w + 4 * unit)
        cy = top - (i % per_col) * lh - lh / 2
        if line.title:
            ax.text(cx, cy, line.text, fontsize=size + 0.5, fontweight="bold", va="center")
            continue
        if line.first and line.symbol is not None and line.kind is not None:
            sh = min(lh * 0.7, 4.5 * unit)
            draw_swatch(ax, line.kind, line.symbol, (cx, cy - sh / 2, sw_w, sh), unit)
        ax.text(cx + sw_w + gap, cy, line.text, fontsize=size, va="center")
