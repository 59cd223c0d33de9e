"""A compact polygon layer for Folium maps with 100k-1M parcels.

A plain ``folium.GeoJson`` of 100 000 parcels is 60-130 MB of HTML and takes over a minute
to show, because every feature becomes a GeoJSON object, an SVG/canvas path object and a
style call. :class:`BigPolygonLayer` instead embeds the geometry as a few base64 binary
blobs (coordinates quantised and delta-encoded as zigzag varints), styles as a small class
table and tooltips as columnar string indices, and draws everything with one canvas
(``qzgeo/publish/js/biglayer.js``).

Payload format (version 1), a JSON object in the page:

``n``
    ``[features, parts, rings, vertices]``.
``parts`` / ``rings`` / ``verts``
    base64 of unsigned LEB128 varints: parts per feature, rings per part (exterior first)
    and vertices per ring (closing vertex dropped, consecutive duplicates after
    quantisation removed).
``coords``
    base64 of zigzag varints, ``x, y`` interleaved: per ring the first vertex as
    ``round((lon - origin[0]) / precision)`` (and likewise for lat), then deltas to the
    previous vertex. Exteriors are counter-clockwise, holes clockwise.
``cls`` / ``clsBytes``
    base64 of one little-endian class index per feature (1 or 2 bytes) into ``styles``;
    index 0 is ``default_style``.
``tooltip``
    ``{"fields", "aliases", "dict", "columns"}``: ``columns[i][f]`` indexes ``dict`` (or is
    ``-1`` for a missing value).
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Figure
from folium.map import Layer

from qzgeo._errors import CRSError, GeometryError, PublishError
from qzgeo.pack.class_values import class_key, class_texts
from qzgeo.publish.assets import RawElement, script_json
from qzgeo.publish.prepare import PAGE_AREA_DECIMALS

__all__ = ["YES_NO", "BigPolygonLayer", "js_json"]

#: Leaflet path options the canvas renderer understands.
STYLE_KEYS = frozenset(
    {
        "color",
        "weight",
        "opacity",
        "fill",
        "fillColor",
        "fillOpacity",
        "dashArray",
        "stroke",
        "lineCap",
        "lineJoin",
    }
)
DEFAULT_STYLE: dict[str, Any] = {
    "color": "#555555",
    "weight": 0.5,
    "opacity": 0.8,
    "fillColor": "#3388ff",
    "fillOpacity": 0.4,
}
#: How a true/false value reads in a tooltip: 是/否, not True/False (the data keep booleans).
YES_NO = {True: "是", False: "否"}
_GEOGRAPHIC_EPSG = (4490, 4326)
_METRES_PER_DEGREE = 111_320.0  # along a meridian; conservative for longitude elsewhere
_POLYGON_TYPES = (3, 6)  # shapely type ids: Polygon, MultiPolygon


def js_json(value: Any) -> str:
    """JSON safe inside ``<script>``, keys sorted (see :func:`qzgeo.publish.assets.script_json`).

    Examples
    --------
    >>> js_json({"a": "</script>"})
    '{"a":"\\\\u003c/script\\\\u003e"}'
    """
    return script_json(value, sort_keys=True)


class BigPolygonLayer(Layer):
    """A Folium overlay that draws many polygons from a compact binary encoding.

    Parameters
    ----------
    gdf : GeoDataFrame
        Polygons/MultiPolygons in EPSG:4490 or EPSG:4326 (lon/lat). Null or empty geometries
        are kept as features that draw nothing.
    name : str
        Name shown in the LayerControl; also seeds the element id, so rebuilding the same
        map gives byte-identical HTML.
    style_by : str, optional
        Column whose values (as ``str``) select a style from ``styles``.
    styles : dict of str to dict, optional
        Leaflet path options (``color``, ``weight``, ``opacity``, ``fill``, ``fillColor``,
        ``fillOpacity``, ``dashArray``, ``stroke``, ``lineCap``, ``lineJoin``) per class value.
        Features whose value is missing or not in ``styles`` get ``default_style``.
    default_style : dict, optional
        Style for everything else (see :data:`DEFAULT_STYLE`).
    tooltip_fields : sequence of str
        Columns shown (as text, never HTML) when hovering or tapping a polygon.
    tooltip_aliases : sequence of str, optional
        Labels for ``tooltip_fields``; defaults to the column names.
    show : bool
        Whether the layer is switched on when the map opens.
    precision : float
        Coordinate quantum in degrees (1e-6 degree is about 0.11 m).
    simplify_m : float, optional
        Simplify each polygon (topology-preserving) with roughly this tolerance in metres
        before encoding.

    Examples
    --------
    >>> import folium, geopandas as gpd
    >>> from shapely import box
    >>> gdf = gpd.GeoDataFrame({"cls": ["R", "G"]},
    ...     geometry=[box(117.60, 31.95, 117.61, 31.96), box(117.61, 31.95, 117.62, 31.96)],
    ...     crs="EPSG:4490")
    >>> m = folium.Map(location=[31.955, 117.61], zoom_start=14)
    >>> layer = BigPolygonLayer(gdf, name="地块", style_by="cls",
    ...     styles={"R": {"fillColor": "#f5d76e"}, "G": {"fillColor": "#66bb6a"}},
    ...     tooltip_fields=["cls"]).add_to(m)
    >>> layer.n_features
    2
    """

    def __init__(
        self,
        gdf: gpd.GeoDataFrame,
        *,
        name: str,
        style_by: str | None = None,
        styles: Mapping[str, Mapping[str, Any]] | None = None,
        default_style: Mapping[str, Any] | None = None,
        tooltip_fields: Sequence[str] = (),
        tooltip_aliases: Sequence[str] | None = None,
        show: bool = True,
        precision: float = 1e-6,
        simplify_m: float | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            msg = f"BigPolygonLayer needs a non-empty layer name; got {name!r}"
            raise PublishError(msg)
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "QzgeoBigLayer"
        _check_options(gdf, style_by, tooltip_fields, tooltip_aliases, precision, simplify_m)

        geoms = _prepare_geometry(gdf, simplify_m)
        present = geoms[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)]
        bounds = shapely.total_bounds(present) if len(present) else np.full(4, np.nan)
        has_bounds = bool(np.isfinite(bounds).all())
        origin = (float(bounds[0]), float(bounds[1])) if has_bounds else (0.0, 0.0)
        blobs, counts = _encode_geometry(geoms, origin, precision)

        style_table, cls = _classes(gdf, style_by, styles, default_style)
        cls_bytes = 1 if len(style_table) <= 256 else 2
        payload: dict[str, Any] = {
            "v": 1,
            "name": name,
            "origin": list(origin),
            "precision": precision,
            "n": counts,
            **blobs,
            "cls": _b64(cls.astype("<u1" if cls_bytes == 1 else "<u2").tobytes()),
            "clsBytes": cls_bytes,
            "styles": style_table,
            "tooltip": _tooltip(gdf, tooltip_fields, tooltip_aliases),
            "bounds": (
                [[float(bounds[1]), float(bounds[0])], [float(bounds[3]), float(bounds[2])]]
                if has_bounds
                else None
            ),
        }
        self.payload_js = js_json(payload)
        # Stable across rebuilds, distinct for different data under the same name.
        digest = hashlib.sha256(f"{name}\0{self.payload_js}".encode()).hexdigest()[:20]
        self._id = digest
        self.n_features = counts[0]
        self.n_vertices = counts[3]
        self._bounds = payload["bounds"]

    def _get_self_bounds(self) -> list[list[float | None]]:
        if self._bounds is None:
            return [[None, None], [None, None]]
        return [list(self._bounds[0]), list(self._bounds[1])]

    def render(self, **kwargs: Any) -> str:
        # Not MacroElement.render: that wraps the rendered script in Element(template=...),
        # i.e. parses the data as a Jinja template, so a tooltip value "{{ 7*7 }}" would
        # come out as "49" (and Jinja there is not sandboxed). Raw elements are never parsed.
        figure = self.get_root()
        parent = self._parent
        if not isinstance(figure, Figure) or parent is None:
            msg = "add the BigPolygonLayer to a folium.Map before rendering it"
            raise PublishError(msg)
        name = self.get_name()
        # Named child: one copy of the drawing code however many big layers the map has.
        figure.header.add_child(RawElement(_script_tag()), name="qzgeo_biglayer_js")
        figure.script.add_child(
            RawElement(f"var {name} = new L.QzgeoBigLayer({self.payload_js}, {js_json(name)});\n"),
            name=name,
        )
        if self.show:
            figure.script.add_child(
                RawElement(f"{name}.addTo({parent.get_name()});\n"), name=f"{name}_add"
            )
        for child in self._children.values():
            child.render(**kwargs)
        return ""


@cache
def _script_tag() -> str:
    js = resources.files("qzgeo.publish").joinpath("js/biglayer.js").read_text(encoding="utf-8")
    if "</script" in js.lower():  # pragma: no cover - guards edits of the JS file
        msg = "qzgeo/publish/js/biglayer.js must not contain '</script'"
        raise PublishError(msg)
    return f"<script>\n{js}</script>"


def _check_options(
    gdf: gpd.GeoDataFrame,
    style_by: str | None,
    tooltip_fields: Sequence[str],
    tooltip_aliases: Sequence[str] | None,
    precision: float,
    simplify_m: float | None,
) -> None:
    if not isinstance(gdf, gpd.GeoDataFrame):
        msg = f"BigPolygonLayer needs a GeoDataFrame; got {type(gdf).__name__}"
        raise PublishError(msg)
    if gdf.crs is None:
        msg = "the layer has no CRS; set it with gdf.set_crs('EPSG:4490') if it is lon/lat"
        raise CRSError(msg)
    if gdf.crs.to_epsg() not in _GEOGRAPHIC_EPSG:
        msg = f"BigPolygonLayer needs lon/lat; got {gdf.crs.name!r}; use to_crs('EPSG:4490')"
        raise CRSError(msg)
    if len(gdf):
        minx, miny, maxx, maxy = gdf.total_bounds
        if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
            msg = (
                f"coordinates {gdf.total_bounds.round(1).tolist()} are not degrees although"
                f" the CRS is {gdf.crs.name!r}; set the real CRS, then to_crs('EPSG:4490')"
            )
            raise CRSError(msg)
    columns = [style_by] if style_by is not None else []
    missing = [c for c in [*columns, *tooltip_fields] if c not in gdf.columns]
    if missing:
        msg = f"no column(s) {missing!r} in the layer; columns are {list(gdf.columns)!r}"
        raise PublishError(msg)
    if tooltip_aliases is not None and len(tooltip_aliases) != len(tooltip_fields):
        msg = (
            f"tooltip_aliases has {len(tooltip_aliases)} labels for {len(tooltip_fields)}"
            " tooltip_fields; give one label per field"
        )
        raise PublishError(msg)
    if not (isinstance(precision, int | float) and 0 < precision <= 1e-2):
        msg = f"precision must be in (0, 0.01] degrees; got {precision!r} (1e-6 is ~0.1 m)"
        raise PublishError(msg)
    if simplify_m is not None and not (
        isinstance(simplify_m, int | float) and math.isfinite(simplify_m) and simplify_m >= 0
    ):
        msg = f"simplify_m must be a non-negative number of metres or None; got {simplify_m!r}"
        raise PublishError(msg)


def _prepare_geometry(gdf: gpd.GeoDataFrame, simplify_m: float | None) -> np.ndarray:
    geoms = np.asarray(gdf.geometry.array, dtype=object)
    types = shapely.get_type_id(geoms)
    bad = ~np.isin(types, _POLYGON_TYPES) & ~shapely.is_empty(geoms) & (types >= 0)
    if bad.any():
        labels = gdf.index[bad][:5].tolist()
        kinds = sorted({shapely.get_type_id(g) for g in geoms[bad]})
        names = [_TYPE_NAMES.get(k, str(k)) for k in kinds]
        msg = (
            f"{int(bad.sum())} feature(s) are not polygons ({', '.join(names)}; rows"
            f" {labels!r}); BigPolygonLayer draws Polygon/MultiPolygon only: keep only the"
            " polygons (e.g. gdf.explode() and filter by geom_type)"
        )
        raise GeometryError(msg)
    if simplify_m:
        geoms = shapely.simplify(geoms, simplify_m / _METRES_PER_DEGREE, preserve_topology=True)
    # Exteriors counter-clockwise, holes clockwise: the canvas then fills with the nonzero
    # rule, which keeps holes open and never cancels overlapping neighbours.
    return np.asarray(shapely.orient_polygons(geoms, exterior_cw=False), dtype=object)


_TYPE_NAMES = {
    0: "Point",
    1: "LineString",
    2: "LinearRing",
    4: "MultiPoint",
    5: "MultiLineString",
    7: "GeometryCollection",
}


def _encode_geometry(
    geoms: np.ndarray, origin: tuple[float, float], precision: float
) -> tuple[dict[str, str], list[int]]:
    n_features = len(geoms)
    parts, part_feature = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, vertex_ring = shapely.get_coordinates(rings, return_index=True)
    n_parts, n_rings = len(parts), len(rings)

    # Drop each ring's closing vertex (it repeats the first).
    per_ring = np.bincount(vertex_ring, minlength=n_rings)
    ring_end = np.cumsum(per_ring) - 1
    keep = np.ones(len(coords), dtype=bool)
    keep[ring_end[per_ring > 0]] = False
    coords, vertex_ring = coords[keep], vertex_ring[keep]

    q = np.rint((coords - np.asarray(origin)) / precision).astype(np.int64)
    if len(q) and int(q.max()) >= 2**31:
        msg = (
            f"the layer spans {int(q.max()) * precision:.1f} degrees, too much for precision"
            f" {precision}; use a coarser precision or split the layer"
        )
        raise PublishError(msg)
    # Vertices that quantise onto their predecessor carry no information.
    first = np.ones(len(q), dtype=bool)
    first[1:] = vertex_ring[1:] != vertex_ring[:-1]
    dup = np.zeros(len(q), dtype=bool)
    dup[1:] = (q[1:] == q[:-1]).all(axis=1) & ~first[1:]
    q, vertex_ring, first = q[~dup], vertex_ring[~dup], first[~dup]

    delta = q.copy()
    delta[1:] -= q[:-1]
    delta[first] = q[first]

    blobs = {
        "parts": _b64(_varints(np.bincount(part_feature, minlength=n_features))),
        "rings": _b64(_varints(np.bincount(ring_part, minlength=n_parts))),
        "verts": _b64(_varints(np.bincount(vertex_ring, minlength=n_rings))),
        "coords": _b64(_varints(_zigzag(delta.reshape(-1)))),
    }
    return blobs, [n_features, n_parts, n_rings, len(q)]


def _zigzag(values: np.ndarray) -> np.ndarray:
    v = values.astype(np.int64)
    return ((v << 1) ^ (v >> 63)).astype(np.uint64)


def _varints(values: np.ndarray) -> bytes:
    """Unsigned LEB128 of non-negative integers, vectorised (one pass per byte position)."""
    u = np.asarray(values, dtype=np.uint64)
    if not len(u):
        return b""
    n_bytes = np.ones(len(u), dtype=np.int64)
    for bits in (7, 14, 21, 28, 35, 42, 49, 56, 63):
        n_bytes += u >= np.uint64(1 << bits)
    starts = np.cumsum(n_bytes) - n_bytes
    out = np.empty(int(starts[-1] + n_bytes[-1]), dtype=np.uint8)
    for k in range(int(n_bytes.max())):
        sel = np.flatnonzero(n_bytes > k) if k else slice(None)
        low7 = ((u[sel] >> np.uint64(7 * k)) & np.uint64(0x7F)).astype(np.uint8)
        more = (n_bytes[sel] > k + 1).astype(np.uint8) << 7
        out[starts[sel] + k] = low7 | more
    return out.tobytes()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _classes(
    gdf: gpd.GeoDataFrame,
    style_by: str | None,
    styles: Mapping[str, Mapping[str, Any]] | None,
    default_style: Mapping[str, Any] | None,
) -> tuple[list[dict[str, Any]], np.ndarray]:
    table = [
        _check_style("default_style", DEFAULT_STYLE if default_style is None else default_style)
    ]
    lookup: dict[str, int] = {}
    for key, style in (styles or {}).items():
        lookup[class_key(str(key)) or ""] = len(table)  # "1.0" is the class of 1.0, "1"
        table.append(_check_style(f"styles[{key!r}]", style))
    if len(table) > 65_536:
        msg = f"{len(table)} styles is too many for one layer; use at most 65 536 classes"
        raise PublishError(msg)
    if style_by is None or not lookup:
        return table, np.zeros(len(gdf), dtype=np.int64)
    values = gdf[style_by]
    cls = class_texts(values).map(lookup).fillna(0)  # a missing value has no class
    return table, cls.to_numpy(dtype=np.int64)


def _check_style(where: str, style: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(style, Mapping):
        msg = f"{where} must be a dict of Leaflet path options; got {style!r}"
        raise PublishError(msg)
    unknown = sorted(set(style) - STYLE_KEYS)
    if unknown:
        msg = f"{where} has unknown style key(s) {unknown!r}; use {sorted(STYLE_KEYS)!r}"
        raise PublishError(msg)
    out = dict(style)
    try:
        js_json(out)
    except (TypeError, ValueError) as exc:
        msg = f"{where} has a value that is not plain JSON (no NaN): {exc}"
        raise PublishError(msg) from exc
    return out


def _tooltip(
    gdf: gpd.GeoDataFrame, fields: Sequence[str], aliases: Sequence[str] | None
) -> dict[str, Any] | None:
    if not fields:
        return None
    # areas as the small layers' popups and every table print them (PAGE_AREA_DECIMALS)
    texts = np.concatenate([_texts(gdf[f], PAGE_AREA_DECIMALS.get(str(f))) for f in fields])
    # One dictionary for all fields, in order of first appearance (reproducible).
    codes, uniques = pd.factorize(texts, use_na_sentinel=True)
    columns = codes.reshape(len(fields), len(gdf))
    return {
        "fields": [str(f) for f in fields],
        "aliases": [str(a) for a in (aliases if aliases is not None else fields)],
        "dict": [str(u) for u in uniques],
        "columns": columns.tolist(),
    }


def _texts(column: pd.Series, decimals: int | None = None) -> np.ndarray:
    """Tooltip text of every value of a column (object array, None where missing); an area
    column's floats in fixed notation to ``decimals``, as the tables print them."""
    missing = column.isna().to_numpy().copy()
    kind = column.dtype.kind
    texts: list[str | None]
    if kind == "f":
        floats = column.to_numpy(dtype=float, na_value=np.nan)
        missing |= ~np.isfinite(floats)
        if decimals is None:
            texts = [f"{v:.10g}" for v in floats.tolist()]
        else:
            texts = [f"{v + 0.0:.{decimals}f}" for v in np.round(floats, decimals).tolist()]
    elif kind == "b" or pd.api.types.infer_dtype(column, skipna=True) == "boolean":
        texts = [None if m else YES_NO[bool(v)] for v, m in zip(column, missing, strict=True)]
    elif kind in "iu":
        texts = list(column.astype(str))
    elif pd.api.types.infer_dtype(column, skipna=True) == "string":
        texts = column.tolist()
    else:
        texts = [_display(v) for v in column.tolist()]
    out = np.array(texts, dtype=object)
    out[missing] = None
    return out


def _display(value: Any) -> str | None:
    """The tooltip text of a value; None for missing values."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating):
        if not math.isfinite(value):
            return None
        return f"{value:.10g}"
    if isinstance(value, bool | np.bool_):
        return YES_NO[bool(value)]
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)
