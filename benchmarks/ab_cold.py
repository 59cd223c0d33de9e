"""Cold commands run for run: ``ab_cold.py N 'label=shell command' ...``.

Each round runs every command once, in turn (so a slower minute of a shared machine falls on
all of them alike), N rounds; prints the median and fastest wall time of each, and its CPU time
(user + system of the child). A command exiting other than 0 or 1 stops the run. Round 15 used
it for a cold ``qzgeo check`` of two trees (README_e2e.md).

This tree's ``qzgeo`` is byte-compiled first, as ``pip install .`` does (where
``PYTHONDONTWRITEBYTECODE`` is set, a new process would compile it from source every time);
another tree given by ``PYTHONPATH=`` needs ``python -m compileall -q TREE/qzgeo`` first.

The commands run with ``PYTHONSAFEPATH=1``: ``python -c`` would otherwise put the current
folder first on ``sys.path`` and, run from a checkout's root, import that checkout's ``qzgeo``
whatever ``PYTHONPATH`` names. A tree without the pack's data beside it needs ``--pack``.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main() -> None:
    from bench_analyze_e2e import compiled

    compiled()
    env = {**os.environ, "PYTHONSAFEPATH": "1"}
    n = int(sys.argv[1])
    cases = [a.split("=", 1) for a in sys.argv[2:]]
    wall: dict[str, list[float]] = {k: [] for k, _ in cases}
    cpu: dict[str, list[float]] = {k: [] for k, _ in cases}
    for _ in range(n):
        for k, c in cases:
            c0, t0 = _children_cpu(), time.perf_counter()
            r = subprocess.run(c, shell=True, capture_output=True, check=False, env=env)
            wall[k].append(time.perf_counter() - t0)
            cpu[k].append(_children_cpu() - c0)
            if r.returncode not in (0, 1):
                raise SystemExit(f"{k}: exit {r.returncode}\n{r.stderr.decode()[-300:]}")
    for k, v in wall.items():
        print(
            f"{k:24} wall median {statistics.median(v) * 1000:6.0f} ms (min {min(v) * 1000:5.0f})"
            f"   cpu median {statistics.median(cpu[k]) * 1000:6.0f} ms"
        )


if __name__ == "__main__":
    main()
