"""Round trips through a real PostGIS server."""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon

from qzgeo._errors import CRSError, InputError, OutputError
from qzgeo.geo.area import ellipsoidal_area
from qzgeo.io.postgis import read_postgis_layer, write_postgis_layer
from qzgeo.io.postgis_uri import with_table

pytestmark = pytest.mark.postgis

Sql = Callable[..., list[tuple[object, ...]]]


def _parcels_4490() -> gpd.GeoDataFrame:
    """Three parcels near Qinzhou: one with a hole, one multipolygon, one plain."""
    with_hole = Polygon(
        [(108.60, 21.95), (108.62, 21.95), (108.62, 21.97), (108.60, 21.97)],
        holes=[[(108.605, 21.955), (108.605, 21.960), (108.610, 21.960), (108.610, 21.955)]],
    )
    multi = MultiPolygon(
        [shapely.box(108.63, 21.95, 108.64, 21.96), shapely.box(108.65, 21.95, 108.651, 21.951)]
    )
    plain = Polygon([(108.70, 22.00), (108.72, 22.01), (108.705, 22.03)])
    return gpd.GeoDataFrame(
        {
            "地块编号": ["QZ-001", "QZ-002", "QZ-003"],
            "用地性质": ["工业用地", "港口用地", "生态保护红线"],
            "面积_亩": [1.5, 2.25, None],
            "层数": [3, 1, 0],
        },
        geometry=[with_hole, multi, plain],
        crs="EPSG:4490",
    )


def _assert_same(read: gpd.GeoDataFrame, written: gpd.GeoDataFrame) -> None:
    assert read.crs == written.crs
    assert list(read.columns) == list(written.columns)
    for col in written.columns.drop(written.geometry.name):
        assert read[col].tolist() == pytest.approx(written[col].tolist(), nan_ok=True)
    assert (read.geom_type == "MultiPolygon").all()
    for a, b in zip(read.geometry, written.geometry, strict=True):
        # Bit-exact coordinates: WKB carries doubles unchanged through PostGIS.
        np.testing.assert_array_equal(shapely.get_coordinates(a), shapely.get_coordinates(b))
        assert a.equals(b)


def _geometry_columns(sql: Sql, schema: str, table: str) -> list[tuple[object, ...]]:
    return sql(
        "SELECT f_geometry_column, type, srid FROM geometry_columns "
        "WHERE f_table_schema = :s AND f_table_name = :t",
        {"s": schema, "t": table},
    )


def test_round_trip_cgcs2000_geographic(pg_uri: str, pg_schema: str, pg_sql: Sql) -> None:
    gdf = _parcels_4490()
    uri = f"{pg_uri}?table={pg_schema}.地块"
    write_postgis_layer(gdf, uri)
    _assert_same(read_postgis_layer(uri), gdf)
    assert _geometry_columns(pg_sql, pg_schema, "地块") == [("geometry", "MULTIPOLYGON", 4490)]
    assert gdf.geom_type.tolist() == ["Polygon", "MultiPolygon", "Polygon"]  # input untouched


def test_round_trip_gauss_kruger_with_geom_name(pg_uri: str, pg_schema: str, pg_sql: Sql) -> None:
    gdf = _parcels_4490().to_crs("EPSG:4524")  # CGCS2000 GK zone 36, zone-prefixed eastings
    assert gdf.total_bounds[0] > 36_000_000
    uri = f"{pg_uri}?table={pg_schema}.parcels_gk&geom=geom"
    write_postgis_layer(gdf, uri)
    read = read_postgis_layer(uri)
    assert read.geometry.name == "geom"
    _assert_same(read, gdf.rename_geometry("geom"))
    assert _geometry_columns(pg_sql, pg_schema, "parcels_gk") == [("geom", "MULTIPOLYGON", 4524)]
    index = pg_sql(
        "SELECT indexname FROM pg_indexes WHERE schemaname = :s AND tablename = 'parcels_gk'",
        {"s": pg_schema},
    )
    assert index == [("idx_parcels_gk_geom",)]


def test_area_agrees_with_postgis_geography(pg_uri: str, pg_schema: str, pg_sql: Sql) -> None:
    gdf = _parcels_4490()
    write_postgis_layer(gdf, f"{pg_uri}?table={pg_schema}.parcels")
    rows = pg_sql(
        f'SELECT "地块编号", ST_Area(geometry::geography) FROM {pg_schema}.parcels '
        'ORDER BY "地块编号"'
    )
    postgis = np.array([float(r[1]) for r in rows])  # type: ignore[arg-type]
    ours = ellipsoidal_area(gdf.sort_values("地块编号").geometry)
    assert (postgis > 100_000).all()
    np.testing.assert_allclose(ours, postgis, rtol=1e-6)


def test_replace_replaces_and_other_modes(pg_uri: str, pg_schema: str) -> None:
    gdf = _parcels_4490()
    uri = f"{pg_uri}?table={pg_schema}.parcels"
    write_postgis_layer(gdf, uri)
    write_postgis_layer(gdf.iloc[:2], uri)
    assert read_postgis_layer(uri)["地块编号"].tolist() == ["QZ-001", "QZ-002"]
    with pytest.raises(OutputError, match="already exists"):
        write_postgis_layer(gdf, uri, if_exists="fail")
    write_postgis_layer(gdf.iloc[2:], uri, if_exists="append")
    assert read_postgis_layer(uri)["地块编号"].tolist() == ["QZ-001", "QZ-002", "QZ-003"]
    with pytest.raises(OutputError, match="EPSG"):
        write_postgis_layer(gdf.to_crs("EPSG:4524"), uri, if_exists="append")


