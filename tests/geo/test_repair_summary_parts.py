"""The terminal line counted a feature whose non-polygonal parts were dropped (a
GeometryCollection of a polygon and a line) as "repaired": it is kept, but not whole. It is
now counted on its own, "with parts dropped"."""

from __future__ import annotations

import geopandas as gpd
import shapely

from qzgeo.geo.repair import RepairRecord, RepairReport, repair_layer


def _record(fid: str, action: str) -> RepairRecord:
    return RepairRecord("parcels", fid, "why", action, 1.0, 1.0)


def test_parts_dropped_are_named_not_counted_as_repaired() -> None:
    rep = RepairReport(
        [
            _record("1", "repaired"),
            _record("2", "parts dropped"),
            _record("3", "dropped"),
            _record("4", "repaired"),  # one feature, two records: counted once
            _record("4", "parts dropped"),
        ]
    )
    assert rep.summary(see=None) == (
        "1 feature(s) repaired, 2 with parts dropped, 1 dropped, 0 warning(s)"
    )


def test_no_parts_dropped_keeps_the_line() -> None:
    rep = RepairReport([_record("1", "repaired"), _record("2", "dropped")])
    assert rep.summary(see=None) == "1 feature(s) repaired, 1 dropped, 0 warning(s)"


def test_a_collection_read_from_a_layer_is_counted_with_parts_dropped() -> None:
    square = shapely.box(500_000, 2_400_000, 500_100, 2_400_100)
    mixed = shapely.GeometryCollection([square, shapely.LineString([(0, 0), (1, 1)])])
    gdf = gpd.GeoDataFrame(geometry=[square, mixed], crs="EPSG:4547")
    rep = RepairReport()
    out = repair_layer(gdf, layer_id="parcels", report=rep, family="polygon")
    assert len(out) == 2
    assert rep.summary(see=None) == (
        "0 feature(s) repaired, 1 with parts dropped, 0 dropped, 0 warning(s)"
    )
