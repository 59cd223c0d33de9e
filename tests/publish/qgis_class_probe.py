"""Ask the real QGIS which category each feature of one layer of a project falls in, as JSON.

Run by ``test_qgis_decimal_classes.py`` with Debian's ``/usr/bin/python3`` (python3-qgis):
``QT_QPA_PLATFORM=offscreen /usr/bin/python3 qgis_class_probe.py QGZ LAYER FIELD OUT.json``.
For every feature of the project's layer whose GeoPackage layer is LAYER, and for the same layer
loaded from the GeoPackage on its own (QGIS applies its ``layer_styles`` default style): the
value of FIELD, the label of the category QGIS puts it in and that symbol's fill colour. The
probe asserts nothing: the test does.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from qgis.core import (
    QgsApplication,
    QgsCategorizedSymbolRenderer,
    QgsProject,
    QgsRenderContext,
    QgsVectorLayer,
)


def features(layer: QgsVectorLayer, field: str) -> dict:
    renderer = layer.renderer()
    out: dict = {"valid": layer.isValid(), "renderer": renderer.type() if renderer else None}
    if not isinstance(renderer, QgsCategorizedSymbolRenderer):
        return out
    labels = {item.ruleKey(): item.label() for item in renderer.legendSymbolItems()}
    out["categories"] = [[str(c.value()), c.label()] for c in renderer.categories()]
    context = QgsRenderContext()
    renderer.startRender(context, layer.fields())
    rows = []
    for f in layer.getFeatures():
        symbol = renderer.symbolForFeature(f, context)
        keys = sorted(renderer.legendKeysForFeature(f, context))
        rows.append(
            {
                "value": f[field],
                "type": type(f[field]).__name__,
                "category": labels[keys[0]] if keys else None,
                "fill": symbol.color().name() if symbol is not None else None,
            }
        )
    renderer.stopRender(context)
    out["features"] = rows
    out["labels"] = list(labels.values())
    return out


def main() -> None:
    qgz, name, field, target = sys.argv[1:5]
    app = QgsApplication([], False)
    app.initQgis()
    project = QgsProject.instance()
    report: dict = {"read": project.read(qgz)}
    layer = next(
        lay
        for lay in project.mapLayers().values()
        if lay.source().rsplit("layername=", 1)[-1] == name
    )
    report["project"] = features(layer, field)
    gpkg = str(Path(qgz).with_suffix(".gpkg"))
    direct = QgsVectorLayer(f"{gpkg}|layername={name}", name, "ogr")
    report["direct"] = features(direct, field)
    del direct
    Path(target).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    project.clear()
    app.exitQgis()


if __name__ == "__main__":
    main()