def test_failed_replace_keeps_old_table(pg_uri: str, pg_schema: str, pg_sql: Sql) -> None:
    gdf = _parcels_4490()
    uri = f"{pg_uri}?table={pg_schema}.parcels"
    write_postgis_layer(gdf, uri)
    # A dependent view makes DROP TABLE fail after the new rows were written.
    pg_sql(f"CREATE VIEW {pg_schema}.v AS SELECT * FROM {pg_schema}.parcels")
    with pytest.raises(OutputError, match="previous table is unchanged"):
        write_postgis_layer(gdf.iloc[:1], uri)
    assert len(read_postgis_layer(uri)) == 3
    tables = pg_sql(
        "SELECT tablename FROM pg_tables WHERE schemaname = :s ORDER BY 1", {"s": pg_schema}
    )
    assert tables == [("parcels",)]


def test_missing_table_lists_existing_tables(pg_uri: str, pg_schema: str) -> None:
    uri = f"{pg_uri}?table={pg_schema}.zones"
    write_postgis_layer(_parcels_4490(), with_table(uri, "地块"))
    write_postgis_layer(_parcels_4490(), with_table(uri, "roads"))
    with pytest.raises(InputError) as info:
        read_postgis_layer(with_table(uri, "zonse"))
    msg = str(info.value)
    assert f"{pg_schema}.zonse does not exist" in msg
    assert "roads, 地块" in msg
    with pytest.raises(InputError, match="schema 'nope' does not exist"):
        read_postgis_layer(with_table(uri, "nope.zones"))
    # PostgreSQL folds unquoted names to lower case, qzgeo quotes them: say so
    with pytest.raises(InputError, match="case-sensitive: did you mean 'roads'"):
        read_postgis_layer(with_table(uri, "Roads"))
    with pytest.raises(InputError, match=f"case-sensitive: did you mean '{pg_schema}'"):
        read_postgis_layer(with_table(uri, f"{pg_schema.upper()}.roads"))


def test_srid_zero_needs_crs(pg_uri: str, pg_schema: str, pg_sql: Sql) -> None:
    pg_sql(
        f"CREATE TABLE {pg_schema}.old_survey (id int PRIMARY KEY, 名称 text, geom geometry); "
        f"INSERT INTO {pg_schema}.old_survey VALUES "
        "(2, '乙', ST_GeomFromText('POLYGON((36500100 2430000, 36500200 2430000, "
        "36500200 2430100, 36500100 2430000))')), "
        "(1, '甲', ST_GeomFromText('POLYGON((36500000 2430000, 36500100 2430000, "
        "36500100 2430100, 36500000 2430000))'))"
    )
    uri = f"{pg_uri}?table={pg_schema}.old_survey"
    with pytest.raises(CRSError) as info:
        read_postgis_layer(uri)
    assert f"{pg_schema}.old_survey" in str(info.value)
    assert 'crs = "EPSG:..."' in str(info.value)
    read = read_postgis_layer(uri, crs="EPSG:4524")
    assert read.crs == "EPSG:4524"
    assert read["名称"].tolist() == ["甲", "乙"]  # ordered by the primary key
    assert read.area.tolist() == pytest.approx([5000.0, 5000.0])


def test_untyped_geometry_column_uses_row_srid(pg_uri: str, pg_schema: str, pg_sql: Sql) -> None:
    pg_sql(
        f"CREATE TABLE {pg_schema}.pts (id int, geom geometry); "
        f"INSERT INTO {pg_schema}.pts VALUES (1, ST_SetSRID(ST_MakePoint(108.6, 21.9), 4490))"
    )
    read = read_postgis_layer(f"{pg_uri}?table={pg_schema}.pts", crs="EPSG:4326")
    assert read.crs == "EPSG:4490"


def test_several_geometry_columns_need_geom(pg_uri: str, pg_schema: str, pg_sql: Sql) -> None:
    pg_sql(
        f"CREATE TABLE {pg_schema}.two (id int, a geometry(Point, 4490), b geometry(Point, 4524))"
    )
    uri = f"{pg_uri}?table={pg_schema}.two"
    with pytest.raises(InputError, match=r"2 geometry columns \(a, b\); pick one with &geom="):
        read_postgis_layer(uri)
    assert read_postgis_layer(f"{uri}&geom=b").crs == "EPSG:4524"
    with pytest.raises(InputError, match="no geometry column 'c'; it has a, b"):
        read_postgis_layer(f"{uri}&geom=c")


def test_write_needs_an_epsg_crs(pg_uri: str, pg_schema: str) -> None:
    gdf = _parcels_4490().set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match="no CRS"):
        write_postgis_layer(gdf, f"{pg_uri}?table={pg_schema}.x")


def test_password_absent_from_errors(pg_uri: str) -> None:
    secret = "Qz-s3cret-pw"
    dead = f"postgresql://gis:{secret}@127.0.0.1:1/plan?table=zones"
    with pytest.raises(
        InputError, match=r"cannot connect to PostGIS at gis@127\.0\.0\.1:1/plan"
    ) as a:
        read_postgis_layer(dead)
    with pytest.raises(InputError) as b:
        write_postgis_layer(_parcels_4490(), dead)
    # A reachable server, a database that does not exist.
    base, _, _ = pg_uri.partition("?")
    wrong_db = base.rsplit("/", 1)[0].replace("://postgres@", f"://postgres:{secret}@")
    with pytest.raises(InputError, match="no_such_db") as c:
        read_postgis_layer(f"{wrong_db}/no_such_db?table=zones")
    for info in (a, b, c):
        assert secret not in str(info.value)
        assert info.value.__cause__ is None
