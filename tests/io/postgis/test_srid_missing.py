"""A table whose SRID the database's spatial_ref_sys lacks is refused, not written.

With a trimmed spatial_ref_sys (a database restored without PostGIS's rows), the table was
written silently; PostGIS then could not ST_Transform it and QGIS could not place it. The
oracle is PostgreSQL: the table is not there afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import geopandas as gpd
import pytest
import shapely

from qzgeo._errors import OutputError
from qzgeo.io.postgis import write_postgis_layer

pytestmark = pytest.mark.postgis
Sql = Callable[..., list[tuple[object, ...]]]
SRID = 4534  # CGCS2000 GK CM 75E: used by no other test


@pytest.fixture
def without_srid(pg_sql: Sql, pg_schema: str) -> Iterator[None]:
    kept = f"{pg_schema}.kept_srs"
    pg_sql(f"CREATE TABLE {kept} AS SELECT * FROM spatial_ref_sys WHERE srid = {SRID}")
    pg_sql(f"DELETE FROM spatial_ref_sys WHERE srid = {SRID}")
    try:
        yield
    finally:
        pg_sql(f"INSERT INTO spatial_ref_sys SELECT * FROM {kept}")


def test_a_missing_srid_is_refused_with_the_fix(
    pg_uri: str, pg_schema: str, pg_sql: Sql, without_srid: None
) -> None:
    gdf = gpd.GeoDataFrame(
        {"名称": ["甲"]}, geometry=[shapely.box(500000, 4000000, 500100, 4000100)], crs=SRID
    )
    with pytest.raises(OutputError) as err:
        write_postgis_layer(gdf, f"{pg_uri}?table={pg_schema}.parcels")
    said = str(err.value)
    assert f"SRID {SRID}" in said and "spatial_ref_sys" in said and "--to-crs" in said, said
    rows = pg_sql(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = :s",
        {"s": pg_schema},
    )
    assert rows == [("kept_srs",)]  # no parcels table, no qzgeo_tmp_* left
