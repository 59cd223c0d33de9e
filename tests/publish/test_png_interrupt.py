"""Ctrl-C while `qzgeo publish --png` renders in Chromium: an interrupt, not a Chromium failure.

Ctrl-C reaches the terminal's whole process group, the Playwright driver included, which dies
of it at once. The run must end as every interrupted run does ("Aborted!", exit 1, the
previous build kept), not as "headless Chromium failed" (exit 2) followed by asyncio errors.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from support import ROOT

from qzgeo.publish import browser

pytestmark = pytest.mark.skipif(
    not browser.chromium_available() or not Path("/proc/self/environ").exists(),
    reason="needs Chromium and Linux /proc",
)

MINIPACK = ROOT / "tests" / "data" / "minipack"


def _processes() -> dict[int, tuple[int, str]]:
    """pid: (parent pid, command line) of every process."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue
        found[int(proc.name)] = (parent, cmd)
    return found


def _rendering(root: int) -> bool:
    """A Chromium renderer started by process ``root`` runs: a page is being drawn."""
    procs = _processes()
    for parent, cmd in procs.values():
        if "--type=renderer" not in cmd:
            continue
        while parent > 1:
            if parent == root:
                return True
            parent = procs.get(parent, (0, ""))[0]
    return False


def test_ctrl_c_while_rendering_pngs_is_an_interrupt(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    out = tmp_path / "out"
    # where the Chromium profile goes: short, as Chromium's socket path must be
    tmp = Path(tempfile.mkdtemp(prefix="qz"))
    request.addfinalizer(lambda: shutil.rmtree(tmp, ignore_errors=True))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "TMPDIR": str(tmp),
    }
    code = "from qzgeo.cli.main import cli; cli(prog_name='qzgeo')"
    args = ["publish", "--pack", str(MINIPACK), "--out", str(out), "--png"]
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args], env=env, text=True, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not _rendering(proc.pid) and proc.poll() is None:
            assert time.monotonic() < deadline, "Chromium never started"
            time.sleep(0.02)
        assert proc.poll() is None, "the run ended before Chromium started"
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 1, err
    assert err.rstrip().endswith("Aborted!"), err
    assert "Chromium failed" not in err and "asyncio" not in err and "Traceback" not in err, err
    assert not out.exists()  # a first run: the folder it made is gone
    assert list(tmp.iterdir()) == []  # and so is the Chromium profile


def test_chromium_temporaries_go_in_the_profile_unless_the_socket_path_is_too_long() -> None:
    from qzgeo.publish.browser import _chromium_env

    short = "/tmp/qzgeo-chromium-abcd1234"
    env = _chromium_env(short)
    assert env is not None and env["TMPDIR"] == short
    # a macOS $TMPDIR (/var/folders/…/T/) plus the profile's name: Chromium's socket would not
    # fit in 104 bytes, so Chromium keeps this process's $TMPDIR
    mac = "/var/folders/zz/zyxvpxvq6csfxvn_n0000000000000/T/qzgeo-chromium-x"
    assert _chromium_env(mac) is None
