"""QGIS styles (QML) and OGC SLD from a pack's ``styles/*.toml``.

The web maps draw a :class:`~qzgeo.pack.model.Symbol` with Leaflet (``qzgeo.js``: ``pathStyle``);
this module draws the same symbol in QGIS terms so that a GIS user sees the same map:

* sizes are CSS pixels on the web; here millimetres at 96 dpi (1 px = 25.4 / 96 mm);
* a polygon is a fill symbol: a ``SimpleFill`` (``fill`` at ``fill_opacity``), a
  ``LinePatternFill`` for ``pattern = "stripe"`` (3 px stripes every 8 px at
  ``pattern_angle``, like the web's SVG pattern) and a ``SimpleLine`` outline (``stroke`` at
  ``opacity``, ``weight``, ``dash`` as a custom dash pattern);
* a line is one ``SimpleLine``; a point is a ``SimpleMarker`` circle of ``radius``;
* a layer with classes gets a ``categorizedSymbol`` renderer on its class field, plus an
  "all other values" category with the layer's own symbol; otherwise a ``singleSymbol``;
* labels come from the label field, bold dark text with a white halo like ``.qz-label``.

The XML is built with :mod:`xml.etree.ElementTree` in a fixed order, so the same style always
gives the same bytes. Nothing here imports QGIS.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass

from qzgeo.pack.model import LayerStyle, Symbol
from qzgeo.publish.colors import css_rgba
from qzgeo.publish.xml_text import xml_text

__all__ = [
    "KINDS",
    "PX_MM",
    "QGIS_VERSION",
    "LayerSymbology",
    "layer_qml",
    "layer_sld",
    "qgis_color",
    "style_elements",
]

#: Millimetres per CSS pixel (96 dpi).
PX_MM = 25.4 / 96.0
#: The QGIS version written into QML and project files (the oldest LTR the tests run on).
QGIS_VERSION = "3.22.0-Białowieża"
KINDS = ("polygon", "line", "point")
#: ``layerGeometryType`` / QgsWkbTypes::GeometryType of each kind.
_GEOMETRY_TYPE = {"point": "0", "line": "1", "polygon": "2"}
_STRIPE_PX, _STRIPE_EVERY_PX, _STRIPE_OPACITY = 3.0, 8.0, 0.9  # as qzgeo.js patternId()
_POINT_FILL_OPACITY = 0.9  # a point without `fill` is filled with its stroke colour
LABEL_COLOR = "#1a1a1a"
LABEL_FONT = "Noto Sans CJK SC"
LABEL_SIZE_PT = 10.0  # .qz-label: 13 px bold
LABEL_HALO_MM = 0.6
OTHER_LABEL = "其他"


@dataclass(frozen=True)
class LayerSymbology:
    """Everything needed to style one layer in QGIS.

    ``class_field`` is set only when the style has classes and the data has that column;
    ``label_field`` only when the layer is labelled on the web map.
    """

    layer_id: str
    kind: str
    style: LayerStyle
    class_field: str | None = None
    label_field: str | None = None
    title: str = ""


def qgis_color(value: str, opacity: float = 1.0) -> str:
    """A CSS colour at ``opacity`` as QGIS writes colours: ``"r,g,b,a"`` (0-255).

    Examples
    --------
    >>> qgis_color("#F4A6A6", 0.35)
    '244,166,166,89'
    >>> qgis_color("#abc")
    '170,187,204,255'
    """
    r, g, b, a = css_rgba(value)
    alpha = round(a * min(max(float(opacity), 0.0), 1.0))
    return f"{r},{g},{b},{alpha}"


def _num(value: float) -> str:
    """A length for QGIS XML: up to 4 decimals, no trailing zeros."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _mm(px: float) -> str:
    return _num(px * PX_MM)


def _dash_mm(dash: str) -> str:
    return ";".join(_mm(float(p)) for p in re.split(r"[ ,]+", dash.strip()) if p)


# --- symbols ------------------------------------------------------------------------------


def _options(parent: ET.Element, values: dict[str, str]) -> ET.Element:
    opt = ET.SubElement(parent, "Option", type="Map")
    for key, value in values.items():
        ET.SubElement(opt, "Option", name=key, type="QString", value=value)
    return opt


def _symbol(name: str, kind: str) -> ET.Element:
    qtype = {"polygon": "fill", "line": "line", "point": "marker"}[kind]
    return ET.Element("symbol", type=qtype, name=name, alpha="1", clip_to_extent="1", force_rhr="0")


def _symbol_layer(symbol: ET.Element, cls: str, values: dict[str, str]) -> ET.Element:
    layer = ET.SubElement(symbol, "layer", {"class": cls, "enabled": "1", "locked": "0"})
    layer.set("pass", "0")
    _options(layer, values)
    return layer


