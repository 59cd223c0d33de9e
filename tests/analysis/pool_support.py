"""Helpers of the worker-process tests: a real-shaped parcel file, and `qzgeo` as a user runs it.

The processes path needs a real process whose main module is import-safe, so the CLI runs in a
subprocess (``python -c "from qzgeo.cli.main import cli; cli(prog_name='qzgeo')" ...``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from support import ROOT

CRS = "EPSG:4524"  # CGCS2000 3-degree GK zone 36, zone-prefixed eastings
#: South-west corner of the grid: over the bundled pack's zones and control lines (~108.6E 21.7N)
GRID_X0, GRID_Y0 = 36_552_000.0, 2_395_000.0
CELL = 120.0
N_SIDE = 245  # 60 025 parcels: more than POOL_ABOVE, 3 chunks of 25 000 with 2 workers
PARTS = {"public", "internal"}
TOP = {".qzgeo", ".qzgeo.lock", ".qzgeo.files", *PARTS}


def quad_parcels(n_side: int = N_SIDE, seed: int = 1) -> gpd.GeoDataFrame:
    """A tessellation of jittered quads (~120 m) in EPSG:4524 with a few attribute columns."""
    rng = np.random.default_rng(seed)
    gx, gy = np.meshgrid(
        np.arange(n_side + 1) * CELL + GRID_X0, np.arange(n_side + 1) * CELL + GRID_Y0,
        indexing="ij",
    )  # fmt: skip
    gx = gx + rng.uniform(-CELL / 5, CELL / 5, gx.shape)
    gy = gy + rng.uniform(-CELL / 5, CELL / 5, gy.shape)
    i, j = (a.ravel() for a in np.meshgrid(np.arange(n_side), np.arange(n_side), indexing="ij"))
    xs = np.stack([gx[i, j], gx[i + 1, j], gx[i + 1, j + 1], gx[i, j + 1], gx[i, j]], axis=1)
    ys = np.stack([gy[i, j], gy[i + 1, j], gy[i + 1, j + 1], gy[i, j + 1], gy[i, j]], axis=1)
    n = len(xs)
    data = {
        "pid": np.arange(n, dtype=np.int64),
        "code": pd.array(np.arange(n) * 7, dtype="Int64"),
        "名称": [f"地块{k}" for k in range(n)],
        "w": rng.uniform(0, 1, n),
    }
    geoms = shapely.polygons(np.stack([xs, ys], axis=2))
    return gpd.GeoDataFrame(data, geometry=list(geoms), crs=CRS)


def write_parcels(gdf: gpd.GeoDataFrame, path: Path) -> Path:
    pyogrio.write_dataframe(gdf, path, layer="parcels", driver="GPKG")
    return path


def qzgeo(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``qzgeo ARGS`` in a new Python process (the package of this checkout)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    code = "from qzgeo.cli.main import cli; cli(prog_name='qzgeo')"
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=300, check=False,
    )  # fmt: skip


def result_rows(out: Path) -> gpd.GeoDataFrame:
    """parcels.gpkg of a run (wherever it went), indexed by pid."""
    (gpkg,) = [p for part in PARTS if (p := out / part / "parcels.gpkg").exists()]
    return pyogrio.read_dataframe(gpkg, layer="parcels").set_index("pid").sort_index()


def leftovers(out: Path) -> list[str]:
    """Files of ``out`` that no finished run leaves (temporary files, build folders)."""
    extra = [p.name for p in out.iterdir() if p.name not in TOP]
    for part in PARTS & {p.name for p in out.iterdir()}:
        extra += [f"{part}/{p.name}" for p in (out / part).iterdir() if p.name.startswith(".")]
    return extra


def snapshot(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
