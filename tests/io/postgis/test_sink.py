"""`qzgeo publish --to-postgis`: the analysis layers land in PostGIS and match the GeoPackage."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from click.testing import CliRunner

from qzgeo.cli.main import cli
from qzgeo.io.postgis import read_postgis_layer
from qzgeo.io.postgis_uri import with_table

pytestmark = pytest.mark.postgis


def test_publish_writes_analysis_to_postgis(
    pg_uri: str, pg_schema: str, minipack: Path, tmp_path: Path
) -> None:
    uri = f"{pg_uri}?table={pg_schema}.qz"
    args = ["publish", "--pack", str(minipack), "--out", str(tmp_path / "out"), "--no-maps"]
    for _ in range(2):  # a re-run replaces the tables, it never appends
        result = CliRunner().invoke(cli, [*args, "--to-postgis", uri])
        assert result.exit_code == 0, result.output
    gpkg = tmp_path / "out" / "internal" / "analysis.gpkg"
    for name in ("available_land", "conflicts", "zone_summary"):
        db = read_postgis_layer(with_table(uri, f"{pg_schema}.qz_{name}"))
        local = gpd.read_file(gpkg, layer=name)
        assert len(db) == len(local)
        assert sorted(db["area_m2" if "area_m2" in db else "available_m2"]) == pytest.approx(
            sorted(local["area_m2" if "area_m2" in local else "available_m2"]), rel=1e-12
        )


def test_bad_postgis_uri_is_a_bad_parameter(minipack: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["publish", "--pack", str(minipack), "--out", str(tmp_path), "--to-postgis", "db.gpkg"]
    )
    assert result.exit_code == 2
    assert "--to-postgis" in result.output
