"""An untyped ``geometry`` column whose rows carry different SRIDs is refused, whatever they are.

The SRIDs were looked up with ``SELECT DISTINCT ST_SRID(geom) ... LIMIT 2`` and the zeros
dropped afterwards: rows of SRID 4490 beside rows of SRID 0 (no CRS: pasted WKT, a QGIS
layer saved without one) were all read as EPSG:4490, a guess; and with three SRIDs (4545,
4546 and 0) the two returned could be 4545 and 0, so rows of zone 37 were read as zone 36,
~300 km west and still in China.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from qzgeo._errors import CRSError
from qzgeo.io.postgis import read_postgis_layer

pytestmark = pytest.mark.postgis
Sql = Callable[..., list[tuple[object, ...]]]

_LONLAT = "POLYGON((108.62 21.95, 108.625 21.95, 108.625 21.954, 108.62 21.954, 108.62 21.95))"


def _table(pg_sql: Sql, schema: str, name: str, rows: list[str]) -> None:
    pg_sql(f"CREATE TABLE {schema}.{name} (gid serial PRIMARY KEY, geom geometry)")
    for geom in rows:
        pg_sql(f"INSERT INTO {schema}.{name} (geom) VALUES ({geom})")


def test_rows_without_srid_beside_lonlat_rows_are_refused(
    pg_uri: str, pg_schema: str, pg_sql: Sql
) -> None:
    _table(
        pg_sql,
        pg_schema,
        "half",
        [f"ST_GeomFromText('{_LONLAT}', 4490)", f"ST_GeomFromText('{_LONLAT}', 0)"],
    )
    uri = f"{pg_uri}?table={pg_schema}.half"
    for crs in (None, "EPSG:4490"):
        with pytest.raises(CRSError, match=r"mixes SRIDs in 'geom' \(0 and 4490"):
            read_postgis_layer(uri, crs=crs)


def test_three_srids_one_of_them_zero_are_refused(pg_uri: str, pg_schema: str, pg_sql: Sql) -> None:
    lonlat = f"ST_GeomFromText('{_LONLAT}', 4490)"
    _table(
        pg_sql,
        pg_schema,
        "zones",
        [
            f"ST_Transform({lonlat}, 4545)",
            f"ST_Transform(ST_Translate({lonlat}, 3, 0), 4546)",
            f"ST_SetSRID(ST_Transform({lonlat}, 4545), 0)",
        ],
    )
    with pytest.raises(CRSError, match="mixes SRIDs in 'geom'"):
        read_postgis_layer(f"{pg_uri}?table={pg_schema}.zones")
