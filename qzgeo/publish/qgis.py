"""A styled QGIS project for GIS staff: ``<pack>.gpkg`` and ``<pack>.qgz`` beside it.

:func:`write_qgis_project` writes

* ``<pack.name>.gpkg``: every pack layer and every analysis layer, plus the QGIS
  ``layer_styles`` table holding each layer's style (QML, and SLD for GeoServer) as the
  default style, so that QGIS styles a layer even when it is added straight from the file;
* ``<pack.name>.qgz``: a QGIS project over that GeoPackage (relative paths), with the pack's
  planar CRS, the layers grouped like the web maps (规划分区 / 控制线 / 通道 / 分析结果 /
  底图) and drawn in the maps' order (polygons under lines under points; base under zones
  under control lines under analysis results).

Both files are written atomically and are byte-identical on a re-run (GeoPackage timestamps
and the zip entry's date are pinned). The project holds internal layers: it is an internal
product, never part of a public folder.
"""

from __future__ import annotations

import io
import itertools
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
from pyproj import CRS, Transformer

from qzgeo._errors import PublishError
from qzgeo.geo.crs import planar_crs_for_bounds
from qzgeo.geo.repair import GEOMETRY_FAMILIES
from qzgeo.io.atomic import write_bytes
from qzgeo.io.write import write_gpkg
from qzgeo.pack.model import LayerStyle, Pack, Symbol
from qzgeo.publish.checks import analysis_class_field, layer_class_field
from qzgeo.publish.qml import (
    QGIS_VERSION,
    LayerSymbology,
    layer_qml,
    layer_sld,
    style_elements,
)
from qzgeo.publish.render import DRAW_GROUP, DRAW_KIND, GROUP_ORDER, GROUPS
from qzgeo.publish.xml_text import xml_text

__all__ = ["ProjectLayer", "project_layers", "write_qgis_project"]

#: ``layer_styles.update_time`` of every style (pinned: re-runs are byte-identical). The
#: millisecond makes GDAL write ``...00.001Z``, the form older GDAL (QGIS 3.22) reads without
#: a "non-conformant" warning.
STYLE_TIME = pd.Timestamp("2000-01-01T00:00:00.001", tz="UTC")
#: Date of the ``.qgs`` entry inside the ``.qgz`` zip (pinned for the same reason).
ZIP_DATE = (2000, 1, 1, 0, 0, 0)
STYLE_NAME = "qzgeo"
ANALYSIS_LAYER_TITLES = {
    "available_land": "可用地",
    "conflicts": "规划冲突",
    "zone_summary": "分区汇总",
}
CGCS2000_ELLIPSOID = "EPSG:1024"
_WKB = {"polygon": "MultiPolygon", "line": "MultiLineString", "point": "Point"}


@dataclass(frozen=True)
class ProjectLayer:
    """One layer of the project: its data, symbology, group and visibility."""

    symbology: LayerSymbology
    gdf: gpd.GeoDataFrame
    group: str
    visible: bool

    @property
    def id(self) -> str:
        """The layer's name in the GeoPackage (the catalog id or the analysis name)."""
        return self.symbology.layer_id

    @property
    def qgis_id(self) -> str:
        """The layer id in the project (QGIS replaces ids of 10 characters or fewer)."""
        return f"qzgeo_layer_{self.id}"


def _kind(gdf: gpd.GeoDataFrame, what: str) -> str:
    types = {str(t) for t in gdf.geometry.dropna().geom_type.unique()}
    kinds = {GEOMETRY_FAMILIES.get(t, "other") for t in types}
    if not kinds:
        return "polygon"
    if len(kinds) > 1 or "other" in kinds:
        msg = (
            f"{what} mixes geometry types {sorted(types)}; a QGIS layer holds one kind "
            "(polygons, lines or points): split it into one layer per kind"
        )
        raise PublishError(msg)
    return kinds.pop()


def _map_order(pack: Pack) -> list[str]:
    """Layer ids bottom-to-top, in an order that keeps every map's own order.

    Each map lists its layers bottom to top; the orders are merged by a topological sort
    (ties, and any contradiction between maps, go to the layer named first).
    """
    first: dict[str, int] = {}
    above: dict[str, set[str]] = {}
    for mspec in pack.maps.values():
        seq = [*mspec.layers, *mspec.analysis]
        for lid in seq:
            first.setdefault(lid, len(first))
            above.setdefault(lid, set())
        for lower, upper in itertools.pairwise(seq):
            above[lower].add(upper)
    below = dict.fromkeys(first, 0)
    for uppers in above.values():
        for upper in uppers:
            below[upper] += 1
    order: list[str] = []
    remaining = set(first)
    while remaining:
        ready = [n for n in remaining if below[n] == 0] or list(remaining)
        lid = min(ready, key=first.__getitem__)
        order.append(lid)
        remaining.remove(lid)
        for upper in above[lid]:
            below[upper] -= 1
    return order