def _line_values(sym: Symbol, *, color: str, width_px: float) -> dict[str, str]:
    dashed = bool(sym.dash)
    return {
        "capstyle": "flat" if dashed else "round",
        "customdash": _dash_mm(sym.dash) if sym.dash else "5;2",
        "customdash_unit": "MM",
        "joinstyle": "round",
        "line_color": color,
        "line_style": "solid" if width_px > 0 else "no",
        "line_width": _mm(width_px),
        "line_width_unit": "MM",
        "offset": "0",
        "offset_unit": "MM",
        "use_custom_dash": "1" if dashed else "0",
    }


def _stroke_color(sym: Symbol) -> str:
    return qgis_color(sym.stroke, sym.opacity)


def _fill_symbol(sym: Symbol, name: str) -> ET.Element:
    symbol = _symbol(name, "polygon")
    fill = qgis_color(sym.fill, sym.fill_opacity) if sym.fill else "0,0,0,0"
    _symbol_layer(
        symbol,
        "SimpleFill",
        {
            "color": fill,
            "outline_style": "no",
            "outline_width": "0",
            "outline_width_unit": "MM",
            "style": "solid" if sym.fill and sym.fill_opacity > 0 else "no",
        },
    )
    if sym.pattern == "stripe":
        hatch_color = qgis_color(sym.pattern_color or sym.stroke, _STRIPE_OPACITY)
        # the web rotates a vertical stripe clockwise by pattern_angle; QGIS measures the
        # line angle counter-clockwise from horizontal
        angle = (90.0 - float(sym.pattern_angle)) % 180.0
        pattern = _symbol_layer(
            symbol,
            "LinePatternFill",
            {
                "angle": _num(angle),
                "color": hatch_color,
                "distance": _mm(_STRIPE_EVERY_PX),
                "distance_unit": "MM",
                "line_width": _mm(_STRIPE_PX),
                "line_width_unit": "MM",
                "offset": "0",
                "offset_unit": "MM",
            },
        )
        line = _symbol(f"@{name}@1", "line")
        stripe = Symbol(stroke=sym.pattern_color or sym.stroke, weight=_STRIPE_PX)
        _symbol_layer(
            line,
            "SimpleLine",
            {
                **_line_values(stripe, color=hatch_color, width_px=_STRIPE_PX),
                "capstyle": "flat",
            },
        )
        pattern.append(line)
    if sym.weight > 0:
        _symbol_layer(
            symbol,
            "SimpleLine",
            _line_values(sym, color=_stroke_color(sym), width_px=sym.weight),
        )
    return symbol


def _line_symbol(sym: Symbol, name: str) -> ET.Element:
    symbol = _symbol(name, "line")
    _symbol_layer(
        symbol, "SimpleLine", _line_values(sym, color=_stroke_color(sym), width_px=sym.weight)
    )
    return symbol


def _marker_symbol(sym: Symbol, name: str) -> ET.Element:
    symbol = _symbol(name, "point")
    fill = (
        qgis_color(sym.fill, sym.fill_opacity)
        if sym.fill
        else qgis_color(sym.stroke, _POINT_FILL_OPACITY)
    )
    _symbol_layer(
        symbol,
        "SimpleMarker",
        {
            "color": fill,
            "name": "circle",
            "outline_color": _stroke_color(sym),
            "outline_style": "solid" if sym.weight > 0 else "no",
            "outline_width": _mm(sym.weight),
            "outline_width_unit": "MM",
            "scale_method": "diameter",
            "size": _mm(2.0 * sym.radius),
            "size_unit": "MM",
        },
    )
    return symbol


def symbol_element(sym: Symbol, kind: str, name: str) -> ET.Element:
    """The ``<symbol>`` element drawing ``sym`` on a layer of geometry ``kind``."""
    if kind == "line":
        return _line_symbol(sym, name)
    if kind == "point":
        return _marker_symbol(sym, name)
    return _fill_symbol(sym, name)


def renderer_element(sym: LayerSymbology) -> ET.Element:
    """``<renderer-v2>``: categorized on the class field, else one symbol."""
    style = sym.style
    common = {"symbollevels": "0", "enableorderby": "0", "forceraster": "0"}
    if sym.class_field and style.classes:
        rend = ET.Element("renderer-v2", {"type": "categorizedSymbol", "attr": sym.class_field})
        rend.attrib.update(common)
        cats = ET.SubElement(rend, "categories")
        symbols = ET.SubElement(rend, "symbols")
        entries = [(cls, s, s.legend or cls) for cls, s in style.classes.items()]
        entries.append(("", style.default, style.default.legend or OTHER_LABEL))
        for i, (value, s, label) in enumerate(entries):
            ET.SubElement(cats, "category", value=value, label=label, symbol=str(i), render="true")
            symbols.append(symbol_element(s, sym.kind, str(i)))
        return rend
    rend = ET.Element("renderer-v2", {"type": "singleSymbol"})
    rend.attrib.update(common)
    symbols = ET.SubElement(rend, "symbols")
    symbols.append(symbol_element(style.default, sym.kind, "0"))
    return rend


