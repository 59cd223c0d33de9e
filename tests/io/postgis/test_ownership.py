"""qzgeo never drops or overwrites a PostGIS table it did not write (``--to-postgis``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner

from qzgeo._errors import OutputError
from qzgeo.cli.main import cli
from qzgeo.io.postgis import read_postgis_layer, write_postgis_layer

pytestmark = pytest.mark.postgis
Sql = Callable[..., list[tuple[object, ...]]]


def _gdf() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"名称": ["甲"]}, geometry=[shapely.box(108.6, 21.9, 108.61, 21.91)], crs="EPSG:4490"
    )


def test_replace_refuses_a_table_qzgeo_did_not_write(
    pg_uri: str, pg_schema: str, pg_sql: Sql
) -> None:
    pg_sql(
        f"CREATE TABLE {pg_schema}.地块 (note text); INSERT INTO {pg_schema}.地块 VALUES ('手工')"
    )
    with pytest.raises(OutputError) as info:
        write_postgis_layer(_gdf(), f"{pg_uri}?table={pg_schema}.地块")
    msg = str(info.value)
    assert f"{pg_schema}.地块" in msg and "not written by qzgeo" in msg
    assert pg_sql(f"SELECT note FROM {pg_schema}.地块") == [("手工",)]


def test_replace_replaces_its_own_table(pg_uri: str, pg_schema: str) -> None:
    uri = f"{pg_uri}?table={pg_schema}.out"
    write_postgis_layer(_gdf(), uri)
    write_postgis_layer(_gdf().assign(名称="乙"), uri)
    assert read_postgis_layer(uri)["名称"].tolist() == ["乙"]


def test_publish_to_postgis_keeps_a_hand_made_table(
    pg_uri: str, pg_schema: str, pg_sql: Sql, minipack: Path, tmp_path: Path
) -> None:
    args = ["publish", "--pack", str(minipack), "--no-maps"]
    uri = f"{pg_uri}?table={pg_schema}.qz"
    ok = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "a"), "--to-postgis", uri])
    assert ok.exit_code == 0, ok.output
    # A colleague's table with the name of one of the outputs.
    pg_sql(f"DROP TABLE {pg_schema}.qz_conflicts")
    pg_sql(
        f"CREATE TABLE {pg_schema}.qz_conflicts (note text); "
        f"INSERT INTO {pg_schema}.qz_conflicts VALUES ('keep')"
    )
    before = pg_sql(f"SELECT count(*) FROM {pg_schema}.qz_available_land")
    res = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "b"), "--to-postgis", uri])
    assert res.exit_code == 2, res.output
    assert f"{pg_schema}.qz_conflicts" in res.output and "not written by qzgeo" in res.output
    assert "Traceback" not in res.output
    assert pg_sql(f"SELECT note FROM {pg_schema}.qz_conflicts") == [("keep",)]
    # all or nothing: qzgeo's own tables of the failed run are unchanged too
    assert pg_sql(f"SELECT count(*) FROM {pg_schema}.qz_available_land") == before