def _symbology(
    pack: Pack, lid: str, gdf: gpd.GeoDataFrame, *, analysis: bool, problems: list[str]
) -> LayerSymbology | None:
    what = f"analysis layer {lid!r}" if analysis else f"layer {lid!r}"
    style = pack.styles.get(lid) or LayerStyle(lid, Symbol())
    class_field = analysis_class_field(pack, lid) if analysis else layer_class_field(pack, lid)
    label: str | None = None
    title = ANALYSIS_LAYER_TITLES.get(lid, lid) if analysis else pack.layers[lid].title
    if not analysis:
        spec = pack.layers[lid]
        label = style.label_field
        if label is None and spec.role == "zone":
            label = next((f for f in (spec.name_field, "名称") if f and f in gdf.columns), None)
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    for key, field in (("class field", class_field), ("label field", label)):
        if field and field not in gdf.columns and (key == "label field" or style.classes):
            problems.append(
                f"{what}: the style's {key} {field!r} is not a column; its columns are {columns}"
            )
            return None
    try:
        kind = _kind(gdf, what)
    except PublishError as exc:
        problems.append(str(exc))
        return None
    return LayerSymbology(
        layer_id=lid,
        kind=kind,
        style=style,
        class_field=class_field if style.classes else None,
        label_field=label,
        title=title,
    )


def project_layers(
    pack: Pack,
    layers: Mapping[str, gpd.GeoDataFrame],
    analysis: Mapping[str, gpd.GeoDataFrame],
) -> list[ProjectLayer]:
    """Every pack and analysis layer with its symbology, bottom-to-top in drawing order.

    Raises
    ------
    PublishError
        Listing every problem: a catalog layer with no data, an analysis layer named like a
        catalog layer, a style field missing from the data, a layer mixing geometry kinds.
    """
    problems: list[str] = []
    missing = [lid for lid in pack.layers if lid not in layers]
    if missing:
        problems.append(f"no data was passed for catalog layer(s) {missing}; load the pack first")
    clash = sorted(set(analysis) & (set(pack.layers) | {"layer_styles"}))
    if clash:
        problems.append(f"analysis layer name(s) {clash} clash with catalog layers; rename them")
    used = set(_map_order(pack))
    entries: list[tuple[str, bool, gpd.GeoDataFrame]] = [
        (lid, False, layers[lid]) for lid in pack.layers if lid in layers
    ]
    entries += [(name, True, gdf) for name, gdf in analysis.items() if name not in clash]
    out: list[ProjectLayer] = []
    for lid, is_analysis, gdf in entries:
        sym = _symbology(pack, lid, gdf, analysis=is_analysis, problems=problems)
        if sym is None:
            continue
        group = "分析结果" if is_analysis else GROUPS.get(pack.layers[lid].role, "规划分区")
        out.append(ProjectLayer(sym, gdf, group, visible=lid in used))
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        msg = f"cannot write the QGIS project: {len(problems)} problem(s):\n{lines}"
        raise PublishError(msg)
    order = _map_order(pack)
    rank = {lid: i for i, lid in enumerate([*order, *(p.id for p in out if p.id not in order)])}
    return sorted(
        out,
        key=lambda p: (DRAW_KIND[p.symbology.kind], DRAW_GROUP[p.group], rank[p.id]),
    )


def _styles_table(entries: Sequence[ProjectLayer], geometry_column: str) -> pd.DataFrame:
    rows = [
        {
            "f_table_catalog": "",
            "f_table_schema": "",
            "f_table_name": e.id,
            "f_geometry_column": geometry_column,
            "styleName": STYLE_NAME,
            "styleQML": layer_qml(e.symbology),
            "styleSLD": layer_sld(e.symbology),
            "useAsDefault": True,
            "description": f"qzgeo: {e.symbology.title}（由 styles/*.toml 生成）",
            "owner": "",
            "ui": "",
            "update_time": STYLE_TIME,
        }
        for e in entries
    ]
    return pd.DataFrame(rows)


