"""`qzgeo convert SOURCE postgresql://...`: put a layer into PostGIS, never over someone's table."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pytest
from click.testing import CliRunner

from qzgeo.cli.main import cli
from qzgeo.io.postgis import read_postgis_layer

pytestmark = pytest.mark.postgis
Sql = Callable[..., list[tuple[object, ...]]]


def test_convert_pack_layer_to_postgis(
    pg_uri: str, pg_schema: str, pg_sql: Sql, minipack: Path
) -> None:
    gpkg = minipack / "layers" / "mini.gpkg"
    uri = f"{pg_uri}?table={pg_schema}.红线&geom=geom"
    for _ in range(2):  # a re-run replaces the table qzgeo wrote
        res = CliRunner().invoke(cli, ["convert", str(gpkg), uri, "--layer", "control_lines"])
        assert res.exit_code == 0, res.output
        assert f"Wrote 3 feature(s) to PostGIS table {pg_schema}.红线" in res.output
    src = gpd.read_file(gpkg, layer="control_lines")
    got = read_postgis_layer(uri)
    assert got.crs == src.crs and got["类别"].tolist() == src["类别"].tolist()
    [(area,)] = pg_sql(f'SELECT sum(ST_Area(geom::geography)) FROM {pg_schema}."红线"')
    assert float(area) > 0  # type: ignore[arg-type]


def test_convert_never_writes_over_a_table_it_did_not_write(
    pg_uri: str, pg_schema: str, pg_sql: Sql, minipack: Path
) -> None:
    pg_sql(
        f"CREATE TABLE {pg_schema}.zones (note text); INSERT INTO {pg_schema}.zones VALUES ('x')"
    )
    gpkg = str(minipack / "layers" / "mini.gpkg")
    uri = f"{pg_uri}?table={pg_schema}.zones"
    res = CliRunner().invoke(cli, ["convert", gpkg, uri, "--layer", "zones"])
    assert res.exit_code == 2 and "not written by qzgeo" in res.output, res.output
    assert pg_sql(f"SELECT note FROM {pg_schema}.zones") == [("x",)]
    same = CliRunner().invoke(cli, ["convert", uri, uri])
    assert same.exit_code == 2 and "OUT is the input table" in same.output, same.output
    opt = CliRunner().invoke(cli, ["convert", gpkg, f"{uri}2", "--layer", "zones", "--zone", "36"])
    assert opt.exit_code == 2 and "--zone" in opt.output, opt.output
