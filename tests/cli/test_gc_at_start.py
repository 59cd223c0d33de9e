"""The console script loads a command's modules with Python's collector off, then freezes what
they made (cli/main.py ``_imports_without_gc``); a process that calls ``cli`` and goes on keeps
its collector as it was. The oracle is the ``gc`` module's own state after the command."""

from __future__ import annotations

import gc
import os
import subprocess
import sys

from click.testing import CliRunner
from support import ROOT

from qzgeo.cli.main import cli

PROBE = """
import atexit, gc, sys
seen = []
def hook(event, args):  # the collector's state while geopandas is imported
    if event == "import" and args[0] == "geopandas" and not seen:
        seen.append(gc.isenabled())
sys.addaudithook(hook)
atexit.register(lambda: print(seen, gc.isenabled()))
sys.argv = ["qzgeo", "check", "--help"]
from qzgeo.cli.main import main
main()
"""


def test_the_console_script_freezes_the_imports_and_collects_again() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=False
    )
    assert res.returncode == 0, res.stderr
    # off while the command's modules loaded, on again for the command itself
    assert res.stdout.strip().splitlines()[-1] == "[False] True", res.stdout


def test_cli_called_in_a_process_leaves_its_collector_alone() -> None:
    frozen = gc.get_freeze_count()
    res = CliRunner().invoke(cli, ["check", "--help"])
    assert res.exit_code == 0, res.output
    assert gc.isenabled() and gc.get_freeze_count() == frozen
