"""Tables qzgeo writes declare their geometry type, as ``geometry_columns`` (QGIS) reads it.

geopandas types the column only when every row has a geometry of one type: a NULL geometry,
or no row at all (``--to-postgis`` of a run without conflicts), made it ``geometry(Geometry,
SRID)``, which QGIS offers as one layer per type, and which takes a point into a table of
parcels.
"""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import pytest
import shapely

from qzgeo.analysis.zones import AnalysisResult
from qzgeo.io.postgis import write_postgis_layer
from qzgeo.publish.tables import write_analysis_postgis

pytestmark = pytest.mark.postgis
Sql = Callable[..., list[tuple[object, ...]]]


def _typmods(sql: Sql, schema: str) -> dict[str, tuple[object, ...]]:
    rows = sql(
        "SELECT f_table_name, type, srid, coord_dimension FROM geometry_columns "
        "WHERE f_table_schema = :s",
        {"s": schema},
    )
    return {str(r[0]): tuple(r[1:]) for r in rows}


def _parcels(geoms: list[object]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"宗地代码": [f"00{i}" for i in range(len(geoms))]}, geometry=geoms, crs="EPSG:4545"
    )


def test_null_geometries_keep_the_column_typed(pg_uri: str, pg_schema: str, pg_sql: Sql) -> None:
    box = shapely.box(500000, 2400000, 500100, 2400100)
    write_postgis_layer(_parcels([box, None]), f"{pg_uri}?table={pg_schema}.地块")
    z = shapely.force_3d(box, 7.0)
    write_postgis_layer(_parcels([None, z]), f"{pg_uri}?table={pg_schema}.z")
    assert _typmods(pg_sql, pg_schema) == {
        "地块": ("MULTIPOLYGON", 4545, 2),
        "z": ("MULTIPOLYGON", 4545, 3),
    }
    rows = pg_sql(f"SELECT 宗地代码, ST_AsText(geometry) IS NULL FROM {pg_schema}.地块 ORDER BY 1")
    assert rows == [("000", False), ("001", True)]


def test_mixed_types_stay_untyped(pg_uri: str, pg_schema: str, pg_sql: Sql) -> None:
    geoms = [shapely.box(500000, 2400000, 500100, 2400100), shapely.Point(500000, 2400000), None]
    write_postgis_layer(_parcels(geoms), f"{pg_uri}?table={pg_schema}.mixed")
    ring = shapely.LinearRing([(500000, 2400000), (500100, 2400000), (500100, 2400100)])
    write_postgis_layer(_parcels([ring, None]), f"{pg_uri}?table={pg_schema}.rings")
    assert _typmods(pg_sql, pg_schema) == {
        "mixed": ("GEOMETRY", 4545, 2),
        "rings": ("GEOMETRY", 4545, 2),  # as geopandas writes them: LineStrings
    }


def test_analysis_tables_without_rows_are_multipolygons(
    pg_uri: str, pg_schema: str, pg_sql: Sql
) -> None:
    zone = shapely.box(108.6, 21.9, 108.61, 21.91)
    land = gpd.GeoDataFrame({"area_m2": [1.0]}, geometry=[zone], crs="EPSG:4490")
    none = gpd.GeoDataFrame({"area_m2": []}, geometry=gpd.GeoSeries([]), crs="EPSG:4490")
    result = AnalysisResult(available_land=land, conflicts=none, zone_summary=land)
    write_analysis_postgis(result, f"{pg_uri}?table={pg_schema}.qz")
    assert _typmods(pg_sql, pg_schema) == {
        name: ("MULTIPOLYGON", 4490, 2)
        for name in ("qz_available_land", "qz_conflicts", "qz_zone_summary")
    }


def test_mixed_2d_and_3d_is_refused_with_the_fix(pg_uri: str, pg_schema: str, pg_sql: Sql) -> None:
    """PostgreSQL refused it ("Column has Z dimension but geometry does not"), no fix said."""
    from qzgeo._errors import OutputError

    box = shapely.box(500000, 2400000, 500100, 2400100)
    gdf = _parcels([shapely.force_3d(box, 3.0), box, None])
    with pytest.raises(OutputError) as info:
        write_postgis_layer(gdf, f"{pg_uri}?table={pg_schema}.地块")
    msg = str(info.value)
    assert f"{pg_schema}.地块" in msg and "feature 1..." in msg and "-dim XY" in msg
    assert _typmods(pg_sql, pg_schema) == {}
