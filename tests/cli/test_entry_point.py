"""The ``qzgeo`` console script: ``qzgeo.cli.entry:main`` (Ctrl-C answered while it loads:
test_ctrl_c_at_start.py), which runs ``qzgeo.cli.main:main``, the same command as ``cli``.

``main`` freezes the run's objects before Python's exit collections (a quicker exit); the
exit codes and output must be those of ``cli``.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from qzgeo.io.atomic import EarlyFlush

ROOT = Path(__file__).resolve().parents[2]


def test_the_console_script_is_main() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["scripts"]["qzgeo"] == "qzgeo.cli.entry:main"


@pytest.mark.parametrize("entry", ["qzgeo.cli.entry", "qzgeo.cli.main"])
@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["--version"], 0, "version"),
        (["check", "/no/such/site.geojson"], 2, "/no/such/site.geojson"),
        (["no-such-command"], 2, "No such command"),
    ],
)
def test_main_exits_as_cli_does(args: list[str], code: int, needle: str, entry: str) -> None:
    out = subprocess.run(
        [sys.executable, "-c", f"from {entry} import main; main()", *args],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert out.returncode == code
    assert needle in out.stdout + out.stderr
    assert "Traceback" not in out.stderr


def test_an_early_flush_of_a_file_not_there_yet_is_harmless(tmp_path: Path) -> None:
    flush = EarlyFlush(tmp_path / "later.gpkg")
    flush.kick()
    flush.kick()
    flush.close()
    (tmp_path / "later.gpkg").write_bytes(b"x")
    flush.kick()
    flush.close()
    assert (tmp_path / "later.gpkg").read_bytes() == b"x"


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["--help"], 0, "Usage: qzgeo"),
        (["check", "/no/such/site.geojson"], 2, "/no/such/site.geojson"),
    ],
)
def test_python_m_qzgeo_is_the_command(args: list[str], code: int, needle: str) -> None:
    """``python -m qzgeo`` (no console script on PATH) ran nothing and exited 0."""
    out = subprocess.run(
        [sys.executable, "-m", "qzgeo", *args],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert out.returncode == code
    assert needle in out.stdout + out.stderr
