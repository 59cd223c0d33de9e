"""The suitability map: the result as a PNG image overlay on a one-file offline Leaflet page.

The page is built by :mod:`qzgeo.publish.render` (inlined Leaflet, legend, layer switches,
scale bar, notice box) with the pack layers the model read drawn on top. The PNG is the result
warped to Web Mercator (nearest neighbour, at most ``MAX_PX`` on a side) so that Leaflet
places it exactly; nodata is transparent.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import rasterio
import shapely
from pyproj import Transformer
from rasterio.enums import Resampling
from rasterio.errors import NotGeoreferencedWarning
from rasterio.transform import from_bounds
from rasterio.warp import reproject

from qzgeo.analysis.suitability.model import Model
from qzgeo.io.atomic import atomic_path, write_text
from qzgeo.pack.model import LayerStyle, MapSpec, Pack, Symbol
from qzgeo.publish.basemaps import basemap
from qzgeo.publish.maps import map_page
from qzgeo.publish.prepare import Prepared, prepare_layer
from qzgeo.publish.render import GROUPS, LayerView, render_page
from qzgeo.publish.suitability_write import rgba

MAX_PX = 2048
RESULT_ID = "suitability"
CLASS_FIELD = "类别"


def result_png(result: Path, target: Path, colors: Sequence[str]) -> tuple[float, ...]:
    """Write the result as an RGBA PNG in Web Mercator; return its lon/lat bounds."""
    with rasterio.open(result) as src:
        to_merc = Transformer.from_crs(src.crs, "EPSG:3857", always_xy=True)
        b = src.bounds
        minx, miny, maxx, maxy = to_merc.transform_bounds(
            b.left, b.bottom, b.right, b.top, densify_pts=51
        )
        scale = max(maxx - minx, maxy - miny) / MAX_PX
        scale = max(scale, abs(src.transform.a))  # never finer than the grid
        w = max(1, round((maxx - minx) / scale))
        h = max(1, round((maxy - miny) / scale))
        codes = np.zeros((h, w), dtype=np.uint8)
        reproject(
            rasterio.band(src, 1),
            codes,
            dst_transform=from_bounds(minx, miny, maxx, maxy, w, h),
            dst_crs="EPSG:3857",
            resampling=Resampling.nearest,
            src_nodata=0,
            dst_nodata=0,
        )
    lut = np.zeros((256, 4), dtype=np.uint8)
    for code, color in enumerate(colors, start=1):
        lut[code] = rgba(color)
        lut[code, 3] = 200  # the basemap shows through a little
    rgba_img = np.moveaxis(lut[codes], -1, 0)
    with atomic_path(target) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)  # a plain image, on purpose
        with rasterio.open(tmp, "w", driver="PNG", width=w, height=h, count=4, dtype="uint8") as d:
            d.write(rgba_img)
    to_ll = Transformer.from_crs("EPSG:3857", "EPSG:4490", always_xy=True)
    lon0, lat0 = to_ll.transform(minx, miny)
    lon1, lat1 = to_ll.transform(maxx, maxy)
    aux = target.with_name(target.name + ".aux.xml")
    aux.unlink(missing_ok=True)
    return (lon0, lat0, lon1, lat1)


def _result_view(model: Model, bounds: Sequence[float], provenance: str) -> LayerView:
    names = [c.name for c in model.classes]
    classes = {
        c.name: Symbol(fill=c.color, fill_opacity=0.8, stroke=c.color, weight=0.5, legend=c.name)
        for c in model.classes
    }
    box = shapely.box(bounds[0], bounds[1], bounds[2], bounds[3])
    gdf = gpd.GeoDataFrame({CLASS_FIELD: names}, geometry=[box] * len(names), crs="EPSG:4490")
    return LayerView(
        id=RESULT_ID,
        title=model.title,
        group="分析结果",
        prepared=Prepared(gdf=gdf, kind="polygon", vertices=0),
        style=LayerStyle(RESULT_ID, Symbol(), classes, CLASS_FIELD, None, model.title),
        class_field=CLASS_FIELD,
        label_field=None,
        name_field=None,
        fields=[],
        labels=False,
        provenance=provenance,
    )


def _pack_views(
    pack: Pack, layers: Mapping[str, gpd.GeoDataFrame], ids: Sequence[str], public: bool
) -> list[LayerView]:
    views = []
    for lid in ids:
        spec = pack.layers[lid]
        if public and not spec.is_public:
            continue
        style = pack.styles.get(lid)
        cls = spec.class_field if style and style.classes else None
        if style is not None and public and cls not in spec.publish_fields:
            # an unpublished class field stays off a public page: the layer is drawn alike
            cls, style = None, dataclasses.replace(style, classes={})
        fields = list(dict.fromkeys([*spec.publish_fields, *([cls] if cls else [])]))
        fields = [f for f in fields if f in layers[lid].columns]
        prepared = prepare_layer(
            layers[lid], fields=fields, what=f"layer {lid!r}", planar_crs=pack.planar_crs
        )
        # Zones and limits are outlines over the result image; points and lines as styled.
        if style is not None and prepared.kind == "polygon":
            outline = {
                k: Symbol(**{**vars(s), "fill_opacity": 0.0}) for k, s in style.classes.items()
            }
            style = LayerStyle(
                lid,
                Symbol(**{**vars(style.default), "fill_opacity": 0.0}),
                outline,
                style.class_field,
                style.label_field,
                style.legend_title,
                style.source_file,
            )
        name = spec.name_field if spec.name_field in fields else None
        views.append(
            LayerView(
                id=lid,
                title=spec.title,
                group=GROUPS.get(spec.role, "规划分区"),
                prepared=prepared,
                style=style,
                class_field=cls,
                label_field=None,
                name_field=name,
                fields=fields,
                labels=False,
                provenance=f"{spec.title}：{spec.source}（{spec.licence}；精度 {spec.precision}）",
            )
        )
    return views


def write_map(
    target: Path,
    *,
    pack: Pack,
    model: Model,
    layers: Mapping[str, gpd.GeoDataFrame],
    png: Path,
    png_bounds: Sequence[float],
    public: bool,
    notes: Sequence[str],
) -> Path:
    """The one-file HTML map of the result, with its legend and the model's layers."""
    ids = [lid for lid in model.layer_ids() if lid not in model.area]
    views = _pack_views(pack, layers, ids, public)
    prov = f"{model.title}：qzgeo suitability，模型 suitability/{model.name}.toml（示意）"
    views.append(_result_view(model, png_bounds, prov))
    title = model.title if public else f"{model.title}（内部）"
    mspec = MapSpec(
        id=RESULT_ID,
        title=title,
        sensitivity="public" if public else "internal",
        layers=tuple(ids),
        title_en=model.title_en,
    )
    tiles = [b for b in [basemap(model.basemap, tianditu_key=None)] if b is not None]
    page = map_page(
        pack,
        mspec,
        views,
        tiles=tiles,
        basemap=tiles[0].id if tiles else None,
        datum="wgs84",
        notes=list(notes),
    )
    lon0, lat0, lon1, lat1 = png_bounds
    page.bounds = (lon0, lat0, lon1, lat1)
    overlay = folium.raster_layers.ImageOverlay(
        str(png), bounds=[[lat0, lon0], [lat1, lon1]], pixelated=True, name=model.title
    )
    html = render_page(page, views, overlays={RESULT_ID: overlay})
    return write_text(target, html)


def write_result_map(
    folder: Path,
    *,
    pack: Pack,
    model: Model,
    layers: Mapping[str, gpd.GeoDataFrame],
    public: bool,
    notes: Sequence[str],
) -> list[Path]:
    """``result.png`` (from ``result.tif``) and ``map.html`` in ``folder``."""
    png = folder / "result.png"
    bounds = result_png(folder / "result.tif", png, [c.color for c in model.classes])
    html = write_map(
        folder / "map.html",
        pack=pack,
        model=model,
        layers=layers,
        png=png,
        png_bounds=bounds,
        public=public,
        notes=notes,
    )
    return [png, html]
