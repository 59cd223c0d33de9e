"""A GeoPackage written from a frame with a ``fid`` column of its own (QGIS copies a
GeoPackage's fid into the Shapefiles it exports; a merge repeats it).

Found by out13: ``qzgeo convert merged.shp out.gpkg`` stopped with "UNIQUE constraint failed:
out.fid" (a text FID: "FID column 'fid' should be of Arrow format 'i'"), as GDAL takes a
column named like the feature-id column as the feature ids. Unique integers still become the
ids; other values stay an attribute, and the ids get another name.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import box

from qzgeo.io.write import write_layer


@pytest.mark.parametrize(
    ("column", "values"),
    [("fid", [1, 1, 2]), ("FID", ["a", "b", "c"]), ("Fid", [7, None, 9])],
    ids=["repeated", "text", "missing"],
)
def test_a_fid_that_cannot_be_the_ids_stays_an_attribute(
    tmp_path: Path, column: str, values: list[object]
) -> None:
    g = gpd.GeoDataFrame(
        {column: values, "名称": ["甲", "乙", "丙"]},
        geometry=[box(108.6 + i / 100, 21.7, 108.605 + i / 100, 21.705) for i in range(3)],
        crs="EPSG:4490",
    )
    out = write_layer(g, tmp_path / "out.gpkg")
    info = pyogrio.read_info(out)
    assert info["fid_column"] == "fid_1"
    back = pyogrio.read_dataframe(out)
    got = [None if v != v else v for v in back[column].tolist()]  # NaN: missing
    assert got == values
    assert back["名称"].tolist() == ["甲", "乙", "丙"]


def test_unique_integer_fids_are_the_ids(tmp_path: Path) -> None:
    g = gpd.GeoDataFrame(
        {"fid": [5, 3, 9]},
        geometry=[box(108.6 + i / 100, 21.7, 108.605 + i / 100, 21.705) for i in range(3)],
        crs="EPSG:4490",
    )
    out = write_layer(g, tmp_path / "out.gpkg")
    assert pyogrio.read_info(out)["fid_column"] == "fid"
    assert sorted(pyogrio.read_dataframe(out, fid_as_index=True).index) == [3, 5, 9]
