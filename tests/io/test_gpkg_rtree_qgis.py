"""A streamed parcels.gpkg with its packed R-tree, opened by the real QGIS (python3-qgis).

QGIS is where GIS staff open the results: it must see the layer's spatial index and find
through it the same features a brute-force box test finds (the oracle: shapely's bounds of
the geometries written, no qzgeo code). Run with Debian's ``/usr/bin/python3``, as
``tests/publish/test_qgis_project.py`` does; skipped without QGIS unless
``QZGEO_REQUIRE_QGIS=1`` (CI).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from support import run_qgis

from qzgeo.io.gpkg_rtree import pack_leaves
from qzgeo.io.write_stream import arrow_batch, write_gpkg_stream

CRS = "EPSG:4524"

PROBE = textwrap.dedent(
    """
    import json, sys
    from qgis.core import (QgsApplication, QgsFeatureRequest, QgsFeatureSource, QgsRectangle,
                           QgsVectorLayer)
    app = QgsApplication([], False)
    app.initQgis()
    spec = json.load(open(sys.argv[1]))
    layer = QgsVectorLayer(spec["gpkg"] + "|layername=parcels", "parcels", "ogr")
    out = {"valid": layer.isValid(), "count": layer.featureCount(),
           "index": layer.hasSpatialIndex() == QgsFeatureSource.SpatialIndexPresent, "hits": []}
    for x0, y0, x1, y1 in spec["boxes"]:
        req = QgsFeatureRequest().setFilterRect(QgsRectangle(x0, y0, x1, y1))
        req.setNoAttributes()
        out["hits"].append(sorted(f["pid"] for f in layer.getFeatures(QgsFeatureRequest(req)
                                  .setSubsetOfAttributes(["pid"], layer.fields()))))
    json.dump(out, open(spec["out"], "w"))
    del layer  # before exitQgis: a layer alive then crashes QGIS on the way out
    app.exitQgis()
    """
)


def _qgis(spec: dict[str, object], folder: Path) -> dict[str, object]:
    return run_qgis(PROBE, spec, folder)  # type: ignore[no-any-return]


def test_qgis_finds_through_the_packed_index_what_a_box_test_finds(tmp_path: Path) -> None:
    rng = np.random.default_rng(21)
    n = 4_000
    x = 36_500_000 + rng.uniform(-30_000, 30_000, n)
    y = 2_400_000 + rng.uniform(-30_000, 30_000, n)
    w = rng.uniform(5, 600, n)
    geoms = shapely.box(x, y, x + w, y + w)
    gdf = gpd.GeoDataFrame({"pid": np.arange(n)}, geometry=geoms, crs=CRS)
    chunks = [gdf.iloc[a : a + 900] for a in range(0, n, 900)]
    packs = [pack_leaves(shapely.bounds(np.asarray(c.geometry.values))) for c in chunks]
    path = tmp_path / "parcels.gpkg"
    write_gpkg_stream(
        path, "parcels", iter([arrow_batch(c) for c in chunks]), crs=CRS, leaves=lambda: packs
    )
    boxes = []
    for _ in range(12):
        cx, cy = rng.uniform(36_470_000, 36_530_000), rng.uniform(2_370_000, 2_430_000)
        s = rng.choice([200.0, 2_000.0, 15_000.0])
        boxes.append((cx, cy, cx + s, cy + s))
    got = _qgis({"gpkg": str(path), "boxes": boxes, "out": str(tmp_path / "o.json")}, tmp_path)
    assert got["valid"] and got["count"] == n and got["index"]
    b = shapely.bounds(geoms)
    for (x0, y0, x1, y1), hits in zip(boxes, got["hits"], strict=True):  # type: ignore[arg-type]
        want = np.flatnonzero((b[:, 2] >= x0) & (b[:, 0] <= x1) & (b[:, 3] >= y0) & (b[:, 1] <= y1))
        assert hits == want.tolist()
