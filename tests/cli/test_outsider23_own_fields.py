"""A city's GIS staff put their own layer into a ``qzgeo new-pack`` skeleton (issue 9).

Their zones come as a GBK Shapefile with fields of their own (名称, 用地), without the
skeleton's 来源 and 精度. validate used to say ``publish field '来源' is not a field; fields
are 名称, 用地``: neither the file it looked in nor what to do. Each problem now names the data
file, its fields and the fix, and the pack validates and publishes once the catalog follows.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import shapely

from tests.cli._cli import assert_exit2, qzgeo


def _skeleton_with_own_zones(tmp_path: Path) -> Path:
    pack = tmp_path / "harbin"
    res = qzgeo("new-pack", pack, "--name", "harbin", "--center", "126.6,45.8")
    assert res.exit_code == 0, res.output
    layers = pack / "layers"
    centre = gpd.GeoSeries([shapely.Point(126.6, 45.8)], crs=4490).to_crs(4551).iloc[0]
    x, y = centre.x, centre.y
    zones = gpd.GeoDataFrame(
        {"名称": ["松北区块", "群力区块"], "用地": ["工业", "居住"]},
        geometry=[
            shapely.box(x - 3000, y - 2000, x + 3000, y + 2000),
            shapely.box(x + 3000, y - 2000, x + 6000, y + 2000),
        ],
        crs=4551,
    )
    zones.to_file(layers / "zones.shp", encoding="GBK")
    (layers / "zones.geojson").unlink()
    catalog = layers / "catalog.toml"
    text = catalog.read_text(encoding="utf-8").replace(
        'path = "zones.geojson"', 'path = "zones.shp"'
    )
    catalog.write_text(text, encoding="utf-8")
    return pack


def test_missing_publish_fields_name_the_file_its_fields_and_the_fix(tmp_path: Path) -> None:
    pack = _skeleton_with_own_zones(tmp_path)
    res = qzgeo("validate", "--pack", pack)
    assert_exit2(res, "2 problem(s)")
    for field in ("来源", "精度"):
        line = next(x for x in res.output.splitlines() if f"publish field '{field}'" in x)
        assert "catalog.toml layer 'zones'" in line, line
        assert "is not a field of zones.shp (its fields: 名称, 用地)" in line, line
        assert "add the field to the file, or take it out of `publish_fields`" in line, line


def test_a_name_field_of_another_file_names_the_fields_and_the_fix(tmp_path: Path) -> None:
    pack = _skeleton_with_own_zones(tmp_path)
    catalog = pack / "layers" / "catalog.toml"
    text = catalog.read_text(encoding="utf-8").replace(
        'publish_fields = ["名称", "来源", "精度"]   # the only fields a public page shows',
        'publish_fields = ["名称", "用地"]',
        1,
    )
    text = text.replace('name_field = "名称"', 'name_field = "NAME"', 1)
    catalog.write_text(text, encoding="utf-8")
    res = qzgeo("validate", "--pack", pack)
    assert_exit2(
        res,
        "`name_field` 'NAME' is not a field of zones.shp (its fields: 名称, 用地); "
        "name one of them in `name_field`, or add the field to the file",
    )
    catalog.write_text(text.replace('name_field = "NAME"', 'name_field = "名称"', 1), "utf-8")
    res = qzgeo("validate", "--pack", pack)
    assert res.exit_code == 0, res.output
    out = tmp_path / "out"
    res = qzgeo("publish", "--pack", pack, "--out", out)
    assert res.exit_code == 0, res.output
    summary = gpd.read_file(out / "internal" / "analysis.gpkg", layer="zone_summary")
    assert sorted(summary["名称"]) == ["松北区块", "群力区块"]  # the name_field
