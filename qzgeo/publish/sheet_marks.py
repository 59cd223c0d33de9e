"""Sheet furniture drawn on the paper axes: neat line and border with graticule ticks, the
north arrow and the scale bar (all positions in mm)."""

from __future__ import annotations

import math

from matplotlib.axes import Axes
from matplotlib.patches import Polygon, Rectangle
from pyproj import CRS, Transformer

from qzgeo.publish.sheet_layout import Box, Layout, format_scale, graticule_ticks, scale_bar


def frame_and_ticks(ax: Axes, layout: Layout, ground: tuple[float, ...], crs: CRS) -> None:
    """Neat line, outer border and graticule ticks with degree labels."""
    u = layout.unit
    x, y, w, h = layout.frame
    ax.add_patch(Rectangle((x, y), w, h, fill=False, linewidth=0.8 * u, edgecolor="black"))
    bx, by, bw, bh = layout.border
    ax.add_patch(Rectangle((bx, by), bw, bh, fill=False, linewidth=1.6 * u, edgecolor="black"))
    d = 0.8 * u
    ax.add_patch(Rectangle((bx + d, by + d), bw - 2 * d, bh - 2 * d, fill=False, linewidth=0.3 * u))
    size, tick = 5.5 * u, 1.5 * u
    for t in graticule_ticks((ground[0], ground[1], ground[2], ground[3]), crs):
        if t.side in ("bottom", "top"):
            tx = x + t.pos * w
            ty = y if t.side == "bottom" else y + h
            sign = -1 if t.side == "bottom" else 1
            ax.plot([tx, tx], [ty, ty + sign * tick], color="black", linewidth=0.5 * u)
            va = "top" if t.side == "bottom" else "bottom"
            ax.text(tx, ty + sign * (tick + 0.4 * u), t.label, fontsize=size, ha="center", va=va)
        else:
            ty = y + t.pos * h
            tx = x if t.side == "left" else x + w
            sign = -1 if t.side == "left" else 1
            ax.plot([tx, tx + sign * tick], [ty, ty], color="black", linewidth=0.5 * u)
            ha = "right" if t.side == "left" else "left"
            ax.text(
                tx + sign * (tick + 0.4 * u),
                ty,
                t.label,
                fontsize=size,
                rotation=90,
                ha=ha,
                va="center",
            )


def north_arrow(ax: Axes, layout: Layout, ground: tuple[float, ...], crs: CRS) -> None:
    """A north arrow in the frame's top-right corner, turned to true north at the centre."""
    u = layout.unit
    x, y, w, h = layout.frame
    cx, cy = (ground[0] + ground[2]) / 2, (ground[1] + ground[3]) / 2
    to_geo = Transformer.from_crs(crs, CRS.from_epsg(4490), always_xy=True)
    to_plane = Transformer.from_crs(CRS.from_epsg(4490), crs, always_xy=True)
    lon, lat = to_geo.transform(cx, cy)
    nx, ny = to_plane.transform(lon, lat + 0.01)
    angle = math.atan2(nx - cx, ny - cy)  # clockwise from grid north
    ox, oy, size = x + w - 12 * u, y + h - 18 * u, 11 * u

    def rot(px: float, py: float) -> tuple[float, float]:
        c, s = math.cos(angle), math.sin(angle)
        return ox + px * c + py * s, oy - px * s + py * c

    tip, left, right, notch = (
        (0, size / 2),
        (-size / 5, -size / 2),
        (size / 5, -size / 2),
        (0, -size / 4),
    )
    ax.add_patch(
        Polygon(
            [rot(*tip), rot(*left), rot(*notch)],
            closed=True,
            facecolor="black",
            edgecolor="black",
            linewidth=0.5 * u,
            zorder=5,
        )
    )
    ax.add_patch(
        Polygon(
            [rot(*tip), rot(*right), rot(*notch)],
            closed=True,
            facecolor="white",
            edgecolor="black",
            linewidth=0.5 * u,
            zorder=5,
        )
    )
    lx, ly = rot(0, size / 2 + 3.2 * u)
    ax.text(lx, ly, "北 N", fontsize=8 * u, ha="center", va="center", fontweight="bold")


def scale_block(ax: Axes, box: Box, scale: int, unit: float) -> float:
    """Scale ratio and a scale bar at the top of ``box``; return the height used."""
    x, y, w, h = box
    top = y + h
    ax.text(
        x, top, f"比例尺  {format_scale(scale)}", fontsize=9 * unit, va="top", fontweight="bold"
    )
    length, segments, bar_unit = scale_bar(scale, min(w * 0.8, 80 * unit))
    bar_mm = length / scale * 1000
    seg = bar_mm / segments
    by, bh = top - 9.5 * unit, 1.6 * unit
    for i in range(segments):
        face = "black" if i % 2 == 0 else "white"
        ax.add_patch(
            Rectangle(
                (x + i * seg, by), seg, bh, facecolor=face, edgecolor="black", linewidth=0.4 * unit
            )
        )
    div = 1000.0 if bar_unit == "km" else 1.0
    for i in (0, segments // 2, segments) if seg < 8 * unit else range(segments + 1):
        v = length / segments * i / div
        label = f"{v:g}" + (f" {bar_unit}" if i == segments else "")
        ax.text(x + i * seg, by - 0.8 * unit, label, fontsize=5.5 * unit, ha="center", va="top")
    return 15.0 * unit
