"""Overlay benchmark: geopandas baseline vs the qzgeo engine vs Dask vs the GEOS floor.

Per-parcel area inside the red lines, the conflict flag and the available total, on the
synthetic county of ``gen_county.py``. Every method runs in its own subprocess (one after the
other, in ONE invocation) so that its peak memory is its own ``ru_maxrss``; that figure includes
reading the parcels. Times are the median of ``--repeat`` runs; reading is not timed.

    python benchmarks/bench_overlay.py 10000 100000            # then: 1000000 --repeat 1

Methods:
  baseline        geopandas.overlay(how="intersection") + dissolve per parcel (planar)
  engine          qzgeo.analysis.overlay.overlay_areas, 2 threads, planar areas (totals check)
  engine_ell      the same with ellipsoidal areas (the default)
  engine_nocheck  ellipsoidal, without the independent conservation overlay
  engine_1t       ellipsoidal, 1 thread
  dask            overlay_areas_dask on LocalCluster(2 processes x 1 thread), planar
  floor           shapely.intersection on every candidate pair (STRtree query untimed), 1 thread
  floor_2t        the same on a 2-thread pool
Totals must agree to 1e-9 relative between the planar methods.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

METHODS = [
    "baseline",
    "engine",
    "engine_ell",
    "engine_nocheck",
    "engine_1t",
    "dask",
    "floor",
    "floor_2t",
]
PLANAR = {"baseline", "engine", "dask", "floor", "floor_2t"}


def _load(n: int):  # type: ignore[no-untyped-def]
    import geopandas as gpd
    from gen_county import WORK, ensure

    ensure(n)
    parcels = gpd.read_parquet(WORK / f"parcels_{n}.parquet")
    red = gpd.read_parquet(WORK / "redlines.parquet")
    return parcels, red


def _constraint(red):  # type: ignore[no-untyped-def]
    from qzgeo.analysis.overlay import merge_polygons
    from qzgeo.analysis.overlay_plan import ConstraintClass

    return ConstraintClass(
        "red", "生态保护红线", "exclusion", "internal", merge_polygons(red.geometry.values)
    )


def run_method(method: str, n: int, repeat: int) -> dict[str, object]:
    import numpy as np
    import shapely

    parcels, red = _load(n)
    extra: dict[str, object] = {}

    if method == "baseline":
        import geopandas as gpd

        def once() -> tuple[float, int, float]:
            pieces = gpd.overlay(
                parcels[["pid", "geometry"]],
                red[["geometry"]],
                how="intersection",
                keep_geom_type=True,
            )
            per = pieces.dissolve(by="pid")
            inside = per.geometry.area
            total = float(parcels.geometry.area.sum())
            return float(inside.sum()), int((inside > 0.01).sum()), total - float(inside.sum())

    elif method.startswith("engine"):
        from qzgeo.analysis.overlay import overlay_areas, plan_overlay

        opts = {
            "engine": {"ellipsoidal": False},
            "engine_ell": {},
            "engine_nocheck": {"check_conservation": False},
            "engine_1t": {"workers": 1},
        }[method]

        def once() -> tuple[float, int, float]:
            plan = plan_overlay([_constraint(red)])  # merging and planning are timed too
            df, rep = overlay_areas(parcels, plan, **opts)  # type: ignore[arg-type]
            extra["conservation_failures"] = len(rep.conservation_failures)
            extra["retries"] = len(rep.retries)
            return (
                float(df["red:生态保护红线"].sum()),
                int(df["conflict"].sum()),
                float(df["available_m2"].sum()),
            )

    elif method == "dask":
        import logging

        import distributed

        from qzgeo.analysis.distributed import overlay_areas_dask
        from qzgeo.analysis.overlay import plan_overlay

        logging.getLogger("distributed").setLevel(logging.ERROR)
        t0 = time.perf_counter()
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = distributed.Client(cluster)
        extra["cluster_start_s"] = round(time.perf_counter() - t0, 2)

        def once() -> tuple[float, int, float]:
            plan = plan_overlay([_constraint(red)])
            df, _ = overlay_areas_dask(parcels, plan, client=client, ellipsoidal=False)
            return (
                float(df["red:生态保护红线"].sum()),
                int(df["conflict"].sum()),
                float(df["available_m2"].sum()),
            )

    elif method.startswith("floor"):
        geoms = parcels.geometry.values
        parts = np.asarray(shapely.get_parts(_constraint(red).geometry))
        tree = shapely.STRtree(geoms)
        pi, ci = tree.query(parts, predicate="intersects")
        a, b = np.asarray(geoms)[ci], parts[pi]
        extra["candidate_pairs"] = len(pi)

        def once() -> tuple[float, int, float]:
            if method == "floor":
                pieces = shapely.intersection(a, b)
            else:
                spans = [(s, min(len(a), s + 20_000)) for s in range(0, len(a), 20_000)]
                with ThreadPoolExecutor(2) as ex:
                    pieces = np.concatenate(
                        list(
                            ex.map(
                                lambda s: shapely.intersection(a[s[0] : s[1]], b[s[0] : s[1]]),
                                spans,
                            )
                        )
                    )
            inside = np.bincount(ci, weights=shapely.area(pieces), minlength=len(geoms))
            total = float(shapely.area(geoms).sum())
            return float(inside.sum()), int((inside > 0.01).sum()), total - float(inside.sum())

    else:
        raise SystemExit(f"unknown method {method!r}")

    times = []
    result = (0.0, 0, 0.0)
    for _ in range(repeat):
        t = time.perf_counter()
        result = once()
        times.append(time.perf_counter() - t)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if method == "dask":
        worker_rss = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        extra["worker_rss_mb"] = round(max(worker_rss.values()), 1)
        client.close()
        cluster.close()
    return {
        "method": method,
        "n": n,
        "times": times,
        "median_s": statistics.median(times),
        "overlap_m2": result[0],
        "conflicts": result[1],
        "available_m2": result[2],
        "rss_mb": round(rss_mb, 1),
        **extra,
    }


def orchestrate(sizes: list[int], repeat: int, methods: list[str]) -> list[dict[str, object]]:
    rows = []
    for n in sizes:
        _load(n)  # generate once, outside the timings
        for m in methods:
            load = os.getloadavg()[0]
            proc = subprocess.run(
                [sys.executable, __file__, "--worker", m, str(n), str(repeat)],
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode != 0:
                print(proc.stderr[-3000:], file=sys.stderr)
                raise SystemExit(f"{m} at {n} failed")
            row = json.loads(proc.stdout.strip().splitlines()[-1])
            row["load_before"] = round(load, 2)
            rows.append(row)
            print(
                f"{n:>8} {m:<15} {row['median_s']:8.2f} s  rss {row['rss_mb']:7.0f} MB  "
                f"overlap {row['overlap_m2']:.6f}  conflicts {row['conflicts']}  "
                f"load {load:.1f}",
                flush=True,
            )
        out = HERE / "_work" / f"bench_{n}.json"
        out.write_text(json.dumps([r for r in rows if r["n"] == n], indent=2))
    return rows


def table(rows: list[dict[str, object]]) -> str:
    lines = [
        "| N | method | median s | × faster than baseline | × GEOS floor (1 thread) | "
        "peak RSS MB | overlap total rel. diff vs baseline | conflicts |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n in sorted({int(r["n"]) for r in rows}):  # type: ignore[call-overload]
        rs = {r["method"]: r for r in rows if r["n"] == n}
        base = rs.get("baseline")
        floor = rs.get("floor")
        for m, r in rs.items():
            t = float(r["median_s"])  # type: ignore[arg-type]
            speed = f"{float(base['median_s']) / t:.1f}" if base else "–"  # type: ignore[arg-type]
            fl = f"{t / float(floor['median_s']):.2f}" if floor else "–"  # type: ignore[arg-type]
            if base and m in PLANAR:
                rel = abs(float(r["overlap_m2"]) / float(base["overlap_m2"]) - 1)  # type: ignore[arg-type]
                diff = f"{rel:.1e}"
            else:
                diff = "(ellipsoidal)"
            rss = f"{r['rss_mb']}" + (
                f" + workers {r['worker_rss_mb']}" if "worker_rss_mb" in r else ""
            )
            lines.append(
                f"| {n:,} | {m} | {t:.2f} | {speed} | {fl} | {rss} | {diff} | {r['conflicts']} |"
            )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("sizes", nargs="*", type=int, default=[10_000, 100_000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--worker", nargs=3, metavar=("METHOD", "N", "REPEAT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        m, n, rep = args.worker
        print(json.dumps(run_method(m, int(n), int(rep))))
        return
    print(f"cores {os.cpu_count()}, load {os.getloadavg()}", flush=True)
    rows = orchestrate(args.sizes, args.repeat, args.methods.split(","))
    print()
    print(table(rows))


if __name__ == "__main__":
    main()
