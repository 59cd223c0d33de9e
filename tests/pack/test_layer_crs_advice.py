"""A pack layer whose coordinates do not fit its CRS was refused with the command line's fix
("check `crs` / --crs"): a catalog layer takes no --crs. The refusal now names the catalog's
`crs` of that layer with its value, or the file's own CRS when that is the one used; a file
read from the command line keeps the command line's fix."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest

from qzgeo._errors import CRSError
from qzgeo.io.vector import read_layer
from qzgeo.pack.catalog import load_pack
from qzgeo.pack.load import load_pack_layers

# mini.gpkg's zones are in a zone-prefixed Gauss-Krüger CRS (eastings of 36 5xx xxx): read as
# lon/lat degrees (EPSG:4490) they lie far outside China.
WRONG = "EPSG:4490"


def _zones_as(minipack: Path, *, file_crs: str | None, catalog_crs: str | None) -> Path:
    layers = minipack / "layers"
    gdf = gpd.read_file(layers / "mini.gpkg", layer="zones")
    gdf.set_crs(file_crs, allow_override=True).to_file(layers / "z.gpkg", layer="zones")
    cat = layers / "catalog.toml"
    text = cat.read_text(encoding="utf-8")
    old = 'path = "mini.gpkg"\nlayer = "zones"'
    assert old in text
    new = 'path = "z.gpkg"\nlayer = "zones"' + (f'\ncrs = "{catalog_crs}"' if catalog_crs else "")
    cat.write_text(text.replace(old, new, 1), encoding="utf-8")
    return layers / "z.gpkg"


def _refusal(minipack: Path) -> str:
    with pytest.raises(CRSError) as got:
        load_pack_layers(load_pack(minipack))
    return str(got.value)


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_a_wrong_catalog_crs_is_named_with_its_value(minipack: Path) -> None:
    _zones_as(minipack, file_crs=None, catalog_crs=WRONG)
    said = _refusal(minipack)
    assert "outside China" in said, said
    assert f"check `crs` '{WRONG}' of catalog.toml layer 'zones'" in said, said
    assert "--crs" not in said, said


@pytest.mark.parametrize("catalog_crs", [None, "EPSG:4524"])
def test_a_wrong_crs_of_the_file_is_fixed_in_the_file(
    minipack: Path, catalog_crs: str | None
) -> None:
    # The file declares its CRS: a catalog `crs` (even the right one) is not used for it.
    _zones_as(minipack, file_crs=WRONG, catalog_crs=catalog_crs)
    said = _refusal(minipack)
    assert "check the CRS its file declares" in said, said
    assert "check `crs` / --crs" not in said and "of catalog.toml layer" not in said, said


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_the_command_line_keeps_its_fix(minipack: Path) -> None:
    path = _zones_as(minipack, file_crs=None, catalog_crs=None)
    with pytest.raises(CRSError, match="check `crs` / --crs"):
        read_layer(path, layer="zones", crs=WRONG)
