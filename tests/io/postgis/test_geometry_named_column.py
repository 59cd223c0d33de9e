"""A parcel table whose geometry is ``geom`` and which has a column named ``geometry`` (text:
a WKT copy, an ArcGIS export's note), analyzed. The output frame's geometry is ``geometry``:
the parcels' own column of that name was replaced by it without a word, and was missing from
parcels.gpkg. It is kept as ``geometry_input``, like other columns named like a result, and
the report says so."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner

from qzgeo.cli.main import cli

pytestmark = pytest.mark.postgis
Sql = Callable[..., list[tuple[object, ...]]]


@pytest.mark.parametrize("chunked", [False, True], ids=["whole", "chunks"])
def test_a_column_named_geometry_is_kept(
    pg_uri: str, pg_schema: str, pg_sql: Sql, minipack: Path, tmp_path: Path, chunked: bool
) -> None:
    boxes = [shapely.box(108.605 + i * 0.006, 21.675, 108.61 + i * 0.006, 21.679) for i in range(3)]
    gk = gpd.GeoSeries(boxes, crs="EPSG:4490").to_crs("EPSG:4524")
    pg_sql(
        f"CREATE TABLE {pg_schema}.地块 (gid int PRIMARY KEY, geometry text, "
        "geom geometry(MultiPolygon, 4524))"
    )
    for k, g in enumerate(gk):
        pg_sql(
            f"INSERT INTO {pg_schema}.地块 VALUES "
            "(:gid, :note, ST_Multi(ST_GeomFromText(:wkt, 4524)))",
            {"gid": 11 + k, "note": f"测绘{k}", "wkt": g.wkt},
        )
    out = tmp_path / "out"
    args = ["analyze", "--parcels", f"{pg_uri}?table={pg_schema}.地块", "--pack", str(minipack)]
    args += ["--out", str(out), *(["--chunk-rows", "1"] if chunked else [])]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    got = gpd.read_file(out / "internal" / "parcels.gpkg").set_index("gid")
    assert got["geometry_input"].to_dict() == {11: "测绘0", 12: "测绘1", 13: "测绘2"}
    assert (got.geom_type == "MultiPolygon").all()
    report = (out / "internal" / "parcels_report.json").read_text(encoding="utf-8")
    assert "geometry_input" in json.dumps(json.loads(report), ensure_ascii=False)
