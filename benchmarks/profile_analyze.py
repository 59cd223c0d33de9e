"""Where `qzgeo analyze --parcels` and a cold `qzgeo check` spend their time (README_e2e.md).

    PYTHONPATH=. python benchmarks/profile_analyze.py analyze benchmarks/_work/e2e/grid_300000.gpkg
    PYTHONPATH=. python benchmarks/profile_analyze.py check benchmarks/_work/e2e/site.geojson

``analyze``: cProfile of the real command in this process (``cli(..., standalone_mode=False)``),
then the cumulative seconds of each step of ``qzgeo/cli/analyze.py``, the top functions by own
time, and the engine with and without the conservation check. cProfile sees the main thread
only: the overlay's worker threads show up as waiting in ``overlay_areas`` (its wall time).
The ``.prof`` file is kept in ``benchmarks/_work/`` for snakeviz / pstats.

``check``: ``python -X importtime`` of the command in a new process (the heaviest top-level
imports), the pack layers it reads, and a cProfile of the rest; whether the prepared pack came
from the cache (``qzgeo/pack/prepared.py``); then the wall time of the cold command in new
processes, median of 5 interleaved runs each: a cache miss (an empty cache folder), a hit, and
the cache off (``QZGEO_NO_CACHE=1``). Without ``$QZGEO_CACHE_DIR`` the runs use temporary
cache folders, never the user's.
"""

from __future__ import annotations

import contextlib
import cProfile
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CLI = "from qzgeo.cli.main import main; main()"

# step -> (file suffix, function name, caller function name or None)
STEPS = [
    ("load_pack + validate_pack", "qzgeo/pack/catalog.py", "load_pack", None),
    ("", "qzgeo/pack/validate.py", "validate_pack", None),
    ("load_pack_layers", "qzgeo/pack/load.py", "load_pack_layers", None),
    ("read parcels (read_layer)", "qzgeo/io/vector.py", "read_layer", "run_analyze"),
    ("  pyogrio read (Arrow)", "qzgeo/io/vector.py", "_pyogrio_read", None),
    ("clean_parcels (notices, extent, repair)", "qzgeo/analysis/parcels.py", "clean_parcels", None),
    (
        "  enforce_extent (exact, parcels not surely inside)",
        "qzgeo/io/input_checks.py",
        "enforce_extent",
        "clean_parcels",
    ),
    ("  repair_layer(parcels)", "qzgeo/geo/repair.py", "repair_layer", "clean_parcels"),
    ("check_parcels", "qzgeo/analysis/parcels.py", "check_parcels", None),
    ("build_parcel_plan", "qzgeo/analysis/parcels.py", "build_parcel_plan", None),
    ("to_planar (no-op in a GK zone)", "qzgeo/analysis/parcels.py", "to_planar", None),
    (
        "overlay (classes, balance and zones in one pass)",
        "qzgeo/analysis/overlay.py",
        "overlay_areas_and_groups",
        None,
    ),
    ("finish_parcels (incl. to_crs -> 4490)", "qzgeo/analysis/parcels.py", "finish_parcels", None),
    ("  to_crs in finish_parcels", "geopandas/geoseries.py", "to_crs", "finish_parcels"),
    ("write_parcel_outputs", "qzgeo/publish/parcel_tables.py", "write_parcel_outputs", None),
    ("  write_gpkg", "qzgeo/io/write.py", "write_gpkg", None),
    ("  parcel_summary", "qzgeo/analysis/parcels.py", "parcel_summary", None),
    ("  summary.to_csv", "pandas/core/generic.py", "to_csv", "write_parcel_outputs"),
    ("  _xlsx_bytes", "qzgeo/publish/parcel_tables.py", "_xlsx_bytes", None),
    ("sha256_file(parcels)", "qzgeo/io/vector.py", "sha256_file", "run_analyze"),
]


def _cum(stats: pstats.Stats, suffix: str, func: str, caller: str | None) -> tuple[float, int]:
    total, calls = 0.0, 0
    for (fname, _line, name), (_cc, nc, _tt, ct, callers) in stats.stats.items():  # type: ignore[attr-defined]
        if name != func or not fname.endswith(suffix):
            continue
        if caller is None:
            total += ct
            calls += nc
        else:
            for (_f, _l, cname), val in callers.items():
                if cname == caller:
                    total += val[3]
                    calls += val[1]
    return total, calls


def profile_analyze(parcels: Path) -> None:
    from qzgeo.cli.main import cli

    prof_path = HERE / "_work" / f"analyze_{parcels.stem}.prof"
    with tempfile.TemporaryDirectory() as out:
        prof = cProfile.Profile()
        t = time.perf_counter()
        prof.enable()
        cli(["analyze", "--parcels", str(parcels), "--out", out], standalone_mode=False)
        prof.disable()
        wall = time.perf_counter() - t
    prof.dump_stats(prof_path)
    stats = pstats.Stats(str(prof_path))
    print(f"\nqzgeo analyze {parcels.name}: {wall:.2f} s under cProfile ({prof_path})\n")
    print("| step | cumulative s | calls |\n|---|--:|--:|")
    for label, suffix, func, caller in STEPS:
        ct, nc = _cum(stats, suffix, func, caller)
        print(f"| {label or func} | {ct:.2f} | {nc} |")
    print("\nTop 25 by own time:")
    stats.sort_stats("tottime").print_stats(25)
    print("Callees of repair_layer:")
    stats.sort_stats("cumulative").print_callees("repair_layer")
    _engine_check_cost(parcels)


