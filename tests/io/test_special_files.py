"""A layer, source or raster that is a named pipe or a device (a FIFO left by a script, a
symlink to /dev/zero) is refused by name. validate and publish opened the pipe to sniff its
first bytes and waited for a writer for ever; convert called /dev/zero "empty (0 bytes)"
and told the user to export it again."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from qzgeo.cli.main import cli
from qzgeo.io.guard import admit_raster

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
ROOT = Path(__file__).resolve().parents[2]


def _pack_with_pipe(tmp_path: Path) -> Path:
    pack = tmp_path / "p"
    assert CliRunner().invoke(cli, ["new-pack", str(pack)]).exit_code == 0
    layer = pack / "layers" / "corridor.geojson"
    layer.unlink()
    os.mkfifo(layer)
    return pack


@pytest.mark.parametrize("command", ["validate", "publish"])
def test_a_layer_that_is_a_named_pipe_is_refused_not_waited_on(
    tmp_path: Path, command: str
) -> None:
    pack = _pack_with_pipe(tmp_path)
    args = [command, "--pack", str(pack)]
    if command == "publish":
        args += ["--out", str(tmp_path / "out"), "--no-maps"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # A subprocess with a timeout: before the fix the read never returned.
    res = subprocess.run(
        [sys.executable, "-m", "qzgeo", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert res.returncode == 2, res.stderr
    out = res.stdout + res.stderr
    assert "corridor.geojson" in out
    assert "named pipe" in out
    assert "Traceback" not in out


def test_a_source_linked_to_a_device_is_not_called_empty(tmp_path: Path) -> None:
    src = tmp_path / "z.geojson"
    src.symlink_to("/dev/zero")
    res = CliRunner().invoke(cli, ["convert", str(src), str(tmp_path / "o.gpkg")])
    assert res.exit_code == 2, res.output
    assert "named pipe, device or socket" in res.output
    assert "export it again" not in res.output
    assert not (tmp_path / "o.gpkg").exists()


def test_a_raster_that_is_a_named_pipe_is_refused(tmp_path: Path) -> None:
    dem = tmp_path / "dem.tif"
    os.mkfifo(dem)
    with pytest.raises(Exception, match="named pipe"):
        admit_raster(dem)
