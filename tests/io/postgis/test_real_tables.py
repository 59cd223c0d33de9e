"""PostGIS tables as GIS staff keep them, beyond plain keyed tables: materialized views,
red-line tables given to ``check --constraint``.

PostGIS is the oracle for areas: ``ST_Area(geom::geography)`` on CGCS2000 lon/lat.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner
from pyproj import CRS

from qzgeo._errors import InputError
from qzgeo.cli.main import cli
from qzgeo.io.postgis import read_postgis_layer, write_postgis_layer
from qzgeo.notices import notices_of

pytestmark = pytest.mark.postgis
Sql = Callable[..., list[tuple[object, ...]]]


def _zongdi(pg_sql: Sql, schema: str) -> None:
    """宗地 (text key, EPSG:4490): 6 boxes keyed 450702001001GB00000..."""
    pg_sql(
        f'CREATE TABLE {schema}."宗地" ("宗地代码" text PRIMARY KEY, '
        "geom geometry(MultiPolygon, 4490))"
    )
    pg_sql(
        f"INSERT INTO {schema}.\"宗地\" SELECT '450702001001GB' || lpad(i::text, 5, '0'), "
        "ST_Multi(ST_MakeEnvelope(108.605 + i * 0.006, 21.675, 108.61 + i * 0.006, 21.679, 4490)) "
        "FROM generate_series(0, 5) i"
    )


def test_materialized_view_is_read(pg_uri: str, pg_schema: str, pg_sql: Sql) -> None:
    """A materialized view (as staff publish a join of parcels and owners) was said not to
    exist: its name was missing from the list of tables and views the reader checked."""
    _zongdi(pg_sql, pg_schema)
    pg_sql(f'CREATE MATERIALIZED VIEW {pg_schema}.mv AS SELECT * FROM {pg_schema}."宗地"')
    got = read_postgis_layer(f"{pg_uri}?table={pg_schema}.mv")
    want = [r[0] for r in pg_sql(f'SELECT "宗地代码" FROM {pg_schema}.mv ORDER BY 1')]
    assert len(want) == 6
    assert sorted(got["宗地代码"]) == want


def test_check_names_postgis_constraints_and_sites_by_their_tables(
    pg_uri: str, pg_schema: str, pg_sql: Sql
) -> None:
    """Two red-line tables of one schema were one layer and class named
    ``db?table=schema`` (``Path(uri).stem``): a site in 永久基本农田 could not be told from
    one in 生态保护红线. Each is now named by its table, as a file by its name."""
    for name, x in (("生态红线", 108.600), ("永久基本农田", 108.620)):
        pg_sql(
            f'CREATE TABLE {pg_schema}."{name}" (gid int PRIMARY KEY, geom geometry(Polygon, 4490))'
        )
        pg_sql(
            f'INSERT INTO {pg_schema}."{name}" VALUES '
            f"(1, ST_MakeEnvelope({x}, 21.68, {x + 0.01}, 21.69, 4490))"
        )
    pg_sql(f"CREATE TABLE {pg_schema}.sites (id text PRIMARY KEY, geom geometry(Polygon, 4490))")
    pg_sql(
        f"INSERT INTO {pg_schema}.sites VALUES "
        "('S1', ST_MakeEnvelope(108.625, 21.685, 108.635, 21.695, 4490))"
    )
    [(want,)] = pg_sql(
        f"SELECT ST_Area(ST_Intersection(s.geom, c.geom)::geography) FROM {pg_schema}.sites s, "
        f'{pg_schema}."永久基本农田" c'
    )
    args = ["check", f"{pg_uri}?table={pg_schema}.sites", "--no-pack", "--format", "json"]
    for name in ("生态红线", "永久基本农田"):
        args += ["--constraint", f"{pg_uri}?table={pg_schema}.{name}"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 1, res.output
    [site] = json.loads(res.stdout)
    assert site["site"] == f"{pg_schema}.sites:S1"
    [conflict] = site["conflicts"]
    assert conflict["class"] == "永久基本农田"
    assert conflict["layer"] == f"{pg_schema}.永久基本农田"
    assert conflict["area_m2"] == pytest.approx(float(want), abs=1.0)  # type: ignore[arg-type]


# A city's own GK CRS (CGCS2000 ellipsoid, CM 108.5E, false easting 0), as ogr2ogr or QGIS put
# a .prj without an EPSG code into spatial_ref_sys: auth_name and auth_srid NULL.
CITY_GK = (
    'PROJCS["城市坐标系",GEOGCS["China Geodetic Coordinate System 2000",DATUM["China_2000",'
    'SPHEROID["CGCS2000",6378137,298.257222101]],PRIMEM["Greenwich",0],'
    'UNIT["degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],'
    'PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",108.5],'
    'PARAMETER["scale_factor",1],PARAMETER["false_easting",0],PARAMETER["false_northing",0],'
    'UNIT["metre",1]]'
)


def test_srid_without_authority_is_read_by_its_wkt(
    pg_uri: str, pg_schema: str, pg_sql: Sql, minipack: Path, tmp_path: Path
) -> None:
    """A table whose SRID's spatial_ref_sys row has no authority (a custom CRS inserted by
    ogr2ogr) crashed analyze with a TypeError traceback (``int(None)``); it is read with the
    row's WKT, as a file with that .prj is."""
    srid = 900000 + int(pg_schema[-5:], 16) % 98000  # user SRIDs end at 998999
    pg_sql(
        "INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, srtext, proj4text) "
        "VALUES (:srid, NULL, NULL, :wkt, :proj4)",
        {
            "srid": srid,
            "wkt": CITY_GK,
            "proj4": "+proj=tmerc +lon_0=108.5 +k=1 +x_0=0 +y_0=0 +ellps=GRS80 +units=m",
        },
    )
    try:
        pg_sql(f"CREATE TABLE {pg_schema}.p (gid int PRIMARY KEY, geom geometry(Polygon, {srid}))")
        pg_sql(
            f"INSERT INTO {pg_schema}.p SELECT i, ST_Transform(ST_MakeEnvelope(108.605 + i * "
            f"0.006, 21.675, 108.61 + i * 0.006, 21.679, 4490), {srid}) "
            "FROM generate_series(1, 4) i"
        )
        got = read_postgis_layer(f"{pg_uri}?table={pg_schema}.p")
        assert got.crs == CRS.from_wkt(CITY_GK)
        out = tmp_path / "out"
        args = ["analyze", "--parcels", f"{pg_uri}?table={pg_schema}.p", "--pack", str(minipack)]
        res = CliRunner().invoke(cli, [*args, "--out", str(out)])
        assert res.exit_code == 0, res.output
        want = dict(
            pg_sql(f"SELECT gid, ST_Area(ST_Transform(geom, 4490)::geography) FROM {pg_schema}.p")
        )
        parcels = gpd.read_file(out / "internal" / "parcels.gpkg").set_index("gid")
        for gid, area in want.items():
            assert parcels.loc[gid, "area_m2"] == pytest.approx(float(area), abs=0.01)  # type: ignore[arg-type]
    finally:
        pg_sql(f"DROP TABLE IF EXISTS {pg_schema}.p")
        pg_sql("DELETE FROM spatial_ref_sys WHERE srid = :srid", {"srid": srid})