def _engine_check_cost(parcels: Path) -> None:
    """The engine alone on the same parcels: with and without the conservation check."""
    from qzgeo.analysis.overlay import overlay_areas
    from qzgeo.analysis.parcels import build_parcel_plan
    from qzgeo.io.vector import read_layer
    from qzgeo.pack.catalog import load_pack
    from qzgeo.pack.load import load_pack_layers

    plan = build_parcel_plan(load_pack_layers(load_pack()))
    planar = read_layer(parcels).to_crs(plan.planar_crs)
    for check in (True, False, True, False):
        t = time.perf_counter()
        overlay_areas(planar, plan.overlay, check_conservation=check)
        print(f"overlay_areas check_conservation={check}: {time.perf_counter() - t:.2f} s")


def profile_check(site: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        # the first run fills a temporary cache (a miss); the profiled one takes it (a hit)
        os.environ.setdefault("QZGEO_CACHE_DIR", tmp)
        _profile_check(site)
    cold_check_walls(site)


def _profile_check(site: Path) -> None:
    cmd = [sys.executable, "-X", "importtime", "-c", CLI, "check", str(site)]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    print(f"qzgeo check (with -X importtime): {time.perf_counter() - t:.2f} s wall")
    rows = []  # (cumulative us, module) of the imports made at top level (not nested)
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self_us, cum_us, name = line.split(":", 1)[1].split("|")
        if not name[1:].startswith(" "):
            rows.append((int(cum_us), name.strip()))
    top = sorted(rows, reverse=True)[:15]
    print("\nTop-level imports by cumulative time:\n| module | ms |\n|---|--:|")
    for cum, name in top:
        print(f"| {name} | {cum / 1000:.0f} |")
    total = sum(c for c, _ in rows)
    print(f"| (all top-level) | {total / 1000:.0f} |")

    import qzgeo.pack.load as load_mod
    import qzgeo.pack.prepared as prepared
    from qzgeo.cli.main import cli

    cache: list[str] = []
    real_load, real_save = prepared.load_entry, prepared.save_entry

    def load_spy(kind, key):  # type: ignore[no-untyped-def]
        got = real_load(kind, key)
        cache.append("hit" if got is not None else "miss")
        return got

    def save_spy(kind, key, meta, blobs):  # type: ignore[no-untyped-def]
        saved = real_save(kind, key, meta, blobs)
        cache.append("saved" if saved else "not saved")
        return saved

    prepared.load_entry, prepared.save_entry = load_spy, save_spy  # type: ignore[assignment]

    read = load_mod.read_layer
    seen: list[str] = []

    def spy(source, **kw):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        gdf = read(source, **kw)
        seen.append(f"{kw.get('layer')} ({len(gdf)} features, {time.perf_counter() - t0:.3f} s)")
        return gdf

    load_mod.read_layer = spy  # type: ignore[assignment]
    prof = cProfile.Profile()
    prof.enable()
    with contextlib.suppress(SystemExit):
        cli(["check", str(site)], standalone_mode=False)
    prof.disable()
    print(f"\nPack layers read by the check ({len(seen)}): " + "; ".join(seen))
    print(f"Prepared pack cache: {', '.join(cache) or 'off'}")
    stats = pstats.Stats(prof)
    print("\nThe check once imported (cumulative):")
    stats.sort_stats("cumulative").print_stats(30)


def cold_check_walls(site: Path, runs: int = 5) -> None:
    """Median wall time of ``qzgeo check SITE`` in a new process: cache miss, hit, off."""
    times: dict[str, list[float]] = {"miss": [], "hit": [], "off": []}
    with tempfile.TemporaryDirectory() as tmp:
        warm = Path(tmp) / "warm"
        _run_check(site, {"QZGEO_CACHE_DIR": str(warm)})  # fills the cache of the hits
        for i in range(runs):
            for mode in times:  # interleaved: a slow moment of the machine hits all three
                env = {"QZGEO_CACHE_DIR": str(warm if mode == "hit" else Path(tmp) / f"m{i}")}
                if mode == "off":
                    env["QZGEO_NO_CACHE"] = "1"
                times[mode].append(_run_check(site, env))
    print(f"\nCold `qzgeo check {site.name}` in a new process, median of {runs} (s):")
    print("| pack cache | wall s | runs |\n|---|--:|---|")
    for mode, ts in times.items():
        print(f"| {mode} | {statistics.median(ts):.2f} | {' '.join(f'{t:.2f}' for t in ts)} |")


def _run_check(site: Path, extra: dict[str, str]) -> float:
    env = {k: v for k, v in os.environ.items() if k != "QZGEO_NO_CACHE"} | extra
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", CLI, "check", str(site)], env=env, capture_output=True, check=False
    )
    return time.perf_counter() - t


if __name__ == "__main__":
    what, path = sys.argv[1], Path(sys.argv[2])
    profile_analyze(path) if what == "analyze" else profile_check(path)
