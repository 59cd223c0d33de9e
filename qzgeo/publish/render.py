"""One map product as one self-contained HTML page (folium figure + the qzgeo controls).

Folium is used as the page skeleton (Figure, Map) and to host MacroElements such as the
compact big-polygon layer. Everything data-driven travels as one JSON document in a
``<script type="application/json">`` block that the qzgeo script reads with ``JSON.parse``:
no attribute value is ever pasted into JavaScript source or markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import folium
from branca.element import Element, Figure, MacroElement
from folium.template import Template

from qzgeo.pack.class_values import class_texts
from qzgeo.pack.model import LayerStyle, Symbol
from qzgeo.publish.assets import RawElement, head_html, script_json
from qzgeo.publish.basemaps import Basemap
from qzgeo.publish.csp import map_page_csp, pin_inline_scripts
from qzgeo.publish.prepare import Prepared, to_feature_collection

GROUPS = {
    "zone": "规划分区",
    "constraint": "控制线",
    "corridor": "通道",
    "analysis": "分析结果",
    "base": "底图",
}
GROUP_ORDER = ("规划分区", "控制线", "通道", "分析结果", "底图")
DRAW_GROUP = {"底图": 0, "规划分区": 1, "控制线": 2, "通道": 2, "分析结果": 3}
DRAW_KIND = {"polygon": 0, "line": 1, "point": 2}
FIELD_LABELS = {"area_ha": "面积（公顷）", "area_mu": "面积（亩）", "area_m2": "面积（m²）"}
OTHER_LABEL = "其他 Other"
_UUID_NAME_RE = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*?)_([0-9a-f]{32})\b")
_RANDOM_ID_RE = re.compile(r"[0-9a-f]{32}")
# folium's viewport forbids page zoom (maximum-scale=1, user-scalable=no): a reader with poor
# sight could not enlarge the notice or a popup (WCAG 1.4.4); the map handles its own pinch.
_VIEWPORT_RE = re.compile(r'<meta name="viewport" content="[^"]*"\s*/>')
# Shown until the page's own script hides it: with JavaScript off, and also where a site's
# Content-Security-Policy header blocks inline scripts (<noscript> stays hidden then and the
# reader would get a blank page with no clue).
FALLBACK = (
    '<div class="qz-fallback" role="alert">地图未能显示：浏览器没有运行本页的脚本'
    "（JavaScript 已关闭，网站的 Content-Security-Policy 拦截了内嵌脚本，或地图程序库"
    "未能从网络加载；网站管理员：本页需要 script-src 与 style-src 'unsafe-inline'）。"
    "The map needs its inline scripts (JavaScript off, blocked by the site's "
    "Content-Security-Policy, or its map library failed to load).</div>"
)
VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1"/>'


@dataclass
class LayerView:
    """One overlay as it appears on one map."""

    id: str
    title: str
    group: str
    prepared: Prepared
    style: LayerStyle | None
    class_field: str | None
    label_field: str | None
    name_field: str | None
    fields: list[str]
    labels: bool
    provenance: str
    big: bool = False
    field_labels: dict[str, str] = field(default_factory=dict)  # overrides FIELD_LABELS


@dataclass
class MapPage:
    """Everything a page needs besides its layers."""

    id: str
    title: str
    title_en: str | None
    notice: str
    basemaps: list[Basemap]
    basemap: str | None
    bounds: tuple[float, float, float, float]  # lon/lat; the pack's, never a default city's
    provenance: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def symbol_config(sym: Symbol) -> dict[str, Any]:
    d = asdict(sym)
    d.pop("legend", None)
    return d


def _class_values(view: LayerView) -> list[str]:
    if not view.class_field or view.class_field not in view.prepared.gdf.columns:
        return []
    return sorted(set(class_texts(view.prepared.gdf[view.class_field]).dropna()))


def legend_entries(view: LayerView) -> list[dict[str, Any]]:
    """Legend rows: styled classes present in the data, then "other" for unstyled values."""
    style = view.style
    default = style.default if style else Symbol()
    if style is None or not style.classes or not view.class_field:
        label = default.legend or view.title
        return [{"label": label, "symbol": symbol_config(default)}]
    present = _class_values(view)
    rows = [
        {"label": sym.legend or cls, "symbol": symbol_config(sym)}
        for cls, sym in style.classes.items()
        if cls in present
    ]
    if any(v not in style.classes for v in present) or not rows:
        rows.append({"label": default.legend or OTHER_LABEL, "symbol": symbol_config(default)})
    return rows


def layer_config(view: LayerView) -> dict[str, Any]:
    style = view.style
    default = style.default if style else Symbol()
    return {
        "id": view.id,
        "title": view.title,
        "group": view.group,
        "kind": view.prepared.kind,
        "show": True,
        "class_field": view.class_field,
        "label_field": view.label_field,
        "name_field": view.name_field,
        "labels": view.labels,
        "fields": [[f, field_label(view, f)] for f in view.fields],
        "styles": {c: symbol_config(s) for c, s in (style.classes if style else {}).items()},
        "default": symbol_config(default),
        "legend_title": (style.legend_title if style and style.legend_title else view.title),
        "legend": legend_entries(view),
        "data": None if view.big else to_feature_collection(view.prepared, view.class_field),
    }


def draw_order(views: Sequence[LayerView]) -> list[LayerView]:
    """Polygons under lines under points; base under zones under control lines under analysis."""
    ranked = sorted(
        enumerate(views),
        key=lambda iv: (DRAW_KIND[iv[1].prepared.kind], DRAW_GROUP[iv[1].group], iv[0]),
    )
    return [v for _, v in ranked]


def display_order(views: Sequence[LayerView]) -> list[str]:
    ranked = sorted(enumerate(views), key=lambda iv: (GROUP_ORDER.index(iv[1].group), iv[0]))
    return [v.id for _, v in ranked]


class _Literal:
    """Stands in for a jinja template whose text must be emitted as is."""

    def __init__(self, text: str) -> None:
        self.text = text

    def render(self, **kwargs: object) -> str:
        return self.text


class _Build(MacroElement):
    _template = Template(
        """
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = qzgeo.build({{ this._parent.get_name() }},
    JSON.parse(document.getElementById("qz-config").textContent));
{% endmacro %}
"""
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "qz_build"


class _Finish(MacroElement):
    _template = Template(
        """
{% macro script(this, kwargs) %}
qzgeo.finish({{ this.build.get_name() }}, {
{%- for lid, el in this.externals %}
    {{ lid|tojson }}: (typeof {{ el.get_name() }} === "undefined" ? null : {{ el.get_name() }}),
{%- endfor %}
});
{% endmacro %}
"""
    )

    def __init__(self, build: _Build, externals: list[tuple[str, Element]]) -> None:
        super().__init__()
        self._name = "qz_finish"
        self.build = build
        self.externals = externals


def _big_layer(view: LayerView, config: Mapping[str, Any]) -> Element:
    from qzgeo.publish.biglayer import BigPolygonLayer  # built alongside; imported lazily

    fields = [f for f in view.fields if f in view.prepared.gdf.columns]
    return BigPolygonLayer(
        view.prepared.gdf,
        name=view.title,
        style_by=view.class_field,
        styles={c: leaflet_style(s) for c, s in (view.style.classes if view.style else {}).items()},
        default_style=leaflet_style(view.style.default if view.style else Symbol()),
        tooltip_fields=fields,
        tooltip_aliases=[field_label(view, f) for f in fields],
        show=bool(config.get("show", True)),
    )


def field_label(view: LayerView, name: str) -> str:
    """The label of a field in popups and tooltips (Chinese where qzgeo knows one)."""
    return view.field_labels.get(name) or FIELD_LABELS.get(name, name)


def leaflet_style(sym: Symbol) -> dict[str, Any]:
    """Leaflet path options of a symbol (for layers drawn by other code)."""
    style: dict[str, Any] = {
        "color": sym.stroke,
        "weight": sym.weight,
        "opacity": sym.opacity,
        "fill": sym.fill is not None,
        "fillColor": sym.fill or sym.stroke,
        "fillOpacity": sym.fill_opacity if sym.fill else 0.0,
    }
    if sym.dash:
        style["dashArray"] = sym.dash
    return style


def _stable_ids(fig: Figure) -> None:
    """Replace folium's random element ids by a counter so that rebuilds are byte-identical."""
    counter = 0
    seen: set[int] = set()

    def walk(el: Element) -> None:
        nonlocal counter
        if id(el) in seen:
            return
        seen.add(id(el))
        counter += 1
        el._id = str(counter)
        for child in list(el._children.values()):
            walk(child)

    walk(fig)
    for part in (fig.header, fig.html, fig.script):
        walk(part)


