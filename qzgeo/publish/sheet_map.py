"""The map frame of a PDF sheet: layers as vector paths in the planar CRS, and their labels."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.path import Path as MplPath
from pyproj import CRS

from qzgeo.pack.class_values import class_texts
from qzgeo.pack.model import Symbol
from qzgeo.publish.render import LayerView, draw_order
from qzgeo.publish.sheet_legend import (
    MM_PER_PT,
    line_style,
    point_style,
    polygon_style,
    text_width,
)

_LABEL_MIN_MM2 = 40.0  # a polygon smaller than this on paper gets no label


def _polygon_path(geom: Any) -> MplPath:
    parts = []
    for poly in shapely.get_parts(geom):
        for ring in (poly.exterior, *poly.interiors):
            xy = shapely.get_coordinates(ring)
            codes = np.full(len(xy), MplPath.LINETO, dtype=np.uint8)
            codes[0] = MplPath.MOVETO
            codes[-1] = MplPath.CLOSEPOLY
            parts.append(MplPath(xy, codes))
    return MplPath.make_compound_path(*parts)


def _line_segments(geoms: Sequence[Any]) -> list[np.ndarray]:
    return [shapely.get_coordinates(p) for g in geoms for p in shapely.get_parts(g)]


def _symbol_groups(view: LayerView, gdf: gpd.GeoDataFrame) -> list[tuple[Symbol, np.ndarray]]:
    """Features grouped by symbol, in the style's class order (unstyled values last)."""
    style = view.style
    default = style.default if style else Symbol()
    if style is None or not style.classes or not view.class_field:
        return [(default, np.arange(len(gdf)))]
    values = class_texts(gdf[view.class_field]).to_numpy() if view.class_field in gdf else None
    if values is None:
        return [(default, np.arange(len(gdf)))]
    groups = []
    for cls, sym in style.classes.items():
        idx = np.flatnonzero(values == cls)
        if len(idx):
            groups.append((sym, idx))
    other = np.flatnonzero(~np.isin(values, list(style.classes)))
    if len(other):
        groups.append((default, other))
    return groups


def draw_layers(
    ax: Axes, views: Sequence[LayerView], crs: CRS, unit: float
) -> dict[str, gpd.GeoDataFrame]:
    """Draw every layer in the web map's draw order; return the projected layers by id."""
    projected: dict[str, gpd.GeoDataFrame] = {}
    for z, view in enumerate(draw_order(views)):
        gdf = view.prepared.gdf
        if not len(gdf):
            continue
        gdf = gdf.to_crs(crs)
        projected[view.id] = gdf
        geoms = np.asarray(gdf.geometry.values, dtype=object)
        for sym, idx in _symbol_groups(view, gdf):
            _draw_group(ax, view.prepared.kind, geoms[idx], sym, unit, z + 1)
    return projected


def _draw_group(ax: Axes, kind: str, geoms: np.ndarray, sym: Symbol, unit: float, z: int) -> None:
    types = shapely.get_type_id(geoms)
    polys = geoms[np.isin(types, (3, 6))]
    lines = geoms[np.isin(types, (1, 2, 5))]
    points = geoms[np.isin(types, (0, 4))]
    if len(polys):
        style = polygon_style(sym, unit)
        coll = PathCollection([_polygon_path(g) for g in polys], zorder=z, **style)
        ax.add_collection(coll, autolim=False)
    if len(lines):
        segs = _line_segments(list(lines))
        ax.add_collection(LineCollection(segs, zorder=z, **line_style(sym, unit)), autolim=False)
    if len(points):
        xy = shapely.get_coordinates(shapely.get_parts(points))
        ax.scatter(xy[:, 0], xy[:, 1], zorder=z + 0.5, **point_style(sym, unit))


def _anchor(geom: Any, kind: str) -> tuple[float, float, float]:
    """Label position and a size measure (area in m² for polygons, length for lines)."""
    if kind == "polygon":
        p = shapely.point_on_surface(geom)
        return p.x, p.y, float(geom.area)
    if kind == "line":
        parts = list(shapely.get_parts(geom))
        longest = max(parts, key=lambda g: g.length)
        p = longest.interpolate(0.5, normalized=True)
        return p.x, p.y, float(longest.length)
    p = shapely.get_parts(geom)[0]
    return p.x, p.y, 0.0


