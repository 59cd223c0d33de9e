"""Ctrl-C with a local Dask cluster (`qzgeo analyze --dask`): the worker processes, in the same
process group, each answered it with a KeyboardInterrupt traceback while qzgeo closes the
cluster anyway. They are started with SIGINT ignored."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT

pytest.importorskip("distributed")
pytestmark = pytest.mark.slow

SCRIPT = """
import sys, time
from qzgeo.analysis.distributed import dask_client
if __name__ == "__main__":
    try:
        with dask_client(n_workers=2):
            print("started", flush=True)
            time.sleep(60)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
"""


def test_ctrl_c_reaches_only_the_main_process(tmp_path: Path) -> None:
    script = tmp_path / "cluster.py"
    script.write_text(SCRIPT, encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "DASK_LOGGING__DISTRIBUTED": "warning",  # Dask's own start/stop news
    }
    proc = subprocess.Popen(
        [sys.executable, str(script)], env=env, text=True, start_new_session=True, cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "started\n"
        os.killpg(proc.pid, signal.SIGINT)  # as a terminal sends Ctrl-C
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert "KeyboardInterrupt" not in err and "Traceback" not in err, err
    assert err.strip().endswith("interrupted"), err
