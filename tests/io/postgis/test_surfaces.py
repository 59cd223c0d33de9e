"""3D surfaces (POLYHEDRALSURFACE, TIN, TRIANGLE: CityGML and terrain imports) in a table read
as polygons. shapely reads no such WKB: ``analyze --parcels`` on one was a traceback
(``GEOSException: ParseException: Unknown WKB type 15``); now it is exit 2 naming the table,
the types and a view of their footprints, which PostGIS runs and qzgeo then reads."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import shapely
from click.testing import CliRunner

from qzgeo._errors import InputError
from qzgeo.cli.main import cli
from qzgeo.io.postgis import read_postgis_layer

pytestmark = pytest.mark.postgis
Sql = Callable[..., list[tuple[object, ...]]]

_RING = "(108.60 21.90, 108.61 21.90, 108.61 21.91, 108.60 21.90)"


def _surfaces(sql: Sql, schema: str) -> None:
    sql(
        f"CREATE TABLE {schema}.模型 (id integer PRIMARY KEY, geom geometry(Geometry, 4490)); "
        f"INSERT INTO {schema}.模型 VALUES "
        f"(1, ST_GeomFromText('MULTIPOLYGON((({_RING[1:-1]})))', 4490)), "
        f"(2, ST_GeomFromText('POLYHEDRALSURFACE((({_RING[1:-1]})))', 4490)), "
        f"(3, ST_GeomFromText('TIN((({_RING[1:-1]})))', 4490)), "
        f"(4, ST_GeomFromText('TRIANGLE(({_RING[1:-1]}))', 4490))"
    )


def test_surfaces_are_refused_with_a_view_that_reads(
    pg_uri: str, pg_schema: str, pg_sql: Sql
) -> None:
    _surfaces(pg_sql, pg_schema)
    with pytest.raises(InputError) as info:
        read_postgis_layer(f"{pg_uri}?table={pg_schema}.模型")
    msg = str(info.value)
    assert f"{pg_schema}.模型" in msg and "TIN" in msg and "POLYHEDRALSURFACE" in msg
    # The view the message offers, made as it says, reads as polygons of the same area.
    offered = msg[
        msg.index("SELECT <columns>, ") + len("SELECT <columns>, ") : msg.index(" FROM ...")
    ]
    pg_sql(f"CREATE VIEW {pg_schema}.footprints AS SELECT id, {offered} FROM {pg_schema}.模型")
    gdf = read_postgis_layer(f"{pg_uri}?table={pg_schema}.footprints")
    assert (gdf.geom_type == "MultiPolygon").all() and len(gdf) == 4
    assert len(set(shapely.area(gdf.geometry.array).round(12))) == 1


def test_cli_says_it_without_a_traceback(
    pg_uri: str, pg_schema: str, pg_sql: Sql, tmp_path: Path
) -> None:
    _surfaces(pg_sql, pg_schema)
    args = ["convert", f"{pg_uri}?table={pg_schema}.模型", str(tmp_path / "out.gpkg")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert "TIN" in result.output and "Traceback" not in result.output