def label_text(value: str) -> str:
    """A data value as a sheet label: line breaks, tabs and other controls (and any other
    space) as one-line spaces, trimmed; nothing else changed.

    The sheet's writer then sets every text alike (:func:`qzgeo.publish.sheet_font.mark_missing`):
    format characters leave no mark, a ZWJ emoji sequence is one character, a private-use one
    is the missing mark. Made a space here, a zero-width joiner split 工业园区 into '工业 园区'
    and a family emoji into three marks.

    Examples
    --------
    >>> label_text(" 工业\\u200d园区\\n一期\\t")
    '工业\\u200d园区 一期'
    """
    return "".join(
        " " if c.isspace() or unicodedata.category(c) == "Cc" else c for c in value
    ).strip()


def label_candidates(
    views: Sequence[LayerView], projected: dict[str, gpd.GeoDataFrame], scale: int
) -> list[tuple[float, float, str, str, tuple[float, float] | None]]:
    """(x, y, text, kind, room) of labels: one per distinct name and layer, biggest features
    first; ``room`` is a polygon's bounding box (width, height in metres), else None."""
    out: list[tuple[float, float, float, str, str, int, tuple[float, float] | None]] = []
    for rank, view in enumerate(views):
        field = view.label_field
        gdf = projected.get(view.id)
        if not view.labels or not field or gdf is None or field not in gdf:
            continue
        kind = view.prepared.kind
        best: dict[str, tuple[float, float, float, Any]] = {}
        for geom, value in zip(gdf.geometry.values, gdf[field].to_numpy(), strict=True):
            if value is None or value != value or not str(value).strip():
                continue
            x, y, size = _anchor(geom, kind)
            text = label_text(str(value))
            if not text:
                continue
            if text not in best or size > best[text][2]:
                best[text] = (x, y, size, geom)
        for text, (x, y, size, geom) in best.items():
            paper = size / scale**2 * 1e6 if kind == "polygon" else size / scale * 1e3
            if kind == "polygon" and paper < _LABEL_MIN_MM2:
                continue
            room = None
            if kind == "polygon":
                x0, y0, x1, y1 = shapely.bounds(geom)
                room = (float(x1 - x0), float(y1 - y0))
            out.append((x, y, paper, text, kind, rank, room))
    # zones (higher in the map's layer list) and bigger features are placed first
    out.sort(key=lambda r: (r[4] != "polygon", -r[5], -r[2]))
    return [(x, y, text, kind, room) for x, y, _, text, kind, _, room in out]


def draw_labels(
    ax: Axes,
    views: Sequence[LayerView],
    projected: dict[str, gpd.GeoDataFrame],
    *,
    scale: int,
    ground: tuple[float, float, float, float],
    unit: float,
) -> int:
    """Place labels greedily without overlaps (estimated boxes in mm); return how many."""
    size = 6.5 * unit
    minx, miny, maxx, maxy = ground
    mm = scale / 1000.0  # metres of ground per mm of paper
    placed: list[tuple[float, float, float, float]] = []
    # The halo is a white copy of the label drawn as outlines (a path effect turns text into
    # paths); the label itself is a plain text on top, so that the PDF holds it as searchable,
    # copyable text (in the embedded font) exactly once.
    halo = [patheffects.Stroke(linewidth=1.6 * unit, foreground="white")]
    n = 0
    for x, y, text, kind, room in label_candidates(views, projected, scale):
        w = text_width(text, size) * mm
        h = size * MM_PER_PT * 1.3 * mm
        if room is not None and (w > room[0] or h > room[1]):
            continue  # as on the web map: a zone's name only where it fits in the zone's box
        dx = 0.0 if kind != "point" else 1.5 * unit * mm + w / 2
        cx = x + dx
        box = (cx - w / 2, y - h / 2, cx + w / 2, y + h / 2)
        if box[0] < minx or box[2] > maxx or box[1] < miny or box[3] > maxy:
            continue
        if any(
            not (box[2] < b[0] or box[0] > b[2] or box[3] < b[1] or box[1] > b[3]) for b in placed
        ):
            continue
        placed.append(box)
        for color, effects, z in (("white", halo, 1000), ("#222222", None, 1001)):
            ax.text(
                cx,
                y,
                text,
                fontsize=size,
                ha="center",
                va="center",
                color=color,
                zorder=z,
                path_effects=effects,
                clip_on=True,
            )
        n += 1
    return n
