"""Ctrl-C while a command's modules load ends the run with one line, as later does.

The first second of every command is spent importing its modules (numpy, shapely, GDAL...).
Ctrl-C there gave 20-60 lines of traceback: numpy turns the KeyboardInterrupt raised inside
its import into ``ImportError: numpy._core.multiarray failed to import``, which nothing
caught. The oracle is that import's own behaviour, imitated: an interrupt inside it becomes an
ImportError.
"""

from __future__ import annotations

import os
import subprocess
import sys

from support import ROOT

#: The command module's import is interrupted the way numpy's is (Ctrl-C in the middle,
#: turned into an ImportError by the module being imported).
_PROBE = """
import importlib, signal, sys, time
from qzgeo.cli.main import main
real = importlib.import_module
def loading(name, *args):
    try:
        signal.raise_signal(signal.SIGINT)  # Ctrl-C while the modules load
        time.sleep(0.05)
    except KeyboardInterrupt as exc:
        raise ImportError("numpy._core.multiarray failed to import") from exc
    return real(name, *args)
importlib.import_module = loading
sys.argv = ["qzgeo", *sys.argv[1:]]
main()
"""


def test_ctrl_c_while_the_command_loads_prints_one_line(tmp_path: object) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run(
        [sys.executable, "-c", _PROBE, "convert", "a.geojson", "b.gpkg"],
        capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=120,
    )  # fmt: skip
    assert "Traceback" not in res.stderr, res.stderr
    assert res.stderr.strip() == "Aborted!"
    assert res.returncode == 1


def test_the_command_line_loads_no_pack_code_before_it_handles_ctrl_c() -> None:
    """Everything imported before click's handler is a window where Ctrl-C gives a traceback.
    Importing the ``qzgeo`` package imported the pack catalog (~0.2 s of a 0.3 s window)."""
    probe = "import sys, qzgeo.cli.main; print(sorted(m for m in sys.modules if 'qzgeo.' in m))"
    res = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True, text=True, check=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert "qzgeo.pack" not in res.stdout, res.stdout