# --- the project file ---------------------------------------------------------------------


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    if text is not None:
        el.text = text
    return el


def _srs(parent: ET.Element, crs: CRS) -> None:
    srs = _sub(parent, "spatialrefsys")
    _sub(srs, "wkt", crs.to_wkt())
    auth = crs.to_authority()
    if auth is not None:
        _sub(srs, "srid", auth[1])
        _sub(srs, "authid", f"{auth[0]}:{auth[1]}")
    _sub(srs, "description", crs.name)
    _sub(srs, "geographicflag", "true" if crs.is_geographic else "false")


#: Margin of the project's default view around the zones, as a share of their width/height.
VIEW_MARGIN = 0.05


def _extent(entries: Sequence[ProjectLayer], crs: CRS) -> tuple[float, float, float, float] | None:
    """The zones' extent (else every layer's) in the project CRS, like the web maps' frame."""
    shown = [e for e in entries if len(e.gdf) and e.visible]
    subject = [e for e in shown if e.group == "规划分区"] or shown
    boxes = []
    for e in subject:
        to_crs = Transformer.from_crs(e.gdf.crs, crs, always_xy=True)
        boxes.append(to_crs.transform_bounds(*e.gdf.total_bounds))
    if not boxes:
        return None
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    # room around the zones, as the web maps' padding: else the outermost zone touches the
    # canvas edge (a port on the coast, under a pixel from the bottom)
    dx, dy = VIEW_MARGIN * (x1 - x0), VIEW_MARGIN * (y1 - y0)
    return x0 - dx, y0 - dy, x1 + dx, y1 + dy


def _layer_tree(root: ET.Element, entries: Sequence[ProjectLayer], gpkg_name: str) -> None:
    tree = _sub(root, "layer-tree-group")
    top_down = list(reversed(entries))
    for gname in GROUP_ORDER:
        members = [e for e in top_down if e.group == gname]
        if not members:
            continue
        group = _sub(tree, "layer-tree-group", name=gname, checked="Qt::Checked", expanded="1")
        for e in members:
            _sub(
                group,
                "layer-tree-layer",
                id=e.qgis_id,
                name=e.symbology.title,
                source=_source(gpkg_name, e.id),
                providerKey="ogr",
                checked="Qt::Checked" if e.visible else "Qt::Unchecked",
                expanded="1" if e.symbology.class_field else "0",
            )
    order = _sub(tree, "custom-order", enabled="1")
    for e in top_down:
        _sub(order, "item", e.qgis_id)


def _source(gpkg_name: str, layer: str) -> str:
    return f"./{gpkg_name}|layername={layer}"


def _maplayer(parent: ET.Element, e: ProjectLayer, gpkg_name: str) -> None:
    sym = e.symbology
    ml = _sub(
        parent,
        "maplayer",
        type="vector",
        geometry={"polygon": "Polygon", "line": "Line", "point": "Point"}[sym.kind],
        wkbType=_WKB[sym.kind],
        labelsEnabled="1" if sym.label_field else "0",
        styleCategories="AllStyleCategories",
        hasScaleBasedVisibilityFlag="0",
        minScale="100000000",
        maxScale="0",
    )
    _sub(ml, "id", e.qgis_id)
    _sub(ml, "datasource", _source(gpkg_name, e.id))
    _sub(ml, "layername", sym.title)
    _srs(_sub(ml, "srs"), CRS.from_user_input(e.gdf.crs))
    _sub(ml, "provider", "ogr", encoding="UTF-8")
    ml.extend(style_elements(sym))


