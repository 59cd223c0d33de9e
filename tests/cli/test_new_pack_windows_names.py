"""A pack is copied to planners' Windows machines: a pack folder Windows cannot make (CON,
NUL, COM1, ``规划.``, ``a?b``) or a pack id naming a device (``con`` names every publish's
``con.qgz`` and ``con.gpkg``) was written without a word. The names Windows refuses are
listed here from Microsoft's file-naming rules, not from qzgeo."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from qzgeo.cli.main import cli
from qzgeo.pack.catalog import load_pack

MINIPACK = Path(__file__).resolve().parents[1] / "data" / "minipack"


def _new_pack(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli, ["new-pack", *args])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return res.exit_code, res.output


@pytest.mark.parametrize("name", ["con", "nul", "aux", "prn", "com1", "lpt9"])
def test_a_device_name_as_pack_id_is_refused(tmp_path: Path, name: str) -> None:
    code, said = _new_pack(str(tmp_path / "city"), "--name", name)
    assert code == 2, said
    assert "--name" in said and repr(name) in said and "Windows" in said, said
    assert not (tmp_path / "city").exists()


@pytest.mark.parametrize(
    ("folder", "said"),
    [
        ("con", "device name"),
        ("NUL", "device name"),
        ("Com1.pack", "device name"),
        ("规划.", "space or dot"),
        ("规划 ", "space or dot"),
        ("a?b", "'?'"),
        ("a:b", "':'"),
        ('a"b', "'\"'"),
        ("a<b>", "'<>'"),
        ("a|b", "'|'"),
        ("a*b", "'*'"),
        ("a\\b", "'\\\\'"),
    ],
)
def test_a_folder_windows_cannot_make_is_refused(tmp_path: Path, folder: str, said: str) -> None:
    code, out = _new_pack(str(tmp_path / folder), "--name", "city")
    assert code == 2, out
    assert "FOLDER" in out and said in out, out
    assert not (tmp_path / folder).exists()


@pytest.mark.parametrize("name", ["console", "com0", "city_con", "auxiliary"])
def test_names_windows_takes_are_written(tmp_path: Path, name: str) -> None:
    code, said = _new_pack(str(tmp_path / name))
    assert code == 0, said
    assert (tmp_path / name / "layers" / "catalog.toml").is_file()


def test_a_catalog_naming_a_device_is_a_problem(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    shutil.copytree(MINIPACK, pack)
    catalog = pack / "layers" / "catalog.toml"
    text = catalog.read_text(encoding="utf-8")
    catalog.write_text(text.replace('name = "minipack"', 'name = "aux"', 1), encoding="utf-8")
    (said,) = [p for p in load_pack(pack).problems if "[pack]" in p]
    assert "'aux'" in said and "aux.qgz" in said and "Windows" in said, said
