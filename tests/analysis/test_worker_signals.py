"""`qzgeo analyze` with worker processes, stopped the ways runs get stopped on a shared machine:
Ctrl-C (SIGINT to the terminal's whole process group), ``kill`` / a scheduler / ``timeout``
(SIGTERM to the main process) and the OOM killer or ``kill -9`` (SIGKILL, no cleanup at all).

After each: one message and no traceback; no worker process left running; the run's spill
folder in /dev/shm gone; no half-written file in the output folder; the previous output
intact; and the next run works.

Every test waits on a condition (a hidden file appearing in the output folder: the writer is
busy, the workers are analyzing the next chunks), never on a sleep; whatever the exact moment
the signal lands, the assertions hold.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from support import ROOT

sys.path.insert(0, str(Path(__file__).parent))

from pool_support import leftovers, quad_parcels, qzgeo, snapshot, write_parcels

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc"),
]

CODE = "from qzgeo.cli.main import cli; cli(prog_name='qzgeo')"


@pytest.fixture(scope="module")
def parcels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_parcels(quad_parcels(), tmp_path_factory.mktemp("sig") / "parcels.gpkg")


@pytest.fixture(scope="module")
def previous(parcels: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The output of a complete run: what a stopped run must leave untouched."""
    out = tmp_path_factory.mktemp("prev") / "out"
    res = qzgeo("analyze", "--parcels", parcels, "--out", out)
    assert res.returncode == 0, res.stderr
    return snapshot(out)


def _start(args: list[str], mark: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "QZGEO_TEST_MARK": mark,  # inherited by the forkserver and the workers: found by it
    }
    return subprocess.Popen(
        [sys.executable, "-c", CODE, *args], env=env, text=True, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def _marked(mark: str) -> list[int]:
    """Pids of the live processes started by the run marked ``mark`` (zombies excluded)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            env = (proc / "environ").read_bytes()
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if f"QZGEO_TEST_MARK={mark}".encode() in env.split(b"\0") and state != "Z":
            pids.append(int(proc.name))
    return pids


def _wait_for(condition: Callable[[], object], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def _writing(out: Path) -> bool:
    """A temporary file of qzgeo's anywhere in ``out``: the writer has started."""
    return any(p.name.startswith(".qzgeo-tmp-") for p in out.rglob("*"))


def _stopped_run(
    parcels: Path, out: Path, previous: dict[str, bytes], stop: Callable[[int], None]
) -> tuple[subprocess.Popen[str], str, str]:
    """Run analyze into ``out`` (holding ``previous``) and call ``stop(pid)`` mid-run."""
    for name, data in previous.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    mark = uuid.uuid4().hex
    proc = _start(["analyze", "--parcels", str(parcels), "--out", str(out)], mark)
    try:
        _wait_for(lambda: _writing(out) or proc.poll() is not None, "the writer")
        assert proc.poll() is None, proc.communicate()
        stop(proc.pid)
        proc.wait(timeout=60)
        _no_survivors(mark)  # before reading the pipes: orphans would hold them open
        _, err = proc.communicate(timeout=60)
    finally:
        _kill_marked(mark)
    return proc, err, mark


def _no_survivors(mark: str) -> None:
    """Wait for every process of the run to exit; name those that do not."""
    deadline = time.monotonic() + 20
    while (left := _marked(mark)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not left, f"processes left running after the run: {left}"


def _kill_marked(mark: str) -> None:
    """Kill what is left of the run (orphans must not outlive the test)."""
    for pid in _marked(mark):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _temporary(name: str) -> bool:
    """A file of a temporary folder or a temporary file of qzgeo's (hidden, .qzgeo-*)."""
    return any(part.startswith(".qzgeo-") for part in Path(name).parts)


def _no_spill(pid: int) -> bool:
    return not list(Path("/dev/shm").glob(f"qzgeo-chunks-{pid}-*"))


def test_ctrl_c_stops_every_process_with_one_message(
    parcels: Path, previous: dict[str, bytes], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    proc, err, _ = _stopped_run(parcels, out, previous, lambda pid: os.killpg(pid, signal.SIGINT))
    assert proc.returncode == 1, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert err.rstrip().endswith("Aborted!"), err
    assert leftovers(out) == [] and _no_spill(proc.pid)
    assert snapshot(out) == previous  # the files are written at the end: nothing replaced yet


def test_sigterm_cleans_up_like_ctrl_c(
    parcels: Path, previous: dict[str, bytes], tmp_path: Path
) -> None:
    """``kill PID`` (what a scheduler, systemd or ``timeout`` sends): the run stops with a
    message and exit code 143, the workers go with it, nothing is left behind."""
    out = tmp_path / "out"
    proc, err, _ = _stopped_run(parcels, out, previous, lambda pid: os.kill(pid, signal.SIGTERM))
    assert proc.returncode == 128 + signal.SIGTERM, (proc.returncode, err)
    assert "stopped by SIGTERM" in err and "Traceback" not in err, err
    assert leftovers(out) == [] and _no_spill(proc.pid)
    assert snapshot(out) == previous


def test_sigkill_leaves_no_workers_and_the_next_run_cleans_up(
    parcels: Path, previous: dict[str, bytes], tmp_path: Path
) -> None:
    """``kill -9`` or the OOM killer on the main process: no cleanup can run in it. Its workers
    notice and exit (removing the spill folder); the half-written files are in a hidden folder,
    and the next run into the folder removes it and writes the same bytes as an undisturbed
    run."""
    out = tmp_path / "out"
    proc, _, _ = _stopped_run(parcels, out, previous, lambda pid: os.kill(pid, signal.SIGKILL))
    assert proc.returncode == -signal.SIGKILL
    _wait_for(lambda: _no_spill(proc.pid), "the workers to remove the spill folder", timeout=20)
    finished = {k: v for k, v in snapshot(out).items() if not _temporary(k)}
    assert finished == previous
    res = qzgeo("analyze", "--parcels", parcels, "--out", out)
    assert res.returncode == 0, res.stderr
    assert leftovers(out) == [] and snapshot(out) == previous


def test_ctrl_c_while_the_workers_start(tmp_path: Path) -> None:
    """Ctrl-C while the forkserver still imports the worker module: no traceback from it."""
    script = tmp_path / "start.py"
    script.write_text(
        "import sys, time\n"
        "from qzgeo.analysis.chunk_pool import chunk_pool\n"
        "if __name__ == '__main__':\n"
        "    try:\n"
        "        with chunk_pool(2):\n"
        "            print('started', flush=True)\n"
        "            time.sleep(60)\n"
        "    except KeyboardInterrupt:\n"
        "        print('interrupted', file=sys.stderr)\n",
        encoding="utf-8",
    )
    mark = uuid.uuid4().hex
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "QZGEO_TEST_MARK": mark,
    }
    proc = subprocess.Popen(
        [sys.executable, str(script)], env=env, text=True, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "started\n"
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)
        _no_survivors(mark)
        _, err = proc.communicate(timeout=60)
    finally:
        _kill_marked(mark)
    assert err.strip() == "interrupted", err