def test_table_not_granted_is_said_so(pg_uri: str, pg_schema: str, pg_sql: Sql) -> None:
    """A user without SELECT on the table (or USAGE on its schema) was told the table 'has
    no geometry column; geography columns are not read' (PostGIS's geometry_columns lists
    only what the user may read); the refusal now names the missing grant."""
    _zongdi(pg_sql, pg_schema)
    role = f"r_{pg_schema}"
    pg_sql(f"CREATE ROLE {role} LOGIN")
    try:
        uri = pg_uri.replace("://postgres@", f"://{role}@") + f"?table={pg_schema}.宗地"
        with pytest.raises(InputError, match="USAGE") as info:
            read_postgis_layer(uri)
        assert "geometry column" not in str(info.value)
        pg_sql(f"GRANT USAGE ON SCHEMA {pg_schema} TO {role}")
        with pytest.raises(InputError, match=f'GRANT SELECT ON "{pg_schema}"."宗地" TO "{role}"'):
            read_postgis_layer(uri)
        pg_sql(f'GRANT SELECT ON {pg_schema}."宗地" TO {role}')
        assert len(read_postgis_layer(uri)) == 6
    finally:
        pg_sql(f"DROP OWNED BY {role}")
        pg_sql(f"DROP ROLE {role}")


