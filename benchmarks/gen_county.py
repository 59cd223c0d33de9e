"""Generate a synthetic county for the overlay benchmark, cached as GeoParquet.

Parcels are Voronoi cells of N seeded random points over an 80 km x 60 km county in
EPSG:4524 (CGCS2000 GK zone 36, zone-prefixed eastings, around 108.3-109.1E, 21.7-22.3N). The
red lines are ~900 irregular polygons (star-shaped, 200 vertices each, 15% with a hole, unioned),
unioned so they do not overlap, covering ~30% of the county.

Usage::

    python benchmarks/gen_county.py 10000 100000 1000000

Files: ``benchmarks/_work/parcels_{N}.parquet`` and ``benchmarks/_work/redlines.parquet``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

CRS = "EPSG:4524"
EXTENT = (36_530_000.0, 2_420_000.0, 36_610_000.0, 2_480_000.0)
WORK = Path(__file__).parent / "_work"
N_RED = 1_900  # before the union; ~1,000 remain
RED_VERTICES = 200
RED_COVER = 0.30
SEED = 20240601


def _star(rng: np.random.Generator, cx: float, cy: float, r: float, n: int) -> np.ndarray:
    """An irregular closed ring: a star-shaped polygon with smooth random radii."""
    t = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    radius = np.ones(n)
    for k in range(1, 7):
        radius += rng.normal(0.0, 0.25 / k) * np.cos(k * t + rng.uniform(0, 2 * np.pi))
    radius += rng.normal(0.0, 0.02, n)  # a ragged, digitised edge
    radius = r * np.clip(radius, 0.25, None)
    ring = np.column_stack([cx + radius * np.cos(t), cy + radius * np.sin(t)])
    return np.vstack([ring, ring[:1]])


def red_lines(scale: float = 1.0) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(SEED)
    minx, miny, maxx, maxy = EXTENT
    polys = []
    for _ in range(N_RED):
        cx, cy = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        r = scale * rng.lognormal(np.log(420.0), 0.35)
        shell = _star(rng, cx, cy, r, RED_VERTICES)
        holes = []
        if rng.random() < 0.15:
            holes.append(_star(rng, cx, cy, 0.3 * r, RED_VERTICES // 3)[::-1])
        polys.append(shapely.make_valid(shapely.Polygon(shell, holes)))
    merged = shapely.union_all(polys)
    merged = shapely.intersection(merged, shapely.box(*EXTENT))
    parts = [p for p in shapely.get_parts(merged) if p.geom_type == "Polygon" and p.area > 1.0]
    parts.sort(key=lambda p: (round(p.bounds[0], 3), round(p.bounds[1], 3)))
    return gpd.GeoDataFrame({"类别": ["生态保护红线"] * len(parts)}, geometry=parts, crs=CRS)


def make_red_lines() -> gpd.GeoDataFrame:
    scale = 1.0
    county = shapely.box(*EXTENT).area
    for _ in range(3):
        red = red_lines(scale)
        cover = red.area.sum() / county
        if abs(cover - RED_COVER) < 0.01:
            break
        scale *= (RED_COVER / cover) ** 0.5
    return red


def parcels(n: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(SEED + n)
    minx, miny, maxx, maxy = EXTENT
    pts = shapely.multipoints(
        np.column_stack([rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)])
    )
    frame = shapely.box(*EXTENT)
    cells = shapely.get_parts(shapely.voronoi_polygons(pts, extend_to=frame, ordered=True))
    inside = shapely.contains_properly(frame, cells)
    shapely.prepare(frame)
    cells[~inside] = shapely.clip_by_rect(cells[~inside], *EXTENT)  # convex cells: valid
    gdf = gpd.GeoDataFrame({"pid": np.arange(n, dtype=np.int64)}, geometry=cells, crs=CRS)
    return gdf[~gdf.geometry.is_empty].reset_index(drop=True)


def ensure(n: int) -> Path:
    """Generate (once) and return the parquet path of the N-parcel county."""
    WORK.mkdir(exist_ok=True)
    red_path = WORK / "redlines.parquet"
    if not red_path.exists():
        t = time.perf_counter()
        red = make_red_lines()
        red.to_parquet(red_path)
        cover = red.area.sum() / shapely.box(*EXTENT).area
        nv = int(shapely.get_num_coordinates(red.geometry.values).sum())
        print(
            f"red lines: {len(red)} polygons, {nv} vertices, "
            f"{int((shapely.get_num_interior_rings(red.geometry.values) > 0).sum())} with holes, "
            f"cover {cover:.1%} ({time.perf_counter() - t:.1f} s)",
            flush=True,
        )
    path = WORK / f"parcels_{n}.parquet"
    if not path.exists():
        t = time.perf_counter()
        parcels(n).to_parquet(path)
        print(f"parcels {n}: {time.perf_counter() - t:.1f} s", flush=True)
    return path


if __name__ == "__main__":
    for arg in sys.argv[1:] or ["10000", "100000"]:
        ensure(int(arg))
