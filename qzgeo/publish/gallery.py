"""The ``index.html`` gallery (one card per map) and the build ``manifest.json``."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from urllib.parse import quote

import numpy as np
import shapely

from qzgeo.pack.class_values import class_texts
from qzgeo.pack.model import Symbol
from qzgeo.publish.csp import gallery_csp
from qzgeo.publish.render import LayerView, draw_order

_W, _H = 320, 200
_MAX_FEATURES = 1500


@dataclass
class Card:
    """One gallery entry."""

    id: str
    file: str
    title: str
    title_en: str | None
    audience: str
    description: str
    n_layers: int
    thumbnail_svg: str = ""
    thumbnail_png: str | None = None
    pdf: str | None = None  # the map's PDF sheet (``publish --pdf``), relative to the gallery


def _ring_path(
    coords: np.ndarray, tx: float, ty: float, s: tuple[float, float], close: bool
) -> str:
    pts = [f"{(x - tx) * s[0]:.0f} {(ty - y) * s[1]:.0f}" for x, y in coords[:, :2]]
    if len(pts) < 2:
        return ""
    return "M" + "L".join(pts) + ("Z" if close else "")


def _geom_path(g: shapely.Geometry, tx: float, ty: float, s: tuple[float, float]) -> str:
    parts: list[str] = []
    for part in getattr(g, "geoms", [g]):
        if part.geom_type == "Polygon":
            for ring in (part.exterior, *part.interiors):
                parts.append(_ring_path(np.asarray(ring.coords), tx, ty, s, True))
        elif part.geom_type in ("LineString", "LinearRing"):
            parts.append(_ring_path(np.asarray(part.coords), tx, ty, s, False))
        elif part.geom_type == "Point":
            x, y = part.x, part.y
            parts.append(f"M{(x - tx) * s[0] - 1.5:.0f} {(ty - y) * s[1]:.0f}h3")
    return "".join(parts)


def sketch_svg(views: Sequence[LayerView], bounds: tuple[float, float, float, float]) -> str:
    """A small SVG drawing of a map's layers in their style colours (for the gallery)."""
    minx, miny, maxx, maxy = bounds
    kx = math.cos(math.radians((miny + maxy) / 2))
    span_x = max((maxx - minx) * kx, 1e-9)
    span_y = max(maxy - miny, 1e-9)
    s = min((_W - 10) / span_x, (_H - 10) / span_y)
    w, h = span_x * s, span_y * s
    ox, oy = (_W - w) / 2, (_H - h) / 2
    tol = max(span_x, span_y) / 250
    # the whole picture in lon/lat plus a margin, so clipped edges fall outside the picture
    m = 3.0
    view = (
        minx - (ox + m) / (s * kx),
        maxy - (_H - oy + m) / s,
        minx + (_W - ox + m) / (s * kx),
        maxy + (oy + m) / s,
    )
    out = [
        f'<svg class="sketch" viewBox="0 0 {_W} {_H}" width="{_W}" height="{_H}" '
        'role="img" aria-label="示意缩略图">',
        f'<rect width="{_W}" height="{_H}" fill="#eef3f6"/>',
        f'<g transform="translate({ox:.1f} {oy:.1f})">',
    ]
    for v in draw_order(views):
        gdf = v.prepared.gdf.iloc[:_MAX_FEATURES]
        geoms = np.asarray(gdf.geometry.values, dtype=object)
        # base layers (the sea...) reach far beyond the frame: draw only what is inside it
        geoms = shapely.simplify(shapely.clip_by_rect(geoms, *view), tol)
        # classes as `validate`, the legend and the sheet read them (an integer code 1 and a
        # REAL 1.0 are the style class "1"); a missing value stays missing
        classes = (
            class_texts(gdf[v.class_field]).tolist()
            if v.class_field and v.class_field in gdf.columns
            else [None] * len(gdf)
        )
        paths: dict[Symbol, list[str]] = {}
        for g, cls in zip(geoms, classes, strict=True):
            if g is None or g.is_empty:
                continue
            sym = v.style.symbol_for(cls) if v.style else Symbol()
            paths.setdefault(sym, []).append(_geom_path(g, minx, maxy, (s * kx, s)))
        for sym, parts in paths.items():
            fill = (sym.fill or "none") if v.prepared.kind == "polygon" else "none"
            out.append(
                f'<path d="{html.escape("".join(parts))}" fill="{html.escape(fill)}" '
                f'fill-opacity="0.55" stroke="{html.escape(sym.stroke)}" stroke-width="0.8" '
                'fill-rule="evenodd"/>'
            )
    out.append("</g></svg>")
    return "".join(out)


