"""A constraint class named like the zone summary's own columns: a class 'available' wrote its
overlap into ``available_m2``/``_ha``/``_mu``, the zone's available land (乙区: 24.997330 公顷
where 64.993145 is available), and its own class columns were gone, without a word."""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import pytest
from click.testing import Result

from tests.cli._cli import MINIPACK, assert_exit2, qzgeo


def _renamed(tmp_path: Path, new: str) -> Path:
    """The minipack with its class 永久基本农田 renamed ``new`` in data, catalog and styles."""
    pack = tmp_path / "pack"
    shutil.copytree(MINIPACK, pack)
    gpkg = pack / "layers" / "mini.gpkg"
    zones = gpd.read_file(gpkg, layer="zones", fid_as_index=True)
    lines = gpd.read_file(gpkg, layer="control_lines", fid_as_index=True)
    lines["类别"] = lines["类别"].replace({"永久基本农田": new})
    gpkg.unlink()
    zones.to_file(gpkg, layer="zones")
    lines.to_file(gpkg, layer="control_lines")
    for toml in (pack / "layers" / "catalog.toml", pack / "styles" / "mini.toml"):
        toml.write_text(toml.read_text("utf-8").replace("永久基本农田", new), encoding="utf-8")
    return pack


def _publish(pack: Path, out: Path) -> Result:
    return qzgeo("publish", "--pack", pack, "--out", out, "--no-maps")


@pytest.mark.parametrize("name", ["available", "zone", "受限面积"])
def test_a_class_named_like_a_zone_column_is_refused(tmp_path: Path, name: str) -> None:
    res = _publish(_renamed(tmp_path, name), tmp_path / "out")
    assert_exit2(res, repr(name), "control_lines", "rename")
    assert not (tmp_path / "out" / "internal" / "zone_summary.csv").exists()


def test_other_english_class_names_are_columns_of_their_own(tmp_path: Path) -> None:
    res = _publish(_renamed(tmp_path, "farmland"), tmp_path / "out")
    assert res.exit_code == 0, res.output
    gdf = gpd.read_file(tmp_path / "out" / "internal" / "analysis.gpkg", layer="zone_summary")
    # the zones' available land as the golden CSV has it (tests/data/golden, the oracle)
    assert list(gdf["available_m2"]) == pytest.approx([749922.63, 649931.45], abs=0.02)
    assert list(gdf["farmland_m2"]) == pytest.approx([0.0, 249973.30], abs=0.02)
