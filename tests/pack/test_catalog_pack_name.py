"""The pack's ``name`` names the QGIS project and its GeoPackage (``OUT/internal/<name>.qgz``):
a name with a path in it wrote them outside ``internal/``, beside or above the output folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from qzgeo.cli.main import cli
from qzgeo.pack.catalog import load_pack

MINIPACK = Path(__file__).resolve().parents[1] / "data" / "minipack"


def _named(tmp_path: Path, name: str) -> Path:
    pack = tmp_path / "pack"
    shutil.copytree(MINIPACK, pack)
    catalog = pack / "layers" / "catalog.toml"
    text = catalog.read_text(encoding="utf-8").replace('name = "minipack"', f"name = {name}", 1)
    catalog.write_text(text, encoding="utf-8")
    return pack


@pytest.mark.parametrize("name", ['"../../evil"', '"a/b"', '".hidden"', '"a\\\\b"', '"x\\u0000"'])
def test_a_name_that_is_no_plain_file_name_is_a_problem(tmp_path: Path, name: str) -> None:
    pack = load_pack(_named(tmp_path, name))
    said = [p for p in pack.problems if "name" in p and "[pack]" in p]
    assert said, pack.problems


@pytest.mark.parametrize("name", ['"jinzhou"', '"锦州"', '"city-2035"'])
def test_plain_names_load(tmp_path: Path, name: str) -> None:
    assert load_pack(_named(tmp_path, name)).problems == []


def test_publish_refuses_a_name_with_a_path_and_writes_nothing(tmp_path: Path) -> None:
    pack = _named(tmp_path, '"../../evil"')
    out = tmp_path / "deep" / "out"
    res = CliRunner().invoke(cli, ["publish", "--pack", str(pack), "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert "../../evil" in res.output
    assert not list(tmp_path.rglob("evil*"))