def project_qgs(
    pack: Pack,
    entries: Sequence[ProjectLayer],
    *,
    crs: CRS,
    gpkg_name: str,
) -> str:
    """The ``.qgs`` XML of the project (layers as ``./<gpkg_name>|layername=<id>``)."""
    root = ET.Element("qgis", projectname=pack.title, version=QGIS_VERSION)
    _sub(root, "homePath", path="")
    _sub(root, "title", pack.title)
    _srs(_sub(root, "projectCrs"), crs)
    _layer_tree(root, entries, gpkg_name)
    extent = _extent(entries, crs)
    if extent is not None:
        canvas = _sub(root, "mapcanvas", name="theMapCanvas", annotationsVisible="1")
        _sub(canvas, "units", "degrees" if crs.is_geographic else "meters")
        box = _sub(canvas, "extent")
        for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), extent, strict=True):
            _sub(box, tag, f"{value:.3f}")
        _sub(canvas, "rotation", "0")
        _srs(_sub(canvas, "destinationsrs"), crs)
        view = _sub(root, "ProjectViewSettings", UseProjectScales="0", rotation="0")
        corners = zip(("xmin", "ymin", "xmax", "ymax"), extent, strict=True)
        default = _sub(view, "DefaultViewExtent", **{k: f"{v:.3f}" for k, v in corners})
        _srs(default, crs)
    layers = _sub(root, "projectlayers")
    for e in entries:
        _maplayer(layers, e, gpkg_name)
    props = _sub(root, "properties")
    _sub(_sub(props, "Paths"), "Absolute", "false", type="bool")
    measure = _sub(props, "Measure")
    _sub(measure, "Ellipsoid", CGCS2000_ELLIPSOID, type="QString")
    _sub(_sub(props, "SpatialRefSys"), "ProjectionsEnabled", "1", type="int")
    units = _sub(props, "Measurement")
    _sub(units, "AreaUnits", "ha", type="QString")
    _sub(units, "DistanceUnits", "meters", type="QString")
    meta = _sub(root, "projectMetadata")
    _sub(meta, "title", pack.title)
    _sub(meta, "abstract", pack.notice)
    _sub(meta, "rights", pack.attribution)
    body = xml_text(root, space="  ")
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + body + "\n"


def _qgz_bytes(name: str, qgs: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        zf.writestr(info, qgs.encode("utf-8"))
    return buf.getvalue()


def _planar_crs(pack: Pack, entries: Sequence[ProjectLayer], planar_crs: str | CRS | None) -> CRS:
    if planar_crs is not None:
        return CRS.from_user_input(planar_crs)
    if pack.planar_crs:
        return CRS.from_user_input(pack.planar_crs)
    boxes = [e.gdf.to_crs(4490).total_bounds for e in entries if len(e.gdf)]
    if not boxes:
        msg = "the layers are empty; set planar_crs in [pack] of catalog.toml"
        raise PublishError(msg)
    lon = (min(b[0] for b in boxes), 0.0, max(b[2] for b in boxes), 0.0)
    return planar_crs_for_bounds(lon)


def write_qgis_project(
    *,
    pack: Pack,
    layers: Mapping[str, gpd.GeoDataFrame],
    analysis: Mapping[str, gpd.GeoDataFrame],
    out_dir: str | Path,
    planar_crs: str | CRS | None = None,
) -> list[Path]:
    """Write ``<pack.name>.gpkg`` and the styled QGIS project ``<pack.name>.qgz`` over it.

    Parameters
    ----------
    pack
        The plan pack (:func:`qzgeo.pack.catalog.load_pack`); its styles and maps give the
        symbology, groups and layer order.
    layers
        Catalog layer id -> GeoDataFrame (loaded and repaired,
        :func:`qzgeo.pack.load.load_pack_layers`).
    analysis
        Analysis layer name (``available_land``, ``conflicts``, ``zone_summary``) ->
        GeoDataFrame.
    out_dir
        Output folder, created if needed; the two files are replaced atomically.
    planar_crs
        Project CRS; default ``planar_crs`` of the pack, else the CGCS2000 3° GK zone of the
        data.

    Returns
    -------
    list of Path
        The GeoPackage and the ``.qgz``.

    Raises
    ------
    PublishError
        Before anything is written, listing every problem (see :func:`project_layers`).
    """
    entries = project_layers(pack, layers, analysis)
    crs = _planar_crs(pack, entries, planar_crs)
    out = Path(out_dir)
    gpkg_path = out / f"{pack.name}.gpkg"
    qgz_path = out / f"{pack.name}.qgz"
    qgs = project_qgs(pack, entries, crs=crs, gpkg_name=gpkg_path.name)
    frames: dict[str, gpd.GeoDataFrame | pd.DataFrame] = {}
    for e in sorted(entries, key=lambda e: _catalog_rank(pack, analysis, e.id)):
        frames[e.id] = e.gdf.reset_index(drop=True)
    frames["layer_styles"] = _styles_table(entries, geometry_column="geom")
    write_gpkg(gpkg_path, frames)
    write_bytes(qgz_path, _qgz_bytes(f"{pack.name}.qgs", qgs))
    return [gpkg_path, qgz_path]


def _catalog_rank(pack: Pack, analysis: Mapping[str, object], lid: str) -> int:
    ids = [*pack.layers, *analysis]
    return ids.index(lid)
