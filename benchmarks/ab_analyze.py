"""Interleaved A/B of `qzgeo analyze` from two source trees (README_e2e.md, round 11).

One run of the bench scatters by ±0.2 s on the grid; two versions of the code are compared
here run for run, alternating, on the same file: the median wall time and the median CPU of
each tree's whole process tree (``RUSAGE_CHILDREN``). Each tree is a checkout of qzgeo (a
git worktree of another commit); runs start in a neutral folder so that Python imports the
tree given, not the current folder's.

    git worktree add /tmp/qz-before <commit>
    python benchmarks/ab_analyze.py /tmp/qz-before,. benchmarks/_work/e2e/grid_1000000.gpkg

The word ``baseline`` in place of a tree runs the geopandas script
(``baseline_geopandas_analyze.py``) instead, interleaved the same way (round 13):

    python benchmarks/ab_analyze.py baseline,. benchmarks/_work/e2e/grid_300000.gpkg

Each tree's ``qzgeo`` is byte-compiled first, as ``pip install .`` compiles it (this machine
sets ``PYTHONDONTWRITEBYTECODE``: a new process would compile ~110 modules from source each
time); ``--no-compile`` leaves the trees as they are (round 21 measured what that costs).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLI = "from qzgeo.cli.main import main; main()"
BASELINE = Path(__file__).resolve().with_name("baseline_geopandas_analyze.py")


def run(tree: Path, parcels: Path, out: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one `qzgeo analyze` with ``tree`` first on the path."""
    shutil.rmtree(out, ignore_errors=True)
    env = dict(os.environ, PYTHONPATH=str(tree))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    if tree == Path("baseline"):  # the geopandas script, its output a file in ``out``
        out.mkdir(parents=True)
        cmd = [sys.executable, str(BASELINE), str(parcels), str(out / "baseline.gpkg")]
        env = dict(os.environ, PYTHONPATH=str(BASELINE.parents[1]))
    else:
        cmd = [sys.executable, "-c", CLI, "analyze", "--parcels", str(parcels), "--out", str(out)]
    done = subprocess.run(
        cmd, cwd=tempfile.gettempdir(), env=env, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{tree}: exit {done.returncode}\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("trees", help="comma-separated source trees (qzgeo checkouts)")
    ap.add_argument("parcels", type=Path)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-compile", action="store_true", help="leave the trees' bytecode as is")
    args = ap.parse_args()
    trees = [Path(t) if t == "baseline" else Path(t).resolve() for t in args.trees.split(",")]
    if not args.no_compile:
        from bench_analyze_e2e import compiled

        for tree in trees:
            if tree != Path("baseline"):
                compiled(tree / "qzgeo")
    parcels = args.parcels.resolve()
    times: dict[Path, list[tuple[float, float]]] = {t: [] for t in trees}
    with tempfile.TemporaryDirectory(prefix="qzgeo-ab-") as folder:
        for _ in range(args.runs):
            for k, tree in enumerate(trees):
                times[tree].append(run(tree, parcels, Path(folder) / str(k)))
    for tree, got in times.items():
        wall, cpu = [w for w, _ in got], [c for _, c in got]
        print(
            f"{tree}: wall median {statistics.median(wall):.2f} s (min {min(wall):.2f}), "
            f"CPU median {statistics.median(cpu):.2f} s (min {min(cpu):.2f})"
        )


if __name__ == "__main__":
    main()
