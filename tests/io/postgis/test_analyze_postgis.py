"""`qzgeo analyze --parcels postgresql://...`, checked against PostGIS itself.

The parcels are a GK (EPSG:4524) table as GIS staff keep them: an integer primary key that
does not start at 0, a NULL geometry and a self-intersecting one. PostGIS is the oracle:
``ST_Area(ST_Transform(geom, 4490)::geography)`` for areas, ``ST_Intersection`` with the
pack's constraint layer (put into PostGIS first) for overlaps.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner

from qzgeo.cli.main import cli
from qzgeo.io.postgis import write_postgis_layer

pytestmark = pytest.mark.postgis
Sql = Callable[..., list[tuple[object, ...]]]
SECRET = "Qz-pw/with?odd#chars"  # ignored by the trust-auth test server, must never show up
ENCODED = quote(SECRET, safe="")


def _parcels_table(pg_sql: Sql, schema: str) -> str:
    """规划.地块-like table in ``schema``; gid 101..130, gid 103 NULL, gid 107 a bow-tie."""
    boxes = [
        shapely.box(108.605 + i * 0.006, 21.675 + j * 0.005, 108.61 + i * 0.006, 21.679 + j * 0.005)
        for i in range(6)
        for j in range(5)
    ]
    gk = gpd.GeoSeries(boxes, crs="EPSG:4490").to_crs("EPSG:4524")
    pg_sql(
        f'CREATE TABLE {schema}."地块" (gid int PRIMARY KEY, "地块编号" text, '
        "geom geometry(Geometry, 4524))"
    )
    for k, g in enumerate(gk):
        pg_sql(
            f'INSERT INTO {schema}."地块" VALUES (:gid, :code, ST_GeomFromText(:wkt, 4524))',
            {"gid": 101 + k, "code": f"QZ-{k:03d}", "wkt": g.wkt},
        )
    x0, y0, x1, y1 = gk.iloc[6].bounds
    bowtie = f"POLYGON(({x0} {y0}, {x1} {y1}, {x1} {y0}, {x0} {y1}, {x0} {y0}))"
    pg_sql(f'UPDATE {schema}."地块" SET geom = NULL WHERE gid = 103')
    pg_sql(
        f'UPDATE {schema}."地块" SET geom = ST_GeomFromText(:wkt, 4524) WHERE gid = 107',
        {"wkt": bowtie},
    )
    return f"{schema}.地块"


def _run(pg_uri: str, table: str, pack: Path, out: Path) -> tuple[str, dict[str, object]]:
    uri = pg_uri.replace("://postgres@", f"://postgres:{ENCODED}@") + f"?table={table}"
    res = CliRunner().invoke(
        cli, ["analyze", "--parcels", uri, "--pack", str(pack), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert SECRET not in res.output and ENCODED not in res.output
    for f in out.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            assert SECRET.encode() not in data and ENCODED.encode() not in data, f
    report = json.loads((out / "internal" / "parcels_report.json").read_text(encoding="utf-8"))
    return res.output, report


def test_analyze_postgis_parcels_match_postgis(
    pg_uri: str, pg_schema: str, pg_sql: Sql, minipack: Path, tmp_path: Path
) -> None:
    table = _parcels_table(pg_sql, pg_schema)
    red = gpd.read_file(minipack / "layers" / "mini.gpkg", layer="control_lines")
    write_postgis_layer(red, f"{pg_uri}?table={pg_schema}.control_lines&geom=geom")
    _, report = _run(pg_uri, table, minipack, tmp_path / "out")
    assert report["parcels"] == 29  # the NULL one dropped, and said so
    assert list(report["inputs"]) == [  # type: ignore[call-overload]
        pg_uri.replace("://postgres@", "://postgres:***@") + f"?table={table}"
    ]
    got = gpd.read_file(tmp_path / "out" / "internal" / "parcels.gpkg").set_index("gid")
    areas = dict(
        pg_sql(
            f"SELECT gid, ST_Area(ST_Transform(ST_MakeValid(geom), 4490)::geography) "
            f'FROM {pg_schema}."地块" WHERE geom IS NOT NULL'
        )
    )
    assert sorted(areas) == sorted(got.index)
    for gid, want in areas.items():
        assert got.loc[gid, "area_m2"] == pytest.approx(float(want), abs=0.01), gid  # type: ignore[arg-type]
    overlaps = pg_sql(
        "SELECT p.gid, ST_Area(ST_Intersection(ST_Transform(ST_MakeValid(p.geom), 4490), "
        f'c.geom)::geography) FROM {pg_schema}."地块" p JOIN {pg_schema}.control_lines c '
        "ON ST_Intersects(ST_Transform(p.geom, 4490), c.geom) WHERE c.\"类别\" = '生态保护红线'"
    )
    assert len(overlaps) >= 5
    for gid, want in overlaps:
        # edges straight in GK (parcels) vs in lon/lat (red line): within a square metre
        assert got.loc[gid, "control_lines:生态保护红线"] == pytest.approx(float(want), abs=1.0)  # type: ignore[arg-type]


def test_analyze_postgis_feature_ids_are_the_primary_key(
    pg_uri: str, pg_schema: str, pg_sql: Sql, minipack: Path, tmp_path: Path
) -> None:
    """Reports name a row by its primary key (gid 103), not by its position (2)."""
    table = _parcels_table(pg_sql, pg_schema)
    _, report = _run(pg_uri, table, minipack, tmp_path / "out")
    records = report["repairs"]["records" if "records" in report["repairs"] else "repairs"]  # type: ignore[index]
    by_reason = {r["reason"].split(" ")[0]: r for r in records}
    assert by_reason["null"]["feature_id"] == "103"
    assert by_reason["invalid"]["feature_id"] == "107"
    got = gpd.read_file(tmp_path / "out" / "internal" / "parcels.gpkg")
    assert (got["source_fid"] == got["gid"]).all()


def test_analyze_postgis_without_key_says_rows_are_positions(
    pg_uri: str, pg_schema: str, pg_sql: Sql, minipack: Path, tmp_path: Path
) -> None:
    """A view has no primary key: the report says its rows are numbered by position."""
    _parcels_table(pg_sql, pg_schema)
    pg_sql(f'CREATE VIEW {pg_schema}.v AS SELECT * FROM {pg_schema}."地块" WHERE gid > 103')
    output, report = _run(pg_uri, f"{pg_schema}.v", minipack, tmp_path / "out")
    warnings = report["repairs"]["warnings"]  # type: ignore[index]
    assert any(f"{pg_schema}.v has no primary key" in w for w in warnings), warnings
    # the view's, and the minipack's own (its lon/lat red lines have 2 km edges)
    assert len(warnings) == 2, warnings
    assert "2 warning(s); see parcels_report.json" in output


def test_analyze_repair_areas_are_ellipsoidal(
    pg_uri: str, pg_schema: str, pg_sql: Sql, minipack: Path, tmp_path: Path
) -> None:
    """parcels_report.json's area after a repair is the ellipsoidal area, not the GK plane's."""
    table = _parcels_table(pg_sql, pg_schema)
    _, report = _run(pg_uri, table, minipack, tmp_path / "out")
    [fixed] = [r for r in report["repairs"]["repairs"] if r["action"] == "repaired"]  # type: ignore[index]
    [(want,)] = pg_sql(
        f"SELECT ST_Area(ST_Transform(ST_MakeValid(geom), 4490)::geography) "
        f'FROM {pg_schema}."地块" WHERE gid = 107'
    )
    assert fixed["area_after_m2"] == pytest.approx(float(want), abs=0.01)  # type: ignore[arg-type]


def test_analyze_leaves_the_postgis_table_as_it_was(
    pg_uri: str, pg_schema: str, pg_sql: Sql, minipack: Path, tmp_path: Path
) -> None:
    """An input is never modified, a table no more than a file: same rows, same columns, no
    new table, index or view in its schema."""
    table = _parcels_table(pg_sql, pg_schema)

    def state() -> list[tuple[object, ...]]:
        rows = pg_sql(
            f"SELECT md5(string_agg(t::text, '|' ORDER BY gid)) FROM {pg_schema}.\"地块\" t"
        )
        objects = pg_sql(
            "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = "
            "c.relnamespace WHERE n.nspname = :s ORDER BY 1",
            {"s": pg_schema},
        )
        return [*rows, *objects]

    before = state()
    _run(pg_uri, table, minipack, tmp_path / "out")
    assert state() == before
