"""Shared helpers for the big-layer and browser tests: synthetic parcels, offline HTML, decoding."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import shapely
import xstatic.pkg.leaflet as xl

from qzgeo.publish.biglayer import BigPolygonLayer

HOSTILE = [
    "</script><script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=1">',
    "`${window.__pwned=1}`",
    "\u2028window.__pwned=1//\u2029",
    '"];window.__pwned=1;//',
    "&lt;b&gt; & <!-- -->",
    "{{ 7*7 }}{% for i in range(3) %}x{% endfor %}{# c #}",
]
CLASSES = ["R", "G", "M", "W"]
STYLES = {
    "R": {"fillColor": "#f5d76e", "color": "#444444", "weight": 1, "fillOpacity": 0.7},
    "G": {"fillColor": "#66bb6a", "color": "#444444", "weight": 1, "fillOpacity": 0.7},
    "M": {"fillColor": "#b39ddb", "color": "#444444", "weight": 1, "fillOpacity": 0.7},
}
CENTER = (21.95, 108.62)  # lat, lon: Qinzhou


def voronoi_parcels(n: int, *, seed: int = 0, side_m: float | None = None) -> gpd.GeoDataFrame:
    """``n`` Voronoi parcels (about 50 m across) near Qinzhou in EPSG:4490, seeded."""
    rng = np.random.default_rng(seed)
    side = side_m if side_m is not None else float(np.sqrt(n) * 50.0)
    frame = shapely.box(0, 0, side, side)
    pts = shapely.multipoints(rng.uniform(0, side, (n, 2)))
    cells = shapely.get_parts(shapely.voronoi_polygons(pts, extend_to=frame))
    cells = shapely.intersection(cells, frame)
    # Local metres -> degrees around Qinzhou; exact geodesy is irrelevant here.
    lat0, lon0 = CENTER
    k_lat = 1 / 110_574.0
    k_lon = 1 / (111_320.0 * np.cos(np.radians(lat0)))
    cells = shapely.transform(
        cells, lambda xy: np.column_stack([lon0 + xy[:, 0] * k_lon, lat0 + xy[:, 1] * k_lat])
    )
    m = len(cells)
    cls = rng.choice(CLASSES, m)
    names = [f"地块{i:05d}" for i in range(m)]
    for i, text in enumerate(HOSTILE):
        names[i] = text
    return gpd.GeoDataFrame(
        {
            "parcel": names,
            "cls": cls,
            "area_mu": np.round(rng.uniform(1, 50, m), 2),
        },
        geometry=cells,
        crs="EPSG:4490",
    )


def parcel_map(
    gdf: gpd.GeoDataFrame, *, fit: bool = False, zoom: int = 15, **layer_kw: object
) -> tuple[folium.Map, BigPolygonLayer]:
    """A folium map (no tiles, fixed ids) with one BigPolygonLayer and a LayerControl."""
    minx, miny, maxx, maxy = gdf.total_bounds
    m = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=zoom, tiles=None)
    m._id = "testmap"
    kw: dict[str, object] = {
        "name": "地块 parcels",
        "style_by": "cls",
        "styles": STYLES,
        "tooltip_fields": ["parcel", "cls", "area_mu"],
        "tooltip_aliases": ["地块", "类别", "面积(亩)"],
    }
    kw.update(layer_kw)
    layer = BigPolygonLayer(gdf, **kw)  # type: ignore[arg-type]
    layer.add_to(m)
    control = folium.LayerControl(collapsed=False)
    control._id = "testcontrol"
    control.add_to(m)
    if fit:
        fb = folium.FitBounds([[miny, minx], [maxy, maxx]])
        fb._id = "testfit"
        fb.add_to(m)
    return m, layer


def offline_html(m: folium.Map) -> str:
    """Render ``m`` with Leaflet inlined from xstatic-leaflet and every CDN link removed."""
    html = m.get_root().render()
    data = Path(xl.BASE_DIR)
    js = (data / "leaflet.js").read_text(encoding="utf-8")
    css = (data / "leaflet.css").read_text(encoding="utf-8")

    def data_uri(match: re.Match[str]) -> str:
        png = (data / match.group(1)).read_bytes()
        return f"url(data:image/png;base64,{base64.b64encode(png).decode()})"

    css = re.sub(r"url\((images/[\w.-]+\.png)\)", data_uri, css)
    html = re.sub(
        r'<script src="https?://[^"]*/leaflet\.js"></script>',
        lambda _: f"<script>{js}</script><style>{css}</style>",
        html,
        count=1,
    )
    html = re.sub(r'<script src="https?://[^"]*"></script>\s*', "", html)
    html = re.sub(r'<link rel="stylesheet" href="https?://[^"]*"/>\s*', "", html)
    assert not re.search(r'<(script|link)[^>]*(src|href)="https?:', html)
    return html


def decode_payload(layer: BigPolygonLayer) -> tuple[dict, list[shapely.Geometry | None]]:
    """Decode a layer's payload exactly as biglayer.js does, into lon/lat geometries."""
    payload = json.loads(layer.payload_js)
    nf, npart, nring, nvert = payload["n"]
    parts = _varints(payload["parts"], nf)
    rings = _varints(payload["rings"], npart)
    verts = _varints(payload["verts"], nring)
    raw = _varints(payload["coords"], 2 * nvert)
    q = np.where(raw % 2 == 1, -(raw + 1) // 2, raw // 2).reshape(-1, 2)
    ox, oy = payload["origin"]
    p = payload["precision"]
    geoms: list[shapely.Geometry | None] = []
    pi = ri = vi = 0
    for f in range(nf):
        polys = []
        for _ in range(parts[f]):
            ring_coords = []
            for _ in range(rings[pi]):
                n = verts[ri]
                absolute = np.cumsum(q[vi : vi + n], axis=0)
                ring_coords.append(
                    np.column_stack([ox + absolute[:, 0] * p, oy + absolute[:, 1] * p])
                )
                vi += n
                ri += 1
            pi += 1
            if ring_coords:
                polys.append(shapely.Polygon(ring_coords[0], ring_coords[1:]))
        if not polys:
            geoms.append(None)
        elif len(polys) == 1:
            geoms.append(polys[0])
        else:
            geoms.append(shapely.MultiPolygon(polys))
    return payload, geoms


def _varints(b64: str, count: int) -> np.ndarray:
    data = base64.b64decode(b64)
    out = np.zeros(count, dtype=np.int64)
    i = 0
    for k in range(count):
        value = shift = 0
        while True:
            b = data[i]
            i += 1
            value |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        out[k] = value
    assert i == len(data), "trailing bytes in a varint blob"
    return out
