"""A folder of Shapefiles (on the allow-list) reads its GBK Shapefiles as each file would.

Found by out13: ``qzgeo check 宗地/`` (or ``analyze --parcels 宗地/``) of a folder holding
an ArcGIS export, a GBK DBF without .cpg, was refused with "a folder, and GDAL finds no layer
in it": read through the folder, the DBF was taken as UTF-8 and none of the Shapefile
checks (encoding detection, .cpg, truncation) ran.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
from shapely.geometry import box

from qzgeo.io.vector import read_layer


def _gbk_shapefile(folder: Path, stem: str, names: list[str]) -> None:
    folder.mkdir(exist_ok=True)
    boxes = [box(565000 + 400 * i, 2428000, 565300 + 400 * i, 2428300) for i in range(len(names))]
    gdf = gpd.GeoDataFrame({"名称": names}, geometry=boxes, crs="EPSG:4545")
    gdf.to_file(folder / f"{stem}.shp", encoding="GBK")
    (folder / f"{stem}.cpg").unlink(missing_ok=True)  # as ArcGIS 10 writes it: no .cpg


def test_a_folder_of_one_gbk_shapefile_reads_its_names(tmp_path: Path) -> None:
    folder = tmp_path / "宗地"
    _gbk_shapefile(folder, "宗地", ["甲地块", "乙地块"])
    gdf = read_layer(folder)
    assert gdf["名称"].tolist() == ["甲地块", "乙地块"]
    assert gdf.crs.to_epsg() == 4545


def test_a_named_layer_of_a_folder_of_several(tmp_path: Path) -> None:
    folder = tmp_path / "成果"
    _gbk_shapefile(folder, "一期", ["甲"])
    _gbk_shapefile(folder, "二期", ["乙", "丙"])
    assert read_layer(folder, layer="二期")["名称"].tolist() == ["乙", "丙"]