def test_second_geometry_column_is_read_as_wkt(pg_uri: str, pg_schema: str, pg_sql: Sql) -> None:
    """A table with a second geometry column (ArcGIS ``Shape`` and a centroid ``中心点``)
    read with ``&geom=Shape`` gave the other as hex EWKB text ('01010000208A11...') in every
    output, with no notice; it is read as WKT (``ST_AsText``), with a notice naming it."""
    pg_sql(
        f'CREATE TABLE {pg_schema}.two ("OBJECTID" int PRIMARY KEY, '
        '"Shape" geometry(Polygon, 4490), "中心点" geometry(Point, 4490))'
    )
    pg_sql(
        f"INSERT INTO {pg_schema}.two SELECT i, ST_MakeEnvelope(108.6 + i * 0.01, 21.6, "
        "108.605 + i * 0.01, 21.605, 4490), ST_SetSRID(ST_MakePoint(108.6 + i * 0.01, 21.6), "
        "4490) FROM generate_series(1, 3) i"
    )
    got = read_postgis_layer(f"{pg_uri}?table={pg_schema}.two&geom=Shape")
    want = dict(pg_sql(f'SELECT "OBJECTID", ST_AsText("中心点") FROM {pg_schema}.two'))
    assert got["中心点"].to_dict() == want
    notes = [n.message for n in notices_of(got)]
    assert any("中心点" in n and "WKT" in n for n in notes), notes


def _gist_indexes(pg_sql: Sql, schema: str) -> dict[str, str]:
    rows = pg_sql(
        "SELECT t.relname, i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
        "JOIN pg_am a ON a.oid = i.relam WHERE n.nspname = :s AND a.amname = 'gist'",
        {"s": schema},
    )
    return {str(t): str(i) for t, i in rows}


def test_write_beside_a_kept_old_output_and_long_names(
    pg_uri: str, pg_schema: str, pg_sql: Sql
) -> None:
    """A DBA keeps last year's output (ALTER TABLE zones RENAME TO zones_2022): its spatial
    index keeps the name idx_zones_geometry, and writing zones again failed ('relation
    "idx_zones_geometry" already exists'). So did a second table whose name of 60 bytes or
    more (legal up to 63) shares the first 59 with another: PostgreSQL cut both index names
    to the same 63 bytes. The index takes a free name instead."""
    gdf = gpd.GeoDataFrame(
        {"名称": ["甲"]}, geometry=[shapely.box(108.6, 21.6, 108.61, 21.61)], crs="EPSG:4490"
    )
    write_postgis_layer(gdf, f"{pg_uri}?table={pg_schema}.zones")
    pg_sql(f"ALTER TABLE {pg_schema}.zones RENAME TO zones_2022")
    write_postgis_layer(gdf, f"{pg_uri}?table={pg_schema}.zones")
    long = "钦州市钦南区宗地数据二零二三年版本第一"  # 57 bytes
    for last in "甲乙":
        write_postgis_layer(gdf, f"{pg_uri}?table={pg_schema}.{long}{last}")
    names = _gist_indexes(pg_sql, pg_schema)
    assert set(names) == {"zones", "zones_2022", f"{long}甲", f"{long}乙"}
    assert names["zones_2022"] == "idx_zones_geometry"
    assert len(set(names.values())) == 4
    assert all(len(n.encode()) <= 63 for n in names.values())


def test_write_column_with_a_percent_sign(pg_uri: str, pg_schema: str, pg_sql: Sql) -> None:
    """容积率% and 绿地率% are common column names: writing them crashed with a traceback
    ('column "容积率%%" ... does not exist': geopandas' COPY doubles a '%' that psycopg's
    COPY never halves). They are written under their names, values intact."""
    gdf = gpd.GeoDataFrame(
        {"容积率%": [1.5, 2.0], "绿地率 %(x)s": ["30", "35"]},
        geometry=[
            shapely.box(108.6, 21.6, 108.61, 21.61),
            shapely.box(108.62, 21.6, 108.63, 21.61),
        ],
        crs="EPSG:4490",
    )
    write_postgis_layer(gdf, f"{pg_uri}?table={pg_schema}.plots")
    rows = pg_sql(f'SELECT "容积率%", "绿地率 %(x)s" FROM {pg_schema}.plots ORDER BY 1')
    assert rows == [(1.5, "30"), (2.0, "35")]
    got = read_postgis_layer(f"{pg_uri}?table={pg_schema}.plots")
    assert list(got.columns) == ["容积率%", "绿地率 %(x)s", "geometry"]


