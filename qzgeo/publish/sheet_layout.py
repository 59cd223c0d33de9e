"""Geometry of a map sheet: paper, boxes, a round scale, the scale bar and graticule ticks.

Everything here is pure arithmetic in millimetres (paper) and metres (the pack's planar,
Gauss-Krüger CRS), so that it can be checked without drawing anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from pyproj import CRS, Transformer

from qzgeo._errors import PublishError

PAPERS_MM = {"A4": (210.0, 297.0), "A3": (297.0, 420.0), "A1": (594.0, 841.0)}
ORIENTATIONS = ("landscape", "portrait")
# 1, 2, 2.5 and 5 times a power of ten: 1:10 000, 1:25 000, 1:50 000, 1:100 000, 1:200 000 ...
_SCALE_STEPS = (1.0, 2.0, 2.5, 5.0)
_TICK_STEPS_DEG = (
    1 / 3600,  # seconds of arc: a one-parcel map at 1:250 spans a few seconds
    2 / 3600,
    5 / 3600,
    10 / 3600,
    15 / 3600,
    20 / 3600,
    30 / 3600,
    1 / 60,
    2 / 60,
    5 / 60,
    10 / 60,
    15 / 60,
    20 / 60,
    30 / 60,
    1.0,
    2.0,
    5.0,
    10.0,
)

Box = tuple[float, float, float, float]  # x, y (lower left), width, height in mm
#: The largest scale a sheet is drawn at, that of China's largest standard map series (1:500):
#: a map of one point (or a few metres) frames no ground, and came out at 1:1.
LARGEST_SCALE = 500


def paper_size(paper: str, orientation: str) -> tuple[float, float]:
    """Width and height in mm of ``paper`` (A4, A3, A1) turned to ``orientation`` (any case)."""
    key = paper.upper()
    if key not in PAPERS_MM:
        msg = f"unknown paper {paper!r}; use one of {', '.join(PAPERS_MM)}"
        raise PublishError(msg)
    if orientation.lower() not in ORIENTATIONS:
        msg = f"unknown orientation {orientation!r}; use 'landscape' or 'portrait'"
        raise PublishError(msg)
    short, long_ = PAPERS_MM[key]
    return (long_, short) if orientation.lower() == "landscape" else (short, long_)


@dataclass(frozen=True)
class Layout:
    """Where things go on the page (mm from the lower-left corner)."""

    width: float
    height: float
    unit: float  # 1.0 on A3; font sizes and gaps scale with it
    border: Box  # the outer border
    title: Box  # 图名 above the map
    frame: Box  # the map frame (neat line)
    panel: Box  # legend and the sheet's notes
    side: bool  # panel beside (landscape) or below (portrait) the frame


def sheet_layout(paper: str, orientation: str, *, title_h: float | None = None) -> Layout:
    """Boxes of a sheet: title across the top, the frame, a panel right or below.

    ``title_h`` is the height in mm of the title box (default 20 mm scaled with the paper, a
    one-line title); a title wrapped onto more lines takes it from the frame and the panel.
    """
    w, h = paper_size(paper, orientation)
    unit = math.sqrt(w * h / (420.0 * 297.0))
    margin = 10.0 * unit
    border = (margin, margin, w - 2 * margin, h - 2 * margin)
    pad = 5.0 * unit
    title_h = 20.0 * unit if title_h is None else title_h
    inner_x, inner_y = margin + pad, margin + pad
    inner_w, inner_h = w - 2 * (margin + pad), h - 2 * (margin + pad) - title_h
    title = (inner_x, inner_y + inner_h, inner_w, title_h)
    # room for the graticule labels around the frame
    tick = 6.0 * unit
    side = orientation.lower() == "landscape"
    if side:
        panel_w = min(110.0 * unit, 0.3 * inner_w)
        frame = (
            inner_x + tick,
            inner_y + tick,
            inner_w - panel_w - 2 * tick - pad,
            inner_h - 2 * tick,
        )
        panel = (inner_x + inner_w - panel_w, inner_y, panel_w, inner_h)
    else:
        panel_h = 0.3 * inner_h
        frame = (
            inner_x + tick,
            inner_y + panel_h + tick + pad,
            inner_w - 2 * tick,
            inner_h - panel_h - 2 * tick - pad,
        )
        panel = (inner_x, inner_y, inner_w, panel_h)
    return Layout(w, h, unit, border, title, frame, panel, side)


def round_scale(min_scale: float) -> int:
    """The smallest round scale denominator (1, 2, 2.5, 5 × 10ⁿ) not below ``min_scale``.

    Examples
    --------
    >>> round_scale(37_000), round_scale(50_000), round_scale(120_000)
    (50000, 50000, 200000)
    """
    if not min_scale > 0 or not math.isfinite(min_scale):
        msg = f"cannot choose a scale for a ground/paper ratio of {min_scale!r}"
        raise PublishError(msg)
    exp = math.floor(math.log10(min_scale))
    for e in (exp - 1, exp, exp + 1):
        for step in _SCALE_STEPS:
            denom = step * 10.0**e
            if denom >= min_scale * (1 - 1e-9):
                return round(max(denom, 1.0))
    return int(10 ** (exp + 2))  # pragma: no cover - the loop always returns


def fit_frame(
    bounds_m: tuple[float, float, float, float],
    frame_mm: tuple[float, float],
    *,
    margin: float = 0.04,
) -> tuple[int, tuple[float, float, float, float]]:
    """A round scale showing ``bounds_m`` (planar metres) in a frame of ``frame_mm``.

    Returns the scale denominator (at least :data:`LARGEST_SCALE`) and the ground extent of
    the frame (minx, miny, maxx, maxy), centred on the bounds; ground width / paper width is
    exactly the scale.
    """
    minx, miny, maxx, maxy = bounds_m
    gw, gh = (maxx - minx) * (1 + 2 * margin), (maxy - miny) * (1 + 2 * margin)
    fw, fh = frame_mm[0] / 1000.0, frame_mm[1] / 1000.0
    scale = round_scale(max(gw / fw, gh / fh, LARGEST_SCALE))
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    hw, hh = fw * scale / 2, fh * scale / 2
    return scale, (cx - hw, cy - hh, cx + hw, cy + hh)


def format_scale(scale: int) -> str:
    """``1:50 000`` (thin-space style grouping by a plain space, as printed on Chinese maps)."""
    return "1:" + f"{scale:,}".replace(",", " ")


def scale_bar(scale: int, max_mm: float) -> tuple[float, int, str]:
    """Ground length (m), number of segments and unit of a scale bar at most ``max_mm`` long."""
    max_m = max_mm / 1000.0 * scale
    exp = math.floor(math.log10(max_m))
    length = 10.0**exp
    for step in (5.0, 2.0, 1.0):
        if step * 10.0**exp <= max_m:
            length = step * 10.0**exp
            break
    segments = {1: 5, 2: 4, 5: 5}.get(round(length / 10.0**exp), 4)
    unit = "km" if length >= 1000 else "m"
    return length, segments, unit


def tick_step(span_deg: float, target: int = 5) -> float:
    """A graticule interval (1″ … 30″, 1′ … 30′, 1°…) giving about ``target`` ticks."""
    for step in _TICK_STEPS_DEG:
        if span_deg / step <= target:
            return step
    return _TICK_STEPS_DEG[-1]


def format_degrees(value: float, axis: str) -> str:
    """``117°30′E`` / ``31°45′N`` / ``117°30′05″E`` (seconds only when not whole minutes).

    Examples
    --------
    >>> format_degrees(117.5, "lon"), format_degrees(31.0, "lat")
    ('117°30′E', '31°N')
    >>> format_degrees(117.5 + 5 / 3600, "lon")
    '117°30′05″E'
    """
    hemi = ("E" if value >= 0 else "W") if axis == "lon" else ("N" if value >= 0 else "S")
    total = round(abs(value) * 3600)
    deg, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    if seconds:
        return f"{deg}°{minutes:02d}′{seconds:02d}″{hemi}"
    return f"{deg}°{minutes:02d}′{hemi}" if minutes else f"{deg}°{hemi}"


@dataclass(frozen=True)
class Tick:
    """A graticule tick on one side of the frame, at ``pos`` (0–1 along that side)."""

    side: str  # bottom, top, left, right
    pos: float
    label: str


def graticule_ticks(ground: tuple[float, float, float, float], crs: CRS) -> list[Tick]:
    """Where meridians and parallels cross the frame's edges (planar CRS → CGCS2000 degrees)."""
    to_geo = Transformer.from_crs(crs, CRS.from_epsg(4490), always_xy=True)
    minx, miny, maxx, maxy = ground
    t = np.linspace(0.0, 1.0, 401)
    edges = {
        "bottom": (minx + t * (maxx - minx), np.full_like(t, miny), "lon"),
        "top": (minx + t * (maxx - minx), np.full_like(t, maxy), "lon"),
        "left": (np.full_like(t, minx), miny + t * (maxy - miny), "lat"),
        "right": (np.full_like(t, maxx), miny + t * (maxy - miny), "lat"),
    }
    lon, lat = to_geo.transform(
        np.array([minx, maxx, minx, maxx]), np.array([miny, miny, maxy, maxy])
    )
    steps = {"lon": tick_step(float(np.ptp(lon))), "lat": tick_step(float(np.ptp(lat)))}
    ticks: list[Tick] = []
    for side, (xs, ys, axis) in edges.items():
        glon, glat = to_geo.transform(xs, ys)
        values = np.asarray(glon if axis == "lon" else glat)
        step = steps[axis]
        lo, hi = float(values.min()), float(values.max())
        first = math.ceil(lo / step - 1e-9)
        for k in range(first, math.floor(hi / step + 1e-9) + 1):
            v = k * step
            pos = (
                float(np.interp(v, values, t))
                if values[-1] > values[0]
                else float(np.interp(v, values[::-1], t[::-1]))
            )
            if 0.02 < pos < 0.98:
                ticks.append(Tick(side, pos, format_degrees(v, axis)))
    return _spaced(ticks)


#: The least distance between two ticks of a side (of its length), about a label's width.
_MIN_TICK_GAP = 0.05


def _spaced(ticks: list[Tick]) -> list[Tick]:
    """``ticks`` less those closer than :data:`_MIN_TICK_GAP` to another of their side: where
    a frame reaches a pole, every meridian crosses its edge within a few mm and their labels
    were stacked on one spot (no one of them is the right one to keep)."""
    return [
        t
        for t in ticks
        if not any(
            o is not t and o.side == t.side and abs(o.pos - t.pos) < _MIN_TICK_GAP for o in ticks
        )
    ]
