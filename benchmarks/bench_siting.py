"""Benchmark of the siting check: context build, one site, and 10 000 sites from one file.

Run from the repository root::

    python benchmarks/bench_siting.py [--sites 10000] [--red-line-vertices 50000]

Uses the test minipack plus a synthetic, wiggly 生态保护红线 with many vertices (a real red
line has tens of thousands), so that the tiling of large constraint polygons is exercised.
Prints timings; asserts nothing.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from qzgeo.analysis.site_check import check_sites
from qzgeo.analysis.sites import read_sites
from qzgeo.analysis.siting import SitingContext
from qzgeo.io.write import write_gpkg
from qzgeo.pack.catalog import load_pack
from qzgeo.publish.site_report import reports_to_json

ROOT = Path(__file__).resolve().parent.parent
MINIPACK = ROOT / "tests" / "data" / "minipack"
X0, Y0 = 36_564_000.0, 2_399_000.0


def wiggly_polygon(n: int, rng: np.random.Generator) -> shapely.Polygon:
    """A star-shaped polygon of ``n`` vertices around the minipack zones."""
    angle = np.linspace(0, 2 * np.pi, n, endpoint=False)
    radius = 1400 + 300 * np.sin(7 * angle) + rng.uniform(-0.5, 0.5, n)
    x = X0 + 1000 + radius * np.cos(angle)
    y = Y0 + 500 + radius * np.sin(angle) * 0.6
    return shapely.Polygon(np.column_stack([x, y]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sites", type=int, default=10_000)
    parser.add_argument("--red-line-vertices", type=int, default=50_000)
    parser.add_argument("--json-out", type=Path, default=None, help="Also write the 10k JSON here.")
    args = parser.parse_args()
    rng = np.random.default_rng(42)
    tmp = Path(tempfile.mkdtemp(prefix="bench_siting_"))
    try:
        pack_dir = tmp / "pack"
        shutil.copytree(MINIPACK, pack_dir)
        gpkg = pack_dir / "layers" / "mini.gpkg"
        zones = gpd.read_file(gpkg, layer="zones")
        cons = gpd.read_file(gpkg, layer="control_lines").to_crs("EPSG:4524")
        red = cons["类别"] == "生态保护红线"
        cons.loc[red, "geometry"] = wiggly_polygon(args.red_line_vertices, rng)
        canal = gpd.GeoDataFrame(
            {"名称": ["平陆运河"]},
            geometry=[shapely.LineString([(X0 + 3000, Y0 - 5000), (X0 + 3500, Y0 + 6000)])],
            crs="EPSG:4524",
        )
        write_gpkg(
            gpkg,
            {
                "zones": zones,
                "control_lines": cons.to_crs("EPSG:4490"),
                "canal": canal.to_crs("EPSG:4490"),
            },
        )
        catalog = pack_dir / "layers" / "catalog.toml"
        catalog.write_text(
            catalog.read_text(encoding="utf-8")
            + '\n[[layers]]\nid = "canal"\ntitle = "平陆运河"\nrole = "corridor"\n'
            'path = "mini.gpkg"\nlayer = "canal"\nsensitivity = "public"\n'
            'source = "test"\nlicence = "CC0-1.0"\nprecision = "schematic"\n'
            '\n[[distances]]\nlayer = "canal"\nlabel = "距运河"\n',
            encoding="utf-8",
        )

        t = time.perf_counter()
        ctx = SitingContext.from_pack(load_pack(pack_dir))
        t_ctx = time.perf_counter() - t
        tiles = len(ctx.plan.classes.parts)

        one = gpd.GeoDataFrame(
            geometry=[shapely.box(X0 + 1400, Y0 + 200, X0 + 1700, Y0 + 600)], crs="EPSG:4524"
        )
        check_sites(one, ctx)  # warm-up
        t = time.perf_counter()
        for _ in range(20):
            check_sites(one, ctx)
        t_one = (time.perf_counter() - t) / 20

        cx = rng.uniform(X0 - 1000, X0 + 3000, args.sites)
        cy = rng.uniform(Y0 - 800, Y0 + 1800, args.sites)
        w = rng.uniform(20, 200, args.sites)
        sites = gpd.GeoDataFrame(
            {"名称": [f"地块{i}" for i in range(args.sites)]},
            geometry=shapely.box(cx, cy, cx + w, cy + w * 0.8),
            crs="EPSG:4524",
        )
        site_file = tmp / "sites.gpkg"
        sites.to_file(site_file, driver="GPKG")
        t = time.perf_counter()
        gdf, _ = read_sites([str(site_file)])
        t_read = time.perf_counter() - t
        t = time.perf_counter()
        reports = check_sites(gdf, ctx)
        t_check = time.perf_counter() - t
        t = time.perf_counter()
        text = reports_to_json(reports)
        t_json = time.perf_counter() - t
        t = time.perf_counter()
        check_sites(gdf, ctx, with_patches=True)
        t_patches = time.perf_counter() - t
        n_conf = sum(r.verdict == "conflict" for r in reports)
        if args.json_out is not None:
            args.json_out.write_text(text, encoding="utf-8")
        print(
            f"context build (red line {args.red_line_vertices} vertices -> {tiles} class parts): "
            f"{t_ctx * 1000:.0f} ms"
        )
        print(f"one site: {t_one * 1000:.2f} ms")
        print(
            f"{args.sites} sites: read {t_read:.2f} s, check {t_check:.2f} s, "
            f"json {t_json:.2f} s ({len(text) / 1e6:.1f} MB), {n_conf} in conflict"
        )
        print(f"{args.sites} sites with conflict patches (for --format html): {t_patches:.2f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
