"""A/B: `qzgeo publish --pdf` of a pack, end to end, two source trees run for run.

Each run is a new process in a new empty folder, with the prepared-pack cache off
(``QZGEO_NO_CACHE=1``), so both trees load, analyse and write everything, PDFs included.

Usage::

    git worktree add --detach /tmp/qz-old <rev>
    python benchmarks/ab_publish_pdf.py /tmp/qz-old . --runs 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLI = "from qzgeo.cli.main import main; main()"


def run(tree: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree), "QZGEO_NO_CACHE": "1"}
    with tempfile.TemporaryDirectory() as out:
        args = [sys.executable, "-c", CLI, "publish", "--pack", str(tree), "--pdf", "--out", "o"]
        start = time.perf_counter()
        subprocess.run(args, cwd=out, env=env, check=True, capture_output=True)
        wall = time.perf_counter() - start
        pdfs = len(list(Path(out, "o").rglob("*.pdf")))
    print(f"{tree}: {wall:.2f} s, {pdfs} PDFs", flush=True)
    return wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a", type=Path, help="baseline source tree")
    ap.add_argument("b", type=Path, help="source tree measured against it")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    a, b = args.a.resolve(), args.b.resolve()
    times: dict[Path, list[float]] = {a: [], b: []}
    for _ in range(args.runs):
        for tree in (a, b):
            times[tree].append(run(tree))
    ma, mb = statistics.median(times[a]), statistics.median(times[b])
    print(f"median {ma:.2f} s vs {mb:.2f} s: {ma / mb:.2f}x")


if __name__ == "__main__":
    main()
