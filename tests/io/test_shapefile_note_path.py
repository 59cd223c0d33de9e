"""The Shapefile encoding notes named the file by its bare name (`p.shp: no .cpg file ...`)
while every other warning about it names it as given (`data/p.shp: ...`): two files of one
name in two folders could not be told apart. The notes now use the path as given."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from qzgeo.io.vector import read_layer
from qzgeo.notices import notices_of


def _gbk_shapefile(folder: Path, cpg: str | None) -> Path:
    folder.mkdir(parents=True)
    path = folder / "p.shp"
    gdf = gpd.GeoDataFrame(
        {"名称": ["港区"]}, geometry=[shapely.box(108.6, 21.7, 108.605, 21.705)], crs="EPSG:4490"
    )
    gdf.to_file(path, encoding="gbk")
    (folder / "p.cpg").unlink(missing_ok=True)
    if cpg is not None:
        (folder / "p.cpg").write_text(cpg, encoding="ascii")
    return path


@pytest.mark.parametrize("cpg", [None, "1252"])
def test_the_encoding_note_names_the_file_as_given(tmp_path: Path, cpg: str | None) -> None:
    path = _gbk_shapefile(tmp_path / "甲" / "data", cpg)
    notes = notices_of(read_layer(path)).messages()
    said = [m for m in notes if "GBK" in m or ".cpg" in m]
    assert said, notes
    assert all(m.startswith(f"{path}: ") for m in said), said
