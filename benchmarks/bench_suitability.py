"""Benchmark of `qzgeo suitability`: 10⁸ cells (a 100 km x 100 km county at 10 m), peak RSS.

Builds a synthetic pack in a temporary folder (a GK study area, zones, a road, points, a red
line) and a synthetic 30 m DEM (a smooth surface, resampled to the 10 m grid on the fly), runs
the command in a child process and reports wall time and the child's peak RSS (ru_maxrss).

Then compares the per-zone class areas of ``qzgeo.raster.zonal_stats`` (cell centres,
ellipsoidal cell areas) with ``exactextract`` (exact cell coverage fractions) on the result:
time, and each method's total against the vector zone areas from pyproj.Geod.

    python benchmarks/bench_suitability.py            # 10⁸ cells
    python benchmarks/bench_suitability.py --km 20    # a quick 4·10⁶-cell run
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
from pyproj import Geod, Transformer
from rasterio.transform import Affine
from shapely import LineString, Point, box

GK = "EPSG:4545"
X0, Y0 = 450_000.0, 2_380_000.0

MODEL = """
title = "bench"
resolution_m = 10
area = ["study"]
zones = ["zones"]
basemap = "none"
[combine]
short_board = ["slope"]
[[factors]]
id = "slope"
kind = "slope"
raster = "dem"
weight = 0.4
[[factors]]
id = "road"
kind = "distance"
layers = ["road", "hubs"]
breaks = [500, 2000, 5000, 10000]
weight = 0.6
[[hard_limits]]
layer = "redline"
[result]
breaks = [2.5, 3.5]
classes = [{ name = "不适宜", color = "#d7301f" }, { name = "一般适宜", color = "#fdcc8a" },
           { name = "适宜", color = "#31a354" }]
"""

CATALOG = """
[pack]
name = "bench"
title = "bench"
planar_crs = "EPSG:4545"
""" + "".join(
    f"""
