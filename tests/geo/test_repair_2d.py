"""Z/M dimensions removed in bulk: a PolygonZ layer is made 2D in one array operation and
counted per layer, not listed feature by feature; a feature with another fault keeps its
records. Oracles: the input's own x/y coordinates and shapely areas, never qzgeo's."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import shapely

from qzgeo.geo.repair import FLATTENED_IDS, RepairReport, repair_layer


def _quads(n: int, *, z: float | None = None) -> np.ndarray:
    x = np.arange(n) * 10.0
    xs = np.stack([x, x + 5, x + 5, x, x], axis=1)
    ys = np.tile([0.0, 0.0, 5.0, 5.0, 0.0], (n, 1))
    if z is None:
        return shapely.polygons(np.stack([xs, ys], axis=2))
    return shapely.polygons(np.stack([xs, ys, np.full_like(xs, z)], axis=2))


def _layer() -> gpd.GeoDataFrame:
    geoms = _quads(300, z=12.5)
    geoms[10:13] = [
        shapely.from_wkt(f"POLYGON M (({k} 0 1, {k + 1} 0 2, {k} 1 3, {k} 0 1))")
        for k in (100, 110, 120)
    ]
    geoms[20] = shapely.from_wkt("POLYGON ZM ((200 0 1 1, 201 0 1 2, 200 1 1 3, 200 0 1 1))")
    geoms[30] = shapely.Polygon([(300, 0, 1), (301, 1, 1), (301, 0, 1), (300, 1, 1), (300, 0, 1)])
    geoms[40] = _quads(1)[0]  # 2D, valid: untouched
    return gpd.GeoDataFrame(geometry=list(geoms), index=np.arange(1000, 1300), crs="EPSG:4545")


def test_a_z_layer_is_made_2d_and_counted() -> None:
    gdf = _layer()
    rep = RepairReport()
    out = repair_layer(gdf, layer_id="p", report=rep, family="polygon")
    geoms = np.asarray(out.geometry.values, dtype=object)
    assert len(out) == 300 and not shapely.has_z(geoms).any() and not shapely.has_m(geoms).any()
    same = [i for i in range(300) if i != 30]
    for i in same:  # the x/y of every feature but the bow-tie are the input's
        np.testing.assert_array_equal(
            shapely.get_coordinates(geoms[i]), shapely.get_coordinates(gdf.geometry.iloc[i])
        )
    np.testing.assert_allclose(shapely.area(geoms[same]), shapely.area(gdf.geometry.values[same]))
    counts = {f.reason: f.features for f in rep.flattened}
    assert counts == {
        "Z coordinates removed (2D analysis)": 294,  # 300 - 3 M - 1 ZM - bow-tie - 2D one
        "M coordinates removed (2D analysis)": 3,
        "Z and M coordinates removed (2D analysis)": 1,
    }
    # the bow-tie (Z too) is listed feature by feature: its area changes
    assert {(r.feature_id, r.reason.split(" (")[0]) for r in rep.records} == {
        ("1030", "Z coordinates removed"),
        ("1030", "invalid"),
    }
    assert shapely.is_valid(geoms[30])
    z = next(f for f in rep.flattened if f.reason.startswith("Z coord"))
    assert len(z.first_feature_ids) == FLATTENED_IDS and z.first_feature_ids[:3] == [
        "1000",
        "1001",
        "1002",
    ]
    assert "299 feature(s) repaired, 0 dropped" in rep.summary()  # 298 made 2D + the bow-tie
    made = json.loads(rep.to_json())["made_2d"]
    assert [m["features"] for m in made] == [3, 1, 294]  # sorted by reason


def test_the_listed_ids_do_not_depend_on_the_order_or_the_chunks() -> None:
    gdf = _layer()
    whole = RepairReport()
    repair_layer(gdf, layer_id="p", report=whole, family="polygon")
    shuffled = gdf.sample(frac=1.0, random_state=7)
    merged = RepairReport()
    for part in np.array_split(np.arange(300), 7):
        chunk = RepairReport()
        repair_layer(shuffled.iloc[part], layer_id="p", report=chunk, family="polygon")
        merged.extend(chunk)
    key = lambda r: sorted((f.reason, f.features, f.first_feature_ids) for f in r.flattened)  # noqa: E731
    assert key(merged) == key(whole)
