"""`qzgeo validate`: a broken pack lists all of its problems at once, exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from qzgeo._errors import PackError
from qzgeo.cli.main import cli
from qzgeo.pack.catalog import load_pack
from qzgeo.pack.validate import check_pack, validate_pack


def _break(pack: Path) -> None:
    cat = pack / "layers" / "catalog.toml"
    text = cat.read_text(encoding="utf-8")
    text = text.replace('role = "zone"', 'role = "zoning"', 1)
    text += (
        '\n[[layers]]\nid = "ghost"\ntitle = "幽灵"\nrole = "base"\npath = "missing.gpkg"\n'
        'sensitivity = "public"\nsource = "x"\nlicence = "x"\nprecision = "schematic"\n'
    )
    cat.write_text(text, encoding="utf-8")
    style = pack / "styles" / "mini.toml"
    style.write_text(
        style.read_text(encoding="utf-8")
        + '\n[control_lines.classes."基本草原"]\nfill = "#00ff00"\n',
        encoding="utf-8",
    )
    (pack / "maps" / "bad.toml").write_text(
        'title = "坏图"\naudience = "public"\nlayers = ["zones", "nowhere", "control_lines"]\n',
        encoding="utf-8",
    )


def test_valid_pack_passes(minipack: Path) -> None:
    assert check_pack(load_pack(minipack)) == []
    result = CliRunner().invoke(cli, ["validate", "--pack", str(minipack)])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output


def test_broken_pack_lists_every_problem(minipack: Path) -> None:
    _break(minipack)
    problems = check_pack(load_pack(minipack))
    text = "\n".join(problems)
    assert "unknown role 'zoning'" in text
    assert "missing.gpkg" in text and "not found" in text
    assert "unknown style class '基本草原'" in text
    assert "'nowhere' does not exist in the catalog" in text
    assert "public map shows internal layer 'control_lines'" in text
    with pytest.raises(PackError) as err:
        validate_pack(load_pack(minipack))
    assert len(err.value.problems) == len(problems) >= 5

    result = CliRunner().invoke(cli, ["validate", "--pack", str(minipack)])
    assert result.exit_code == 2
    for needle in ("zoning", "missing.gpkg", "基本草原", "nowhere", "control_lines"):
        assert needle in result.output


def test_missing_crs_is_reported(minipack: Path, tmp_path: Path) -> None:
    import geopandas as gpd

    gdf = gpd.read_file(minipack / "layers" / "mini.gpkg", layer="zones")
    # A shapefile without .prj (GeoJSON always implies WGS84, so it cannot lack a CRS).
    nocrs = gdf[["geometry"]].set_crs(None, allow_override=True)
    nocrs.to_file(minipack / "layers" / "nocrs.shp", engine="pyogrio")
    cat = minipack / "layers" / "catalog.toml"
    text = cat.read_text(encoding="utf-8").replace(
        'path = "mini.gpkg"\nlayer = "zones"', 'path = "nocrs.shp"', 1
    )
    cat.write_text(text, encoding="utf-8")
    problems = check_pack(load_pack(minipack))
    problems = [p for p in problems if "field" not in p]  # the shapefile lacks 名称 on purpose
    assert any("no CRS" in p and "crs =" in p for p in problems), problems


def test_bad_toml_names_the_file(minipack: Path) -> None:
    (minipack / "maps" / "zones.toml").write_text("title = \n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", "--pack", str(minipack)])
    assert result.exit_code == 2
    assert "zones.toml" in result.output and "not valid TOML" in result.output


def test_missing_pack_folder(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["validate", "--pack", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "does not exist" in result.output
