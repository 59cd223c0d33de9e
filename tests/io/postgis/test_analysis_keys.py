"""The analysis tables `--to-postgis` writes have an integer primary key.

Without one, QGIS opens ``qz_available_land`` read-only by its ctid and asks which column is
unique (``id`` is text: ``zones-1``). The key is read back from PostgreSQL's catalog.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from qzgeo.analysis.zones import analyze_pack
from qzgeo.pack.catalog import load_pack
from qzgeo.pack.load import load_pack_layers
from qzgeo.publish.tables import write_analysis_postgis

pytestmark = pytest.mark.postgis
Sql = Callable[..., list[tuple[object, ...]]]
TABLES = ("qz_available_land", "qz_conflicts", "qz_zone_summary")


def _keys(sql: Sql, schema: str) -> dict[str, list[tuple[object, ...]]]:
    rows = sql(
        "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) "
        "FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indisprimary AND n.nspname = :s",
        {"s": schema},
    )
    out: dict[str, list[tuple[object, ...]]] = {}
    for table, column, kind in rows:
        out.setdefault(str(table), []).append((column, kind))
    return out


def test_each_table_is_keyed_by_ogc_fid(
    pg_uri: str, pg_schema: str, pg_sql: Sql, minipack: object
) -> None:
    result = analyze_pack(load_pack_layers(load_pack(minipack)))  # type: ignore[arg-type]
    for _ in range(2):  # a second run replaces the tables: still keyed
        write_analysis_postgis(result, f"{pg_uri}?table={pg_schema}.qz")
        assert _keys(pg_sql, pg_schema) == {t: [("ogc_fid", "bigint")] for t in TABLES}
    for table, frame in zip(
        TABLES, (result.available_land, result.conflicts, result.zone_summary), strict=True
    ):
        rows = pg_sql(f"SELECT ogc_fid FROM {pg_schema}.{table} ORDER BY ogc_fid")
        assert [r[0] for r in rows] == list(range(1, len(frame) + 1)), table
    ids = pg_sql(f"SELECT id FROM {pg_schema}.qz_available_land ORDER BY ogc_fid")
    assert [r[0] for r in ids] == result.available_land["id"].tolist()
