"""`qzgeo convert FILE postgresql://...` keeps the source's feature ids as the primary key.

The table used to have no key and no ids: ``qzgeo analyze --parcels`` on it then numbered
the rows 0, 1, ... (with a warning), so ``source_fid`` no longer named the GeoPackage's
features. The oracle is the GeoPackage's ``fid`` read by sqlite3, and PostgreSQL's catalog
for the key.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner

from qzgeo.cli.main import cli

pytestmark = pytest.mark.postgis
Sql = Callable[..., list[tuple[object, ...]]]
X0, Y0 = 36_564_000.0, 2_399_000.0
#: Feature ids as an edited GeoPackage has them: gaps, not from 1, not in file order.
FIDS = [17, 3, 250, 4, 99, 1000]


def _gpkg(path: Path) -> Path:
    """Parcels in EPSG:4524 with the fids :data:`FIDS` (GDAL takes a ``fid`` column as them)."""
    boxes = [shapely.box(X0 + 200 * k, Y0, X0 + 200 * k + 150, Y0 + 100) for k in range(6)]
    gdf = gpd.GeoDataFrame(
        {"fid": FIDS, "地块名": [f"地块{f}" for f in FIDS]}, geometry=boxes, crs="EPSG:4524"
    )
    pyogrio.write_dataframe(gdf, path, layer="parcels")
    return path


def _primary_key(pg_sql: Sql, schema: str, table: str) -> list[str]:
    rows = pg_sql(
        "SELECT a.attname FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(con.conkey) "
        "WHERE con.contype = 'p' AND n.nspname = :s AND c.relname = :t",
        {"s": schema, "t": table},
    )
    return [str(r[0]) for r in rows]


def test_convert_then_analyze_keeps_the_geopackage_fids(
    pg_uri: str, pg_schema: str, pg_sql: Sql, minipack: Path, tmp_path: Path
) -> None:
    gpkg = _gpkg(tmp_path / "parcels.gpkg")
    with sqlite3.connect(gpkg) as db:
        fids = {name: fid for fid, name in db.execute('SELECT fid, "地块名" FROM parcels')}
    assert sorted(fids.values()) == sorted(FIDS)
    uri = f"{pg_uri}?table={pg_schema}.parcels"
    res = CliRunner().invoke(cli, ["convert", str(gpkg), uri])
    assert res.exit_code == 0, res.output
    assert "primary key ogc_fid" in res.output, res.output
    assert _primary_key(pg_sql, pg_schema, "parcels") == ["ogc_fid"]
    stored = dict(pg_sql(f'SELECT "地块名", ogc_fid FROM {pg_schema}.parcels'))
    assert stored == fids
    out = tmp_path / "out"
    res = CliRunner().invoke(
        cli,
        ["analyze", "--parcels", uri, "--pack", str(minipack), "--out", str(out),
         "--workers", "1"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    report = json.loads((out / "internal" / "parcels_report.json").read_text("utf-8"))
    assert not any("position" in w for w in report["repairs"]["warnings"]), report
    got = pyogrio.read_dataframe(out / "internal" / "parcels.gpkg")
    assert dict(zip(got["地块名"], got["source_fid"], strict=True)) == fids


def test_a_column_that_holds_the_ids_becomes_the_key(
    pg_uri: str, pg_schema: str, pg_sql: Sql, tmp_path: Path
) -> None:
    """A table converted to another table keeps its own key column (a text 宗地代码 too)."""
    pg_sql(
        f'CREATE TABLE {pg_schema}."宗地" ("宗地代码" text PRIMARY KEY, '
        "geom geometry(Polygon, 4524))"
    )
    for k in (2, 1):
        pg_sql(
            f'INSERT INTO {pg_schema}."宗地" VALUES (:c, ST_MakeEnvelope(:x, 2399000, '
            ":x + 100, 2399100, 4524))",
            {"c": f"450702001001JC0000{k}", "x": X0 + 200 * k},
        )
    res = CliRunner().invoke(
        cli, ["convert", f"{pg_uri}?table={pg_schema}.宗地", f"{pg_uri}?table={pg_schema}.copy"]
    )
    assert res.exit_code == 0, res.output
    assert _primary_key(pg_sql, pg_schema, "copy") == ["宗地代码"]
    [(columns,)] = pg_sql(
        "SELECT array_agg(column_name::text ORDER BY ordinal_position) "
        "FROM information_schema.columns WHERE table_schema = :s AND table_name = 'copy'",
        {"s": pg_schema},
    )
    assert columns == ["宗地代码", "geom"]  # no second column of the same ids