_CSS = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei",sans-serif;
margin:0;background:#f5f6f7;color:#222}
header{background:#24435c;color:#fff;padding:16px 24px}
header h1{margin:0;font-size:22px}
header p{margin:6px 0 0;font-size:13px;opacity:.9}
main{display:flex;flex-wrap:wrap;gap:18px;padding:20px 24px}
.card{background:#fff;border-radius:6px;box-shadow:0 1px 4px rgba(0,0,0,.2);width:320px;
max-width:100%;overflow:hidden;display:block}
.card a.open{text-decoration:none;color:inherit;display:block}
.card a.sheet{display:block;padding:0 12px 10px;font-size:13px;color:#24435c}
.card:hover{box-shadow:0 2px 10px rgba(0,0,0,.3)}
.card img,.card svg{display:block;width:100%;height:auto;aspect-ratio:8/5;object-fit:cover}
.card .body{padding:10px 12px}
.card h2{font-size:16px;margin:0 0 2px}
.card .en{font-size:12px;color:#666;margin:0 0 6px}
.card .desc{font-size:13px;color:#444;margin:6px 0 0}
.badge{display:inline-block;font-size:12px;padding:1px 6px;border-radius:3px;color:#fff}
.badge.public{background:#2e7d32}.badge.internal{background:#b23c17}
.meta{font-size:12px;color:#777;margin-left:6px}
footer{font-size:12px;color:#666;padding:0 24px 20px}
@media (max-width:400px){header,main,footer{padding-left:12px;padding-right:12px}}
header h1,header p,.card h2,.card .en,.card .desc,footer{overflow-wrap:anywhere}
"""


def gallery_html(title: str, notice: str, cards: Sequence[Card]) -> str:
    """The ``index.html`` page: a static, script-free gallery."""
    e = html.escape
    items = []
    for c in cards:
        badge = (
            '<span class="badge public">公开 Public</span>'
            if c.audience == "public"
            else '<span class="badge internal">内部 Internal</span>'
        )
        thumb = (
            f'<img src="{e(quote(c.thumbnail_png))}" alt="{e(c.title)}" loading="lazy"/>'
            if c.thumbnail_png
            else c.thumbnail_svg
        )
        en = f'<p class="en">{e(c.title_en)}</p>' if c.title_en else ""
        desc = f'<p class="desc">{e(c.description)}</p>' if c.description else ""
        # the sheet's link beside the page's, not inside it: links do not nest
        sheet = (
            f'<a class="sheet" href="{e(quote(c.pdf))}" type="application/pdf">'
            "PDF 图纸 · PDF sheet</a>"
            if c.pdf
            else ""
        )
        items.append(
            f'<div class="card"><a class="open" href="{e(quote(c.file))}">{thumb}'
            f'<div class="body"><h2>{e(c.title)}</h2>{en}{badge}'
            f'<span class="meta">{c.n_layers} 个图层</span>{desc}</div></a>{sheet}</div>'
        )
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8"/>\n'
        f"{gallery_csp()}\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1"/>\n'
        f"<title>{e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<header><h1>{e(title)}</h1><p>{e(notice)}</p></header>\n"
        f"<main>\n{chr(10).join(items)}\n</main>\n"
        "<footer>由 qzgeo 生成的示意地图 · Schematic maps generated by qzgeo</footer>\n"
        "</body>\n</html>\n"
    )


def package_versions() -> dict[str, str]:
    """Versions that can change the bytes of a published map."""
    out: dict[str, str] = {}
    for dist in ("qzgeo", "folium", "branca", "xstatic-leaflet", "geopandas", "shapely", "pyproj"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    out["geos"] = shapely.geos_version_string
    out["leaflet"] = "1.9.3"
    return out


def part_build(build: Mapping[str, object], part: str, ids: Sequence[str]) -> dict[str, object]:
    """The build options the manifest of ``part`` records: the public one names no internal map
    (``only`` keeps the ids of the part's maps, ``ids``)."""
    only = build.get("only")
    if part == "internal" or not isinstance(only, list):
        return dict(build)
    return {**build, "only": [m for m in only if m in ids]}


def manifest_json(
    *,
    maps: Sequence[Mapping[str, object]],
    build: Mapping[str, object],
    inputs: Mapping[str, object] | None,
    warnings: Sequence[str],
) -> str:
    """Deterministic manifest: inputs, package versions, build options, output hashes."""
    doc = {
        "generator": "qzgeo publish",
        "packages": package_versions(),
        "build": dict(build),
        "inputs": dict(inputs or {}),
        "maps": list(maps),
        "warnings": list(warnings),
    }
    return json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n"
