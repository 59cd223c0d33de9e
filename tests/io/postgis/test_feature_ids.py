"""Feature ids of PostGIS parcels: a text primary key (宗地代码) names the rows in every output.

The table is made with SQL here (no qzgeo writer): 宗地代码 as GIS staff keep them (text,
`450702001001JC00001`), inserted out of key order, one NULL geometry and one bow-tie. PostGIS
is the oracle: ``ST_Area(ST_Transform(ST_MakeValid(geom), 4490)::geography)`` per key.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner

from qzgeo._errors import InputError
from qzgeo.cli.main import cli
from qzgeo.io.postgis import read_postgis_layer

pytestmark = pytest.mark.postgis
Sql = Callable[..., list[tuple[object, ...]]]
CODE = "宗地代码"


def zongdi_code(k: int) -> str:
    """A 19-character 宗地代码: county 450702, 街道 001, 街坊 001, 集体建设用地 JC, 5 digits."""
    return f"450702001001JC{k:05d}"


def _zongdi_table(pg_sql: Sql, schema: str, *, key: str = f'PRIMARY KEY ("{CODE}")') -> str:
    """宗地 (text key) in ``schema``: 24 boxes in EPSG:4524, code 00003 NULL, 00007 a bow-tie."""
    boxes = [
        shapely.box(108.605 + i * 0.006, 21.675 + j * 0.005, 108.61 + i * 0.006, 21.679 + j * 0.005)
        for i in range(6)
        for j in range(4)
    ]
    gk = gpd.GeoSeries(boxes, crs="EPSG:4490").to_crs("EPSG:4524")
    pg_sql(
        f'CREATE TABLE {schema}."宗地" ("{CODE}" varchar(19), "权利人" text, "年份" int, '
        f"geom geometry(Geometry, 4524){', ' + key if key else ''})"
    )
    order = list(range(len(gk)))
    random.Random(7).shuffle(order)  # physical order is not key order
    for k in order:
        pg_sql(
            f'INSERT INTO {schema}."宗地" VALUES (:code, :who, :year, ST_GeomFromText(:wkt, 4524))',
            {"code": zongdi_code(k), "who": f"村集体{k}", "year": 2000 + k, "wkt": gk[k].wkt},
        )
    x0, y0, x1, y1 = gk.iloc[7].bounds
    bowtie = f"POLYGON(({x0} {y0}, {x1} {y1}, {x1} {y0}, {x0} {y1}, {x0} {y0}))"
    pg_sql(f'UPDATE {schema}."宗地" SET geom = NULL WHERE "{CODE}" = :c', {"c": zongdi_code(3)})
    pg_sql(
        f'UPDATE {schema}."宗地" SET geom = ST_GeomFromText(:wkt, 4524) WHERE "{CODE}" = :c',
        {"wkt": bowtie, "c": zongdi_code(7)},
    )
    return f"{schema}.宗地"


def _analyze(uri: str, pack: Path, out: Path) -> tuple[int, str]:
    res = CliRunner().invoke(
        cli, ["analyze", "--parcels", uri, "--pack", str(pack), "--out", str(out)]
    )
    assert "Traceback" not in res.output, res.output
    return res.exit_code, res.output


def test_read_indexes_rows_by_their_text_key(pg_uri: str, pg_schema: str, pg_sql: Sql) -> None:
    table = _zongdi_table(pg_sql, pg_schema)
    gdf = read_postgis_layer(f"{pg_uri}?table={table}")
    assert list(gdf.index) == [zongdi_code(k) for k in range(24)]  # key order
    assert (gdf.index == gdf[CODE]).all()
    assert "notices" not in gdf.attrs or not list(gdf.attrs["notices"])  # no position warning


def test_analyze_names_parcels_by_their_zongdi_code(
    pg_uri: str, pg_schema: str, pg_sql: Sql, minipack: Path, tmp_path: Path
) -> None:
    table = _zongdi_table(pg_sql, pg_schema)
    code, output = _analyze(f"{pg_uri}?table={table}", minipack, tmp_path / "out")
    assert code == 0, output
    report = json.loads((tmp_path / "out" / "internal" / "parcels_report.json").read_text("utf-8"))
    assert not any("by position" in w for w in report["repairs"]["warnings"])
    by_action = {r["action"]: r for r in report["repairs"]["repairs"]}
    assert by_action["repaired"]["feature_id"] == zongdi_code(7)
    assert by_action["dropped"]["feature_id"] == zongdi_code(3)
    got = gpd.read_file(tmp_path / "out" / "internal" / "parcels.gpkg")
    assert (got["source_fid"] == got[CODE]).all()
    assert list(got["source_fid"]) == sorted(got["source_fid"])  # in key order
    # every output row is its source row: the area PostGIS gives for that key
    rows_sql = pg_sql(
        f'SELECT "{CODE}", ST_Area(ST_Transform(ST_MakeValid(geom), 4490)::geography), '
        f'"年份" FROM {pg_schema}."宗地" WHERE geom IS NOT NULL'
    )
    want = {r[0]: (r[1], r[2]) for r in rows_sql}
    rows = got.set_index("source_fid")
    assert sorted(want) == sorted(rows.index)
    for key, (area, year) in want.items():
        assert rows.loc[key, "area_m2"] == pytest.approx(float(area), abs=0.01), key  # type: ignore[arg-type]
        assert rows.loc[key, "年份"] == year, key


def test_composite_key_is_refused_naming_its_columns(
    pg_uri: str, pg_schema: str, pg_sql: Sql, minipack: Path, tmp_path: Path
) -> None:
    table = _zongdi_table(pg_sql, pg_schema, key=f'PRIMARY KEY ("{CODE}", "年份")')
    uri = f"{pg_uri}?table={table}"
    code, output = _analyze(uri, minipack, tmp_path / "out")
    assert code == 2, output
    assert f"({CODE}, 年份)" in output and "PRIMARY KEY" in output and "view" in output
    with pytest.raises(InputError, match="one column"):
        read_postgis_layer(uri)


def test_table_without_key_is_numbered_by_position_with_a_warning(
    pg_uri: str, pg_schema: str, pg_sql: Sql, minipack: Path, tmp_path: Path
) -> None:
    table = _zongdi_table(pg_sql, pg_schema, key="")
    code, output = _analyze(f"{pg_uri}?table={table}", minipack, tmp_path / "out")
    assert code == 0, output
    report = json.loads((tmp_path / "out" / "internal" / "parcels_report.json").read_text("utf-8"))
    assert any(
        f"{pg_schema}.宗地 has no primary key" in w and "position" in w
        for w in report["repairs"]["warnings"]
    )
    got = gpd.read_file(tmp_path / "out" / "internal" / "parcels.gpkg")
    assert set(got["source_fid"]) <= set(range(24))


def test_zone_layer_keyed_by_text_keeps_numeric_zone_fids(
    pg_uri: str, pg_schema: str, pg_sql: Sql, minipack: Path, tmp_path: Path
) -> None:
    """zone_fid (要素编号) is a number in every output: a text-keyed zone table is numbered by
    position, with a warning (a text key must not break the zone columns)."""
    from qzgeo.io.postgis import write_postgis_layer

    zones = gpd.read_file(minipack / "layers" / "mini.gpkg", layer="zones")
    zones["分区代码"] = ["ZQ-B", "ZQ-A"]  # key order is not file order
    write_postgis_layer(zones, f"{pg_uri}?table={pg_schema}.zones&geom=geom")
    pg_sql(f'ALTER TABLE {pg_schema}.zones ADD PRIMARY KEY ("分区代码")')
    catalog = minipack / "layers" / "catalog.toml"
    text = catalog.read_text(encoding="utf-8")
    old = 'path = "mini.gpkg"\nlayer = "zones"'
    assert old in text
    catalog.write_text(
        text.replace(old, f'path = "{pg_uri}?table={pg_schema}.zones"'), encoding="utf-8"
    )
    table = _zongdi_table(pg_sql, pg_schema)
    code, output = _analyze(f"{pg_uri}?table={table}", minipack, tmp_path / "out")
    assert code == 0, output
    report = json.loads((tmp_path / "out" / "internal" / "parcels_report.json").read_text("utf-8"))
    assert any(
        "zones: its rows are keyed by text ('ZQ-A'" in w for w in report["repairs"]["warnings"]
    )
    got = gpd.read_file(tmp_path / "out" / "internal" / "parcels.gpkg")
    inside = got[got["zone_layer"] == "zones"]
    assert len(inside) and set(inside["zone_fid"]) <= {0, 1}
    names = dict(zip(zones["分区代码"], zones["名称"], strict=True))
    by_fid = {0: names["ZQ-A"], 1: names["ZQ-B"]}  # positions in key order
    assert all(by_fid[f] == n for f, n in zip(inside["zone_fid"], inside["zone_name"], strict=True))


def test_numeric_key_of_19_digits_names_rows_exactly(
    pg_uri: str, pg_schema: str, pg_sql: Sql, minipack: Path, tmp_path: Path
) -> None:
    """A 宗地代码 kept as numeric(19,0): pandas reads numerics as floats (15-16 digits), so
    the ids come from PostgreSQL's own text of the key."""
    _zongdi_table(pg_sql, pg_schema)
    pg_sql(
        f"CREATE TABLE {pg_schema}.num AS SELECT (4507020010010000000 + row_number() OVER "
        f'(ORDER BY "{CODE}"))::numeric(19, 0) AS code, geom FROM {pg_schema}."宗地"'
    )
    pg_sql(f"ALTER TABLE {pg_schema}.num ADD PRIMARY KEY (code)")
    gdf = read_postgis_layer(f"{pg_uri}?table={pg_schema}.num")
    assert list(gdf.index) == [str(4507020010010000000 + k) for k in range(1, 25)]
    code, output = _analyze(f"{pg_uri}?table={pg_schema}.num", minipack, tmp_path / "out")
    assert code == 0, output
    got = gpd.read_file(tmp_path / "out" / "internal" / "parcels.gpkg")
    want = dict(
        pg_sql(
            "SELECT code::text, ST_Area(ST_Transform(ST_MakeValid(geom), 4490)::geography) "
            f"FROM {pg_schema}.num WHERE geom IS NOT NULL"
        )
    )
    assert sorted(got["source_fid"]) == sorted(want)
    for key, area in zip(got["source_fid"], got["area_m2"], strict=True):
        assert area == pytest.approx(float(want[key]), abs=0.01), key  # type: ignore[arg-type]
