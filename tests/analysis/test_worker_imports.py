"""Worker processes run the qzgeo the command runs, whatever folder it is started from.

The forkserver that makes the workers is a ``python -c`` interpreter: the working folder
comes first on its ``sys.path``. Started from a folder holding another ``qzgeo/`` (a source
tree of another version, a checkout), the workers imported that one while the main process
ran the installed one. Workers forked from the main process (where no other thread is
alive) run its modules; the forkserver is tested with a thread alive.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = textwrap.dedent(
    """
    import os
    import sys
    import threading
    import qzgeo
    from qzgeo.analysis.processes import alive, fork_safe, worker_pool

    def run():
        with worker_pool(1, preload="qzgeo.analysis.processes", spill=None) as pool:
            answer = pool.submit(alive, os.getpid()).result(timeout=60)
            assert answer is True, answer
        print("main ran", qzgeo.__file__)

    if __name__ == "__main__":
        stop = threading.Event()
        if sys.argv[1:] == ["thread"]:  # no fork with another thread alive: a forkserver
            threading.Thread(target=stop.wait, daemon=True).start()
            assert not fork_safe()
        if sys.argv[1:] == ["from_thread"]:  # a program's own thread: a forkserver too
            worker = threading.Thread(target=run)
            worker.start()
            worker.join()
        else:
            run()
        stop.set()
    """
)


@pytest.mark.parametrize("mode", ["", "thread", "from_thread"])
def test_workers_do_not_import_a_qzgeo_of_the_working_folder(mode: str, tmp_path: Path) -> None:
    cwd = tmp_path / "somewhere"
    other = cwd / "qzgeo" / "analysis"
    other.mkdir(parents=True)
    (cwd / "qzgeo" / "__init__.py").write_text("")
    (other / "__init__.py").write_text("")
    # another version, where the function the workers run answers otherwise
    (other / "processes.py").write_text("def alive(pid):\n    return 'the other qzgeo'\n")
    probe = tmp_path / "bin" / "probe.py"  # like a console script: not in the working folder
    probe.parent.mkdir()
    probe.write_text(PROBE)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("PYTHONSAFEPATH", None)
    res = subprocess.run(
        [sys.executable, str(probe), *([mode] if mode else [])],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert "main ran" in res.stdout and str(cwd) not in res.stdout


RACE = textwrap.dedent(
    """
    import os
    import threading
    import time
    from multiprocessing import forkserver
    from qzgeo.analysis.processes import worker_pool

    start = forkserver.ensure_running

    def slow_start():  # widens the window in which the environment is changed
        time.sleep(0.3)
        start()

    forkserver.ensure_running = slow_start

    def run():
        with worker_pool(1, preload="qzgeo.analysis.processes", spill=None) as pool:
            pool.submit(os.getpid).result(timeout=60)

    if __name__ == "__main__":
        before = {k: os.environ.get(k) for k in ("PYTHONPATH", "PYTHONSAFEPATH")}
        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
            time.sleep(0.1)
        for t in threads:
            t.join()
        after = {k: os.environ.get(k) for k in ("PYTHONPATH", "PYTHONSAFEPATH")}
        print("same" if after == before else f"changed: {before} -> {after}")
    """
)


def test_two_threads_starting_workers_leave_the_environment_as_it_was(tmp_path: Path) -> None:
    # Each start sets PYTHONPATH and PYTHONSAFEPATH for the forkserver and puts them back; two
    # at once put back what the other had set: the program's later subprocesses inherited
    # PYTHONSAFEPATH=1 (their own folder off their path).
    probe = tmp_path / "race.py"
    probe.write_text(RACE)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONSAFEPATH", None)
    res = subprocess.run(
        [sys.executable, str(probe)], env=env, capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip() == "same", res.stdout + res.stderr[-2000:]
