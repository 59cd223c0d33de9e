"""Synthetic parcels: a Voronoi tessellation of seeded points inside the minipack's zones."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from support import get_path

from qzgeo.analysis.parcels import analyze_parcels
from qzgeo.io.write import write_gpkg
from qzgeo.pack.catalog import load_pack
from qzgeo.pack.load import LoadedPack, load_pack_layers
from qzgeo.pack.model import Pack

MINIPACK = get_path("minipack")
# Each payload sets window.__pwned if it ever runs as code; {{ 7*7 }} would become 49.
HOSTILE = [
    "<img src=x onerror=window.__pwned=1>",
    "</script><script>window.__pwned=2</script>",
    "{{ 7*7 }}{% if true %}jinja{% endif %}",
    "`${window.__pwned=3}`",
]


def voronoi_parcels(zones: gpd.GeoDataFrame, n: int, *, seed: int = 7) -> gpd.GeoDataFrame:
    """``n`` seeded points inside the zones' union, tessellated and clipped to it (EPSG:4524)."""
    zones = zones.to_crs("EPSG:4524")
    area = shapely.union_all(zones.geometry.values)
    minx, miny, maxx, maxy = area.bounds
    rng = np.random.default_rng(seed)
    pts: list[np.ndarray] = []
    while sum(len(p) for p in pts) < n:
        xy = rng.uniform((minx, miny), (maxx, maxy), size=(n, 2))
        pts.append(xy[shapely.contains_xy(area, xy[:, 0], xy[:, 1])])
    xy = np.concatenate(pts)[:n]
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=area.envelope)
    )
    cells = shapely.intersection(cells, area)
    cells = cells[~shapely.is_empty(cells)]
    # Voronoi output order is not the input order: sort so that ids are stable.
    c = shapely.centroid(cells)
    order = np.lexsort((shapely.get_x(c), shapely.get_y(c)))
    return gpd.GeoDataFrame(
        {"编号": [f"P{i:05d}" for i in range(len(cells))]},
        geometry=cells[order],
        crs="EPSG:4524",
    )


N_PARCELS = 2000
N_HOSTILE_IDS = 40
ZONE_NAMES = [HOSTILE[0] + HOSTILE[2], HOSTILE[1] + HOSTILE[3]]


@dataclass
class Analysed:
    pack: Pack
    loaded: LoadedPack
    parcels: gpd.GeoDataFrame  # EPSG:4524, as a user would hand them in
    result: gpd.GeoDataFrame  # analyze_parcels output, EPSG:4490


def hostile_pack(dst: Path, *, public: bool = False) -> Path:
    """A copy of the minipack whose zone names are hostile (and, if asked, all public)."""
    shutil.copytree(MINIPACK, dst)
    gpkg = dst / "layers" / "mini.gpkg"
    zones = gpd.read_file(gpkg, layer="zones")
    lines = gpd.read_file(gpkg, layer="control_lines")
    zones["名称"] = ZONE_NAMES
    write_gpkg(gpkg, {"zones": zones, "control_lines": lines})
    if public:
        cat = dst / "layers" / "catalog.toml"
        text = cat.read_text(encoding="utf-8").replace(
            'sensitivity = "internal"', 'sensitivity = "public"'
        )
        cat.write_text(text, encoding="utf-8")
    return dst


def hostile_parcels(loaded: LoadedPack) -> gpd.GeoDataFrame:
    parcels = voronoi_parcels(loaded.layers["zones"], N_PARCELS, seed=11)
    ids = [
        f"{HOSTILE[i % len(HOSTILE)]}#{i}" if i < N_HOSTILE_IDS else f"P{i:05d}"
        for i in range(len(parcels))
    ]
    return parcels.set_index(pd.Index(ids, name="parcel"))


def analyze(root: Path) -> Analysed:
    pack = load_pack(root)
    loaded = load_pack_layers(pack)
    parcels = hostile_parcels(loaded)
    result = analyze_parcels(parcels, loaded)
    return Analysed(pack, loaded, parcels, result)
