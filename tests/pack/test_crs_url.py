"""A pack CRS naming a URL is a problem. planar_crs = "+proj=tmerc ... +nadgrids=http://HOST/
grid.tif" passed validate (OK) and publish (exit 0), and with PROJ_NETWORK=ON in the user's
environment every run asked that host for the grid (seen in a local server's log)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from qzgeo.cli.main import cli

URL_CRS = (
    "+proj=tmerc +lat_0=0 +lon_0=114 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 "
    "+nadgrids=http://127.0.0.1:9/grid.tif +units=m +no_defs"
)


def test_a_planar_crs_naming_a_url_is_a_problem(tmp_path: Path) -> None:
    key = "planar_crs"
    pack = tmp_path / "p"
    assert CliRunner().invoke(cli, ["new-pack", str(pack)]).exit_code == 0
    cat = pack / "layers" / "catalog.toml"
    text = cat.read_text(encoding="utf-8")
    old = 'planar_crs = "EPSG:4547"'
    assert old in text
    cat.write_text(text.replace(old, f'{key} = "{URL_CRS}"'), encoding="utf-8")
    res = CliRunner().invoke(cli, ["validate", "--pack", str(pack)])
    assert res.exit_code == 2, res.output
    assert f"`{key}`" in res.output and "names a URL" in res.output
