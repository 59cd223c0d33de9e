"""Ctrl-C ends ``qzgeo`` with click's exit code, never by SIGINT (status 130).

``python -m qzgeo`` ended BY SIGINT after printing "Aborted!", 1 run in ~15.

Found by Ctrl-C at random moments of ``python -m qzgeo analyze`` (60 000 parcels, 2 workers,
0.4-0.9 s in): "Aborted!", then the process died by SIGINT instead of exiting 1. CPython
(3.11-3.13) marks a KeyboardInterrupt that ends code run from a *string* (``exec``/``eval``
of source text: dataclasses, namedtuple and attrs make their methods so) as unhandled, even
when a caller catches it (click does, and exits 1); for ``python -m`` it then ends the
process by SIGINT once the interpreter has finished. The console script (a file) and
``python -c`` are not affected. Here the Ctrl-C is put inside such an ``exec`` at once.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

STUB = """\
import click

import qzgeo.cli.entry
import qzgeo.cli.main


@click.command()
def interrupted() -> None:
    exec("raise KeyboardInterrupt")  # Ctrl-C while a dataclass is made, say


qzgeo.cli.main.cli = interrupted
if __name__ == "__main__":
    qzgeo.cli.entry.main()
"""


def _run_module(tmp_path: Path, name: str, source: str) -> subprocess.CompletedProcess[str]:
    """``python -m NAME`` of ``source``, as a user runs ``python -m qzgeo``."""
    (tmp_path / f"{name}.py").write_text(source, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])}
    return subprocess.run(
        [sys.executable, "-m", name],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env,
    )  # fmt: skip


def test_ctrl_c_inside_an_exec_exits_1_under_python_m(tmp_path: Path) -> None:
    out = _run_module(tmp_path, "qzgeo_interrupted", STUB)
    assert out.stderr.rstrip().endswith("Aborted!"), out.stderr
    assert out.returncode == 1, (out.returncode, out.stderr)


ENDED = """\
import atexit
import os
import signal

import click

import qzgeo.cli.entry
import qzgeo.cli.main


@click.command()
def finished() -> None:
    # Ctrl-C once the command has ended (its outputs in place), as Python exits
    atexit.register(lambda: os.kill(os.getpid(), signal.SIGINT))


qzgeo.cli.main.cli = finished
if __name__ == "__main__":
    qzgeo.cli.entry.main()
"""


def test_ctrl_c_after_the_command_ended_keeps_its_exit_code(tmp_path: Path) -> None:
    """Found by Ctrl-C at 2.18 s into a 60 000-parcel `python -m qzgeo analyze`: its outputs
    were complete and in place, and the process died by SIGINT (status 130, no message)."""
    out = _run_module(tmp_path, "qzgeo_ended", ENDED)
    assert out.returncode == 0, (out.returncode, out.stderr)
    assert "KeyboardInterrupt" not in out.stderr, out.stderr