def test_curved_geometries_are_refused_with_the_fix(
    pg_uri: str, pg_schema: str, pg_sql: Sql, minipack: Path, tmp_path: Path
) -> None:
    """Parcels with true arcs (CURVEPOLYGON, MULTISURFACE: an ArcGIS geodatabase or QGIS
    curve digitizing put into PostGIS) crashed analyze with a traceback ('NotImplementedError:
    Nonlinear geometry types are not currently supported'); exit 2 names them and the fix."""
    pg_sql(f"CREATE TABLE {pg_schema}.arcs (gid int PRIMARY KEY, geom geometry(Geometry, 4545))")
    pg_sql(
        f"INSERT INTO {pg_schema}.arcs VALUES (1, ST_GeomFromText('CURVEPOLYGON(CIRCULARSTRING("
        "564000 2399000, 564100 2399100, 564200 2399000, 564100 2398900, 564000 2399000))', "
        "4545)), (2, ST_GeomFromText('POLYGON((565000 2399000, 565100 2399000, 565100 2399100, "
        "565000 2399000))', 4545))"
    )
    uri = f"{pg_uri}?table={pg_schema}.arcs"
    res = CliRunner().invoke(
        cli, ["analyze", "--parcels", uri, "--pack", str(minipack), "--out", str(tmp_path / "out")]
    )
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    assert "ST_CurveToLine" in res.output and f"{pg_schema}.arcs" in res.output


def test_replace_keeps_the_grants(pg_uri: str, pg_schema: str, pg_sql: Sql) -> None:
    """The map server's read-only role was granted SELECT on an output; qzgeo's next run
    replaced the table and the grant was gone (GeoServer and QGIS users lost the layer).
    The new table gets the old one's grants in the same transaction."""
    gdf = gpd.GeoDataFrame(
        {"名称": ["甲"]}, geometry=[shapely.box(108.6, 21.6, 108.61, 21.61)], crs="EPSG:4490"
    )
    uri = f"{pg_uri}?table={pg_schema}.zones"
    write_postgis_layer(gdf, uri)
    role = f"r_{pg_schema}"
    pg_sql(f"CREATE ROLE {role}")
    try:
        pg_sql(f"GRANT SELECT, UPDATE ON {pg_schema}.zones TO {role}")
        pg_sql(f"GRANT SELECT ON {pg_schema}.zones TO PUBLIC")
        write_postgis_layer(gdf, uri)
        [(select, update, insert, public)] = pg_sql(
            "SELECT has_table_privilege(:r, :t, 'SELECT'), has_table_privilege(:r, :t, 'UPDATE'), "
            "has_table_privilege(:r, :t, 'INSERT'), (SELECT bool_or(a.grantee = 0) FROM "
            "pg_class c, aclexplode(c.relacl) a WHERE c.oid = CAST(:t AS regclass))",
            {"r": role, "t": f"{pg_schema}.zones"},
        )
        assert (select, update, insert, public) == (True, True, False, True)
    finally:
        pg_sql(f"DROP OWNED BY {role}")
        pg_sql(f"DROP ROLE {role}")


def test_composite_key_fix_quotes_mixed_case_names(
    pg_uri: str, pg_schema: str, pg_sql: Sql
) -> None:
    """The refusal of a key of several columns gave 'DROP CONSTRAINT Parcels_pkey ... ADD
    UNIQUE (OBJECTID, Part)', which PostgreSQL folds to lower case: the fix it offered failed
    ('constraint "parcels_pkey" does not exist'). The names are quoted; the fix runs."""
    pg_sql(
        f'CREATE TABLE {pg_schema}."Parcels" ("OBJECTID" int, "Part" int, '
        'geom geometry(Polygon, 4490), PRIMARY KEY ("OBJECTID", "Part"))'
    )
    with pytest.raises(InputError) as info:
        read_postgis_layer(f"{pg_uri}?table={pg_schema}.Parcels")
    fix = str(info.value).split("ALTER TABLE ... ", 1)[1].split("; or", 1)[0]
    assert '"Parcels_pkey"' in fix and '("OBJECTID", "Part")' in fix
    pg_sql(f'ALTER TABLE {pg_schema}."Parcels" {fix}')
    assert len(read_postgis_layer(f"{pg_uri}?table={pg_schema}.Parcels")) == 0