[[layers]]
id = "{lid}"
title = "{lid}"
role = "{role}"
path = "bench.gpkg"
layer = "{lid}"
sensitivity = "public"
source = "synthetic"
licence = "CC0-1.0"
precision = "schematic"
{extra}"""
    for lid, role, extra in [
        ("study", "base", ""),
        ("zones", "zone", 'name_field = "名称"\n'),
        ("road", "corridor", ""),
        ("hubs", "corridor", ""),
        ("redline", "constraint", 'constraint = "exclusion"\n'),
    ]
)


def make_pack(root: Path, km: float) -> tuple[Path, Path, gpd.GeoDataFrame]:
    size = km * 1000
    for d in ("layers", "styles", "maps", "suitability"):
        (root / d).mkdir(parents=True)
    (root / "layers" / "catalog.toml").write_text(CATALOG, encoding="utf-8")
    (root / "suitability" / "bench.toml").write_text(MODEL, encoding="utf-8")
    rng = np.random.default_rng(0)
    zones = []
    for _ in range(20):
        x, y = X0 + rng.uniform(0, size * 0.8), Y0 + rng.uniform(0, size * 0.8)
        w, h = rng.uniform(0.02, 0.15) * size, rng.uniform(0.02, 0.15) * size
        zones.append(box(x + 3.3, y + 7.7, x + w, y + h).buffer(size / 200))
    road = LineString(
        [(X0 + s * size, Y0 + (0.5 + 0.3 * math.sin(7 * s)) * size) for s in np.linspace(0, 1, 400)]
    )
    layers = {
        "study": [box(X0, Y0, X0 + size, Y0 + size)],
        "zones": zones,
        "road": [road],
        "hubs": [Point(X0 + size * 0.3, Y0 + size * 0.3), Point(X0 + size * 0.8, Y0 + size * 0.6)],
        "redline": [box(X0 + size * 0.6, Y0 + size * 0.1, X0 + size * 0.7, Y0 + size * 0.4)],
    }
    gpkg = root / "layers" / "bench.gpkg"
    for name, geoms in layers.items():
        cols = {"名称": [f"z{i}" for i in range(len(geoms))]} if name == "zones" else {}
        gpd.GeoDataFrame(cols, geometry=geoms, crs=GK).to_file(gpkg, layer=name, driver="GPKG")
    # A 30 m DEM: smooth hills up to ~35°, written in row strips.
    res, n = 30.0, math.ceil((size + 200) / 30.0)
    t = Affine(res, 0, X0 - 100, 0, -res, Y0 + size + 100)
    dem = root / "dem.tif"
    profile = {
        "driver": "GTiff",
        "width": n,
        "height": n,
        "count": 1,
        "dtype": "float32",
        "crs": GK,
        "transform": t,
        "tiled": True,
        "compress": "deflate",
    }
    with rasterio.open(dem, "w", **profile) as dst:
        x = np.arange(n) * res
        for r0 in range(0, n, 512):
            y = (r0 + np.arange(min(512, n - r0)))[:, None] * res
            z = 300 * np.sin(x / 3000.0) * np.cos(y / 2500.0) + 0.05 * x
            dst.write(z.astype(np.float32), 1, window=rasterio.windows.Window(0, r0, n, z.shape[0]))
    return root, dem, gpd.GeoDataFrame({"名称": layers_names(zones)}, geometry=zones, crs=GK)


def layers_names(zones: list[object]) -> list[str]:
    return [f"z{i}" for i in range(len(zones))]


def geod_area(geom: object) -> float:
    to_ll = Transformer.from_crs(GK, "EPSG:4490", always_xy=True)
    ring = np.asarray(geom.segmentize(20.0).exterior.coords)  # type: ignore[attr-defined]
    lon, lat = to_ll.transform(ring[:, 0], ring[:, 1])
    return abs(Geod(ellps="GRS80").polygon_area_perimeter(lon, lat)[0])


def compare_zonal(result: Path, zones: gpd.GeoDataFrame) -> dict[str, object]:
    from exactextract import exact_extract

    from qzgeo.analysis.raster import zonal_stats

    t0 = time.perf_counter()
    ours = zonal_stats(result, zones, categorical=True)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    ee = exact_extract(str(result), zones, ["unique", "frac", "count"], output="pandas")
    t_ee = time.perf_counter() - t0
    with rasterio.open(result) as src:
        cell = abs(src.transform.a * src.transform.e)
    vector = np.array([geod_area(g) for g in zones.geometry])
    ee_m2 = ee["count"].to_numpy() * cell  # GK grid m² of the covered fractions (no scale)
    return {
        "zones": len(zones),
        "qzgeo_zonal_s": round(t_ours, 2),
        "exactextract_s": round(t_ee, 2),
        "max_rel_err_vs_geod_qzgeo": float(np.max(np.abs(ours["area_m2"] / vector - 1))),
        "max_rel_err_vs_geod_exactextract": float(np.max(np.abs(ee_m2 / vector - 1))),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--km", type=float, default=100.0, help="side of the square study area")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        pack, dem, zones = make_pack(Path(tmp) / "pack", args.km)
        print(f"synthetic pack and DEM: {time.perf_counter() - t0:.1f} s", flush=True)
        cmd = [
            sys.executable,
            "-c",
            "from qzgeo.cli.main import cli; cli()",
            "suitability",
            "--pack",
            str(pack),
            "--dem",
            str(dem),
            "--out",
            str(Path(tmp) / "out"),
            "--no-progress",
        ]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t0
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(proc.stdout, proc.stderr, sep="\n")
        if proc.returncode != 0:
            sys.exit(proc.returncode)
        cells = round(args.km * 100) ** 2
        print(
            json.dumps({"cells": cells, "wall_s": round(wall, 1), "peak_rss_mb": round(peak_mb)}),
            flush=True,
        )
        result = Path(tmp) / "out" / "public" / "suitability" / "bench" / "result.tif"
        print(json.dumps(compare_zonal(result, zones), indent=1))


if __name__ == "__main__":
    main()
