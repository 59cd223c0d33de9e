"""A shapefile is written whole in a hidden folder beside OUT, then its files are moved in.
A convert killed by SIGKILL (or a power cut) while writing left that folder, with the half
shapefile in it, in the user's folder for good: its name held no pid and the next write
swept only files, so ``.qzgeo-tmp-out.XXXX/`` stayed after any number of later runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest
from click.testing import CliRunner
from shapely.geometry import box

from qzgeo.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]

#: Runs the convert command with the shapefile writer killed (SIGKILL) after its files are
#: written in the hidden folder, before they are moved in.
_KILLED = """
import os, signal, sys
import pyogrio
from qzgeo.cli.main import cli
from qzgeo.io import shapefile_write
real = pyogrio.write_dataframe
def write_then_die(*args, **kwargs):
    real(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
shapefile_write.pyogrio.write_dataframe = write_then_die
cli(["convert", sys.argv[1], sys.argv[2]])
"""


def _source(path: Path, n: int) -> Path:
    boxes = [box(108.6 + 0.01 * i, 21.7, 108.605 + 0.01 * i, 21.71) for i in range(n)]
    names = {"name": [f"p{i}" for i in range(n)]}
    gpd.GeoDataFrame(names, geometry=boxes, crs="EPSG:4490").to_file(path, driver="GeoJSON")
    return path


def test_the_next_convert_removes_what_a_killed_shapefile_write_left(tmp_path: Path) -> None:
    src = _source(tmp_path / "in.geojson", 3)
    out = tmp_path / "user" / "out.shp"
    out.parent.mkdir()
    (out.parent / "notes.txt").write_text("mine")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    killed = subprocess.run(
        [sys.executable, "-c", _KILLED, str(src), str(out)], env=env, cwd=tmp_path, timeout=120
    )
    assert killed.returncode == -9
    result = CliRunner().invoke(cli, ["convert", str(src), str(out)])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.parent.iterdir())
    assert names == ["notes.txt", "out.cpg", "out.dbf", "out.prj", "out.shp", "out.shx"]


def test_an_unwritable_folder_is_named_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = _source(tmp_path / "in.geojson", 1)

    def refuse(*args: object, **kwargs: object) -> str:
        raise PermissionError(13, "Permission denied", str(tmp_path / ".qzgeo-tmp-x"))

    monkeypatch.setattr("tempfile.mkdtemp", refuse)
    monkeypatch.setattr("tempfile.mkstemp", refuse)
    for name in ("out.shp", "out.gpkg"):
        result = CliRunner().invoke(cli, ["convert", str(src), str(tmp_path / name)])
        assert result.exit_code == 2, result.output
        assert f"could not write {tmp_path / name}" in result.output
        assert "Permission denied" in result.output and "elsewhere" in result.output
