"""A pack layer wholly outside the pack's `extent`, or with swapped axes, was refused with the
command line's advice ("pass --pack for this city", "check --crs", "--swap-xy"), options a
catalog layer does not take: the refusal names the catalog keys (`extent`, the layer's `crs`)
and, for swapped axes, the fix in the file."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner
from packs import new_pack

from qzgeo._errors import CRSError
from qzgeo.cli.main import cli
from qzgeo.pack.catalog import load_pack
from qzgeo.pack.load import load_pack_layers

#: What `new-pack --center 87.6,43.8` writes, and a box ~13° away that holds none of its layers.
GOOD = "extent = [87.1, 43.3, 88.1, 44.3]"
ELSEWHERE = "extent = [100.1, 30.3, 101.1, 31.3]"


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    folder = new_pack(tmp_path / "urumqi", "87.6,43.8")
    return folder


def _edit(pack: Path, old: str, new: str) -> None:
    cat = pack / "layers" / "catalog.toml"
    text = cat.read_text(encoding="utf-8")
    assert old in text
    cat.write_text(text.replace(old, new, 1), encoding="utf-8")


def _validate(pack: Path) -> str:
    res = CliRunner().invoke(cli, ["validate", "--pack", str(pack)])
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    return res.output


def _zones_line(out: str) -> str:
    return next(line for line in out.splitlines() if "layer 'zones'" in line)


def test_validate_names_the_catalog_keys(pack: Path) -> None:
    _edit(pack, GOOD, ELSEWHERE)
    line = _zones_line(_validate(pack))
    assert "wholly outside the pack extent" in line, line
    assert "`extent` of catalog.toml's [pack]" in line and "`crs` in catalog.toml layer" in line
    assert "--pack" not in line and "--crs" not in line, line


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_a_catalog_crs_is_named_with_its_value(pack: Path) -> None:
    _edit(pack, GOOD, ELSEWHERE)
    gdf = gpd.read_file(pack / "layers" / "zones.geojson")
    gdf.set_crs(None, allow_override=True).to_file(pack / "layers" / "zones_nocrs.shp")
    _edit(pack, 'path = "zones.geojson"', 'path = "zones_nocrs.shp"\ncrs = "EPSG:4490"')
    line = _zones_line(_validate(pack))
    assert "the wrong `crs` 'EPSG:4490' of catalog.toml layer 'zones'" in line, line
    assert "--crs" not in line, line


def test_loading_names_the_catalog_keys(pack: Path) -> None:
    _edit(pack, GOOD, ELSEWHERE)
    with pytest.raises(CRSError) as got:
        load_pack_layers(load_pack(pack))
    assert "`extent` of catalog.toml's [pack]" in str(got.value)
    assert "--pack" not in str(got.value) and "--crs" not in str(got.value)


def test_swapped_axes_name_the_fix_in_the_file(pack: Path) -> None:
    gdf = gpd.read_file(pack / "layers" / "zones.geojson").to_crs("EPSG:4538")
    gdf.geometry = shapely.transform(gdf.geometry.values, lambda c: c[:, ::-1])
    gdf.to_file(pack / "layers" / "zones.gpkg")
    _edit(pack, 'path = "zones.geojson"', 'path = "zones.gpkg"')
    line = _zones_line(_validate(pack))
    assert "swapped X/Y" in line and "a catalog layer takes no --swap-xy" in line, line
    assert "swap X and Y in the file itself" in line, line