def _render(fig: Figure) -> str:
    # Figure.render, except that the markup produced by each MacroElement is emitted verbatim:
    # branca wraps it in Element(template=...), i.e. parses data as a jinja template again.
    for child in list(fig._children.values()):
        child.render()
    for part in (fig.header, fig.html, fig.script):
        for child in part._children.values():
            if type(child) is Element and child._template_str is not None:
                child._template = _Literal(child._template_str)  # type: ignore[assignment]
    return str(fig._template.render(this=fig, kwargs={}))


def _derandomise(fig: Figure, text: str) -> str:
    # Safety net for elements created during rendering (by code we do not control): their
    # random ids are replaced, in order of appearance; data that merely looks alike is not.
    random_ids: set[str] = set()

    def collect(el: Element) -> None:
        if _RANDOM_ID_RE.fullmatch(str(el._id)):
            random_ids.add(str(el._id))
        for child in el._children.values():
            collect(child)

    collect(fig)
    for part in (fig.header, fig.html, fig.script):
        collect(part)
    if not random_ids:
        return text
    names: dict[str, str] = {}

    def sub(m: re.Match[str]) -> str:
        key = m.group(2)
        if key not in random_ids:
            return m.group(0)
        if key not in names:
            names[key] = f"r{len(names) + 1}"
        return f"{m.group(1)}_{names[key]}"

    return _UUID_NAME_RE.sub(sub, text)