def labeling_element(field: str, kind: str) -> ET.Element:
    """``<labeling type="simple">``: bold dark text with a white halo, like ``.qz-label``."""
    labeling = ET.Element("labeling", type="simple")
    settings = ET.SubElement(labeling, "settings", calloutType="simple")
    text = ET.SubElement(
        settings,
        "text-style",
        fieldName=field,
        isExpression="0",
        fontFamily=LABEL_FONT,
        fontSize=_num(LABEL_SIZE_PT),
        fontSizeUnit="Point",
        fontWeight="75",
        textColor=qgis_color(LABEL_COLOR),
        textOpacity="1",
    )
    ET.SubElement(
        text,
        "text-buffer",
        bufferDraw="1",
        bufferSize=_num(LABEL_HALO_MM),
        bufferSizeUnits="MM",
        bufferColor="255,255,255,255",
        bufferOpacity="1",
        bufferNoFill="1",
        bufferJoinStyle="128",
    )
    # placement: 1 over the centroid for polygons, 2 along lines, 0 around points
    placement = {"polygon": "1", "line": "2", "point": "0"}[kind]
    ET.SubElement(
        settings,
        "placement",
        placement=placement,
        placementFlags="10",
        centroidInside="1",
        centroidWhole="0",
        dist=_num(1.0 if kind == "point" else 0.0),
        distUnits="MM",
        quadOffset="4",
        priority="5",
    )
    ET.SubElement(
        settings,
        "rendering",
        drawLabels="1",
        obstacle="1",
        obstacleType="1",
        labelPerPart="0",
        mergeLines="1" if kind == "line" else "0",
        displayAll="0",
        upsidedownLabels="0",
    )
    return labeling


def style_elements(sym: LayerSymbology) -> list[ET.Element]:
    """The style children of a ``<maplayer>`` (project) or ``<qgis>`` (QML) element."""
    elements = [renderer_element(sym)]
    if sym.label_field:
        elements.append(labeling_element(sym.label_field, sym.kind))
    for tag, text in (("blendMode", "0"), ("featureBlendMode", "0"), ("layerOpacity", "1")):
        el = ET.Element(tag)
        el.text = text
        elements.append(el)
    return elements


def layer_qml(sym: LayerSymbology) -> str:
    """A complete QML document for ``sym`` (what QGIS stores in ``layer_styles.styleQML``)."""
    root = ET.Element(
        "qgis",
        version=QGIS_VERSION,
        styleCategories="AllStyleCategories",
        labelsEnabled="1" if sym.label_field else "0",
        hasScaleBasedVisibilityFlag="0",
        minScale="100000000",
        maxScale="0",
    )
    root.extend(style_elements(sym))
    geom = ET.SubElement(root, "layerGeometryType")
    geom.text = _GEOMETRY_TYPE[sym.kind]
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + xml_text(root) + "\n"


# --- SLD (GeoServer) ----------------------------------------------------------------------

_SLD = "http://www.opengis.net/sld"
_OGC = "http://www.opengis.net/ogc"
_SE_PARAM = "CssParameter"


def _css(parent: ET.Element, values: Iterable[tuple[str, str]]) -> None:
    for name, value in values:
        ET.SubElement(parent, f"{{{_SLD}}}{_SE_PARAM}", name=name).text = value


def _hex(value: str) -> str:
    r, g, b, _ = css_rgba(value)
    return f"#{r:02x}{g:02x}{b:02x}"


def _sld_stroke(parent: ET.Element, sym: Symbol) -> None:
    if sym.weight <= 0:
        return
    stroke = ET.SubElement(parent, f"{{{_SLD}}}Stroke")
    values = [
        ("stroke", _hex(sym.stroke)),
        ("stroke-width", _num(sym.weight)),
        ("stroke-opacity", _num(sym.opacity * css_rgba(sym.stroke)[3] / 255)),
        ("stroke-linejoin", "round"),
    ]
    if sym.dash:
        values.append(("stroke-dasharray", " ".join(re.split(r"[ ,]+", sym.dash.strip()))))
    _css(stroke, values)


