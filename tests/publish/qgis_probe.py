"""Open a qzgeo QGIS project with the real QGIS and report what QGIS sees, as JSON.

Run by ``test_qgis_project.py`` with Debian's ``/usr/bin/python3`` (python3-qgis), never the
project's venv: ``QT_QPA_PLATFORM=offscreen /usr/bin/python3 qgis_probe.py SPEC.json``.

SPEC holds ``qgz``, ``gpkg``, ``png`` (the project rendered at its default view), ``views``
(``{name: [layer ids]}``, each rendered to ``<png stem>_<name>.png`` framed like the web
map) and ``out`` (where this JSON report goes). The probe asserts nothing: the test does.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsCategorizedSymbolRenderer,
    QgsCoordinateTransform,
    QgsLayerTreeLayer,
    QgsMapRendererParallelJob,
    QgsMapSettings,
    QgsProject,
    QgsRectangle,
    QgsSingleSymbolRenderer,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor


def color(c: QColor) -> str:
    return f"#{c.red():02x}{c.green():02x}{c.blue():02x}{c.alpha():02x}"


def symbol_info(symbol) -> dict:
    layers = []
    for i in range(symbol.symbolLayerCount()):
        sl = symbol.symbolLayer(i)
        props = sl.properties()
        info = {"class": sl.layerType(), "color": color(sl.color())}
        if sl.layerType() == "SimpleLine":
            info["width"] = float(props.get("line_width", 0))
            info["custom_dash"] = (
                props.get("customdash") if props.get("use_custom_dash") == "1" else None
            )
        if sl.layerType() == "SimpleFill":
            info["style"] = props.get("style")
        if sl.layerType() == "LinePatternFill":
            info["angle"] = float(props.get("angle", 0))
        if sl.layerType() == "SimpleMarker":
            info["size"] = float(props.get("size", 0))
            info["stroke"] = color(sl.strokeColor())
        layers.append(info)
    return {"type": symbol.type(), "layers": layers}


def renderer_info(layer: QgsVectorLayer) -> dict:
    r = layer.renderer()
    out: dict = {"type": r.type() if r else None}
    if isinstance(r, QgsCategorizedSymbolRenderer):
        out["attr"] = r.classAttribute()
        out["categories"] = [
            {"value": c.value(), "label": c.label(), "symbol": symbol_info(c.symbol())}
            for c in r.categories()
        ]
    elif isinstance(r, QgsSingleSymbolRenderer):
        out["symbol"] = symbol_info(r.symbol())
    out["labels"] = bool(layer.labelsEnabled())
    if layer.labelsEnabled() and layer.labeling() is not None:
        out["label_field"] = layer.labeling().settings().fieldName
    return out


def load_direct(gpkg: str, name: str) -> dict:
    """Load one GeoPackage layer on its own: QGIS applies the layer_styles default style."""
    layer = QgsVectorLayer(f"{gpkg}|layername={name}", name, "ogr")
    info = {"valid": layer.isValid(), **renderer_info(layer)}
    del layer
    return info


def render(project: QgsProject, layers: list, extent: QgsRectangle, path: Path) -> dict:
    settings = QgsMapSettings()
    settings.setLayers(layers)
    settings.setDestinationCrs(project.crs())
    settings.setTransformContext(project.transformContext())
    settings.setOutputSize(QSize(1280, 900))
    settings.setOutputDpi(96)
    settings.setBackgroundColor(QColor("#ffffff"))
    settings.setExtent(extent)
    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    image = job.renderedImage()
    image.save(str(path), "PNG")
    white = image.pixelColor(0, 0).name()
    painted = sum(
        image.pixelColor(x, y).name() != "#ffffff"
        for x in range(0, image.width(), 16)
        for y in range(0, image.height(), 16)
    )
    return {
        "png": str(path),
        "width": image.width(),
        "height": image.height(),
        "corner": white,
        "painted_samples": painted,
        "errors": [e.message for e in job.errors()],
    }


def view_extent(project: QgsProject, layers: list) -> QgsRectangle:
    extent = QgsRectangle()
    extent.setMinimal()
    groups = {n.layerId(): n.parent().name() for n in project.layerTreeRoot().findLayers()}
    # like the web maps: frame the zones, else the other non-base layers
    subject = (
        [lay for lay in layers if groups.get(lay.id()) == "规划分区"]
        or [lay for lay in layers if groups.get(lay.id()) != "底图"]
        or layers
    )
    for layer in subject:
        tr = QgsCoordinateTransform(layer.crs(), project.crs(), project)
        extent.combineExtentWith(tr.transformBoundingBox(layer.extent()))
    extent.scale(1.05)
    return extent


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    app = QgsApplication([], False)
    app.initQgis()
    report = probe(spec)
    Path(spec["out"]).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    QgsProject.instance().clear()
    app.exitQgis()


def probe(spec: dict) -> dict:
    project = QgsProject.instance()
    report: dict = {"read": project.read(spec["qgz"]), "qgis": Qgis.version()}
    root = project.layerTreeRoot()
    report["crs"] = project.crs().authid()
    report["ellipsoid"] = project.ellipsoid()
    report["groups"] = {
        g.name(): [c.layerId() for c in g.children() if isinstance(c, QgsLayerTreeLayer)]
        for g in root.children()
        if not isinstance(g, QgsLayerTreeLayer)
    }
    report["has_custom_order"] = root.hasCustomLayerOrder()
    report["layer_order"] = [lay.id() for lay in root.layerOrder()]  # top to bottom
    visible = [n.layerId() for n in root.findLayers() if n.isVisible()]
    report["visible"] = visible
    layers = {}
    for qid, layer in project.mapLayers().items():
        name = layer.source().rsplit("layername=", 1)[-1]  # the GeoPackage layer
        layers[name] = {
            "id": qid,
            "name": layer.name(),
            "valid": layer.isValid(),
            "source": layer.source(),
            "features": layer.featureCount(),
            "geometry": layer.geometryType(),
            "crs": layer.crs().authid(),
            **renderer_info(layer),
        }
    report["layers"] = layers
    report["direct"] = {name: load_direct(spec["gpkg"], name) for name in layers}
    ordered = [project.mapLayer(i) for i in report["layer_order"] if i in visible]
    dve = project.viewSettings().defaultViewExtent()
    report["default_view"] = [dve.xMinimum(), dve.yMinimum(), dve.xMaximum(), dve.yMaximum()]
    extent = QgsRectangle(dve) if not dve.isEmpty() else view_extent(project, ordered)
    report["render"] = render(project, ordered, extent, Path(spec["png"]))
    report["views"] = {}
    by_name = {v["id"]: k for k, v in layers.items()}
    for name, names in spec.get("views", {}).items():
        chosen = [project.mapLayer(i) for i in report["layer_order"] if by_name.get(i) in names]
        path = Path(spec["png"]).with_name(f"{Path(spec['png']).stem}_{name}.png")
        report["views"][name] = render(project, chosen, view_extent(project, chosen), path)
    return report


if __name__ == "__main__":
    main()
