"""A pack TOML that is no file, or not UTF-8, is a problem naming it. A named pipe as
maps/x.toml or layers/catalog.toml made validate wait for ever, styles/x.toml linked to
/dev/zero filled the memory until the process was killed, and a map saved in GBK ended in
a UnicodeDecodeError traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from qzgeo.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]


def _pack(tmp_path: Path) -> Path:
    pack = tmp_path / "p"
    assert CliRunner().invoke(cli, ["new-pack", str(pack)]).exit_code == 0
    return pack


def _validate(pack: Path) -> subprocess.CompletedProcess[str]:
    # a subprocess with a timeout (and a memory cap): before the fix these never returned
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code = (
        "import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30)); "
        "from qzgeo.cli.main import main; sys.argv = ['qzgeo', 'validate', '--pack', sys.argv[1]]; "
        "main()"
    )
    return subprocess.run(
        [sys.executable, "-c", code, str(pack)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
@pytest.mark.parametrize("name", ["maps/pipe.toml", "layers/catalog.toml"])
def test_a_named_pipe_is_a_problem(tmp_path: Path, name: str) -> None:
    pack = _pack(tmp_path)
    (pack / name).unlink(missing_ok=True)
    os.mkfifo(pack / name)
    res = _validate(pack)
    assert res.returncode == 2, res.stderr
    assert f"{name}: cannot be read (not a file" in res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_a_style_linked_to_dev_zero_is_a_problem(tmp_path: Path) -> None:
    pack = _pack(tmp_path)
    (pack / "styles" / "zero.toml").symlink_to("/dev/zero")
    res = _validate(pack)
    assert res.returncode == 2, res.stderr
    # outside the pack, it is refused before it is opened (a device inside one is "not a file")
    assert "styles/zero.toml: a link to /dev/zero, outside the pack" in res.stderr


def test_a_map_in_gbk_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    pack = _pack(tmp_path)
    (pack / "maps" / "gbk.toml").write_bytes('title = "规划"\n'.encode("gbk"))
    res = CliRunner().invoke(cli, ["validate", "--pack", str(pack)])
    assert res.exit_code == 2, res.output
    assert "maps/gbk.toml: cannot be read (not UTF-8 at byte 9" in res.output