def _sld_symbolizers(rule: ET.Element, sym: Symbol, kind: str) -> None:
    s = f"{{{_SLD}}}"
    if kind == "line":
        _sld_stroke(ET.SubElement(rule, f"{s}LineSymbolizer"), sym)
        return
    if kind == "point":
        graphic = ET.SubElement(ET.SubElement(rule, f"{s}PointSymbolizer"), f"{s}Graphic")
        mark = ET.SubElement(graphic, f"{s}Mark")
        ET.SubElement(mark, f"{s}WellKnownName").text = "circle"
        opacity = sym.fill_opacity if sym.fill else _POINT_FILL_OPACITY
        fill = ET.SubElement(mark, f"{s}Fill")
        _css(fill, [("fill", _hex(sym.fill or sym.stroke)), ("fill-opacity", _num(opacity))])
        _sld_stroke(mark, sym)
        ET.SubElement(graphic, f"{s}Size").text = _num(2 * sym.radius)
        return
    poly = ET.SubElement(rule, f"{s}PolygonSymbolizer")
    if sym.fill and sym.fill_opacity > 0:
        fill = ET.SubElement(poly, f"{s}Fill")
        _css(fill, [("fill", _hex(sym.fill)), ("fill-opacity", _num(sym.fill_opacity))])
    _sld_stroke(poly, sym)
    if sym.pattern == "stripe":
        # GeoServer's hatch marks: a second symbolizer with a graphic fill
        hatch = ET.SubElement(ET.SubElement(rule, f"{s}PolygonSymbolizer"), f"{s}Fill")
        graphic = ET.SubElement(ET.SubElement(hatch, f"{s}GraphicFill"), f"{s}Graphic")
        mark = ET.SubElement(graphic, f"{s}Mark")
        angle = (90.0 - float(sym.pattern_angle)) % 180.0
        ET.SubElement(mark, f"{s}WellKnownName").text = (
            "shape://slash" if angle < 90 else "shape://backslash"
        )
        _sld_stroke(mark, Symbol(stroke=sym.pattern_color or sym.stroke, weight=_STRIPE_PX))
        ET.SubElement(graphic, f"{s}Size").text = _num(_STRIPE_EVERY_PX)


def layer_sld(sym: LayerSymbology) -> str:
    """The same symbology as OGC SLD 1.0 (``layer_styles.styleSLD``, for GeoServer)."""
    ET.register_namespace("sld", _SLD)
    ET.register_namespace("ogc", _OGC)
    s, o = f"{{{_SLD}}}", f"{{{_OGC}}}"
    root = ET.Element(f"{s}StyledLayerDescriptor", version="1.0.0")
    layer = ET.SubElement(root, f"{s}NamedLayer")
    ET.SubElement(layer, f"{s}Name").text = sym.layer_id
    fts = ET.SubElement(ET.SubElement(layer, f"{s}UserStyle"), f"{s}FeatureTypeStyle")
    style = sym.style
    if sym.class_field and style.classes:
        for cls, csym in [*style.classes.items(), ("", style.default)]:
            rule = ET.SubElement(fts, f"{s}Rule")
            ET.SubElement(rule, f"{s}Name").text = csym.legend or cls or OTHER_LABEL
            if cls:
                equal = ET.SubElement(ET.SubElement(rule, f"{o}Filter"), f"{o}PropertyIsEqualTo")
                ET.SubElement(equal, f"{o}PropertyName").text = sym.class_field
                ET.SubElement(equal, f"{o}Literal").text = cls
            else:
                ET.SubElement(rule, f"{s}ElseFilter")
            _sld_symbolizers(rule, csym, sym.kind)
    else:
        rule = ET.SubElement(fts, f"{s}Rule")
        ET.SubElement(rule, f"{s}Name").text = style.default.legend or sym.title or sym.layer_id
        _sld_symbolizers(rule, style.default, sym.kind)
    if sym.label_field:
        _sld_label(ET.SubElement(fts, f"{s}Rule"), sym.label_field)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + xml_text(root) + "\n"


def _sld_label(rule: ET.Element, field: str) -> None:
    s = f"{{{_SLD}}}"
    text = ET.SubElement(rule, f"{s}TextSymbolizer")
    ET.SubElement(ET.SubElement(text, f"{s}Label"), f"{{{_OGC}}}PropertyName").text = field
    font = ET.SubElement(text, f"{s}Font")
    _css(font, [("font-family", LABEL_FONT), ("font-size", "13"), ("font-weight", "bold")])
    halo = ET.SubElement(text, f"{s}Halo")
    ET.SubElement(halo, f"{s}Radius").text = "1.5"
    _css(ET.SubElement(halo, f"{s}Fill"), [("fill", "#ffffff")])
    _css(ET.SubElement(text, f"{s}Fill"), [("fill", LABEL_COLOR)])