def render_page(
    page: MapPage,
    views: Sequence[LayerView],
    *,
    overlays: Mapping[str, Element] | None = None,
) -> str:
    """The HTML of one map: a deterministic, self-contained page.

    ``overlays`` maps a view id to a folium layer that draws it (e.g. an image overlay); such
    a view embeds no data and keeps its legend and its switch in the layer control.
    """
    ordered = draw_order(views)
    configs = {v.id: layer_config(v) for v in ordered}
    extra = dict(overlays or {})
    for lid in extra:
        configs[lid]["data"] = None
    minx, miny, maxx, maxy = page.bounds
    config = {
        "title": page.title,
        "title_en": page.title_en,
        "notice": page.notice,
        "provenance": page.provenance,
        "warnings": page.warnings,
        "bounds": [[miny, minx], [maxy, maxx]],
        "basemap": page.basemap,
        "basemaps": [b.to_config() for b in page.basemaps],
        "layers": [configs[v.id] for v in ordered],
        "order": display_order(views),
    }
    fig = Figure()
    fig.header.add_child(RawElement('<meta charset="utf-8"/>'), name="qz_charset")
    csp = map_page_csp(basemaps=page.basemaps)
    fig.header.add_child(RawElement(csp), name="qz_csp")
    fig.header.add_child(RawElement(f"<title>{html.escape(page.title)}</title>"), name="qz_title")
    fig.header.add_child(RawElement(head_html()), name="qz_assets")
    fig.html.add_child(
        RawElement(
            '<script type="application/json" id="qz-config">'
            + script_json(config)
            + "</script>\n"
            + FALLBACK
        ),
        name="qz_config",
    )
    m = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        zoom_start=11,
        tiles=None,
        control_scale=False,
        zoom_control=True,
        prefer_canvas=False,
        # 2D positioning: fewer composited layers, so screenshots never catch a half-rastered
        # overlay (seen with headless Chromium) and old devices draw faster
        disable_3d=True,
        max_zoom=19,
    )
    # Leaflet is inlined (or SRI-linked) by head_html; jQuery, Bootstrap and the marker icon
    # fonts that folium adds by default are not needed for polygons.
    m.default_js = []
    m.default_css = []
    fig.add_child(m, name="map")
    build = _Build()
    m.add_child(build, name="qz_build")
    externals: list[tuple[str, Element]] = []
    for v in ordered:
        if v.big:
            big = _big_layer(v, configs[v.id])
            m.add_child(big, name=f"qz_big_{v.id}")
            externals.append((v.id, big))
        elif v.id in extra:
            m.add_child(extra[v.id], name=f"qz_ext_{v.id}")
            externals.append((v.id, extra[v.id]))
    m.add_child(_Finish(build, externals), name="qz_finish")
    _stable_ids(fig)
    return pin_inline_scripts(for_readers(_derandomise(fig, _render(fig))))


def for_readers(text: str) -> str:
    """A rendered folium page with ``lang="zh-CN"`` and a viewport that lets readers zoom.

    Examples
    --------
    >>> for_readers('<html>\\n<meta name="viewport" content="user-scalable=no" />')
    '<html lang="zh-CN">\\n<meta name="viewport" content="width=device-width, initial-scale=1"/>'
    """
    text = _VIEWPORT_RE.sub(VIEWPORT, text, count=1)
    return text.replace("<html>\n", '<html lang="zh-CN">\n', 1)
