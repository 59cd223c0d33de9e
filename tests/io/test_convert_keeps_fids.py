"""``qzgeo convert a.gpkg b.gpkg``: the GeoPackage's fids (3, 7, 12 after features were deleted
in QGIS) came out renumbered 1, 2, 3, where ogr2ogr keeps them; ``qzgeo analyze`` then named
parcel 12 of the source "3" in the copy (its ``source_fid`` and report). Found in round 21's
convert/tables audit."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
import shapely

from tests.cli._cli import qzgeo

X0, Y0 = 564_000.0, 2_429_500.0  # CGCS2000 GK CM 108E (EPSG:4545), no prefix


def _parcels(fids: list[int] | None) -> gpd.GeoDataFrame:
    boxes = [shapely.box(X0 + 200 * i, Y0, X0 + 200 * i + 100, Y0 + 100) for i in range(3)]
    return gpd.GeoDataFrame({"名称": ["甲", "乙", "丙"]}, geometry=boxes, crs=4545, index=fids)


def _fids(path: Path) -> list[int]:
    return pyogrio.read_dataframe(path, fid_as_index=True).index.tolist()


def test_geopackage_fids_are_kept(tmp_path: Path) -> None:
    src = tmp_path / "宗地.gpkg"
    gdf = _parcels([3, 7, 12]).rename_axis("fid").reset_index()
    pyogrio.write_dataframe(gdf, src)
    assert _fids(src) == [3, 7, 12]
    out = tmp_path / "副本.gpkg"
    res = qzgeo("convert", src, out)
    assert res.exit_code == 0, res.output
    assert _fids(out) == [3, 7, 12]
    got = pyogrio.read_dataframe(out, fid_as_index=True)
    assert got["名称"].tolist() == ["甲", "乙", "丙"] and "fid" not in got.columns


def test_record_numbers_of_a_shapefile_are_numbered_afresh(tmp_path: Path) -> None:
    src = tmp_path / "宗地.shp"  # no fids of its own: records 0, 1, 2
    _parcels(None).to_file(src, engine="pyogrio", layer_options={"ENCODING": "UTF-8"})
    out = tmp_path / "宗地.gpkg"
    assert qzgeo("convert", src, out).exit_code == 0
    assert _fids(out) == [1, 2, 3]  # as ogr2ogr numbers them
