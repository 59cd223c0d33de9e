"""Where ``qzgeo analyze`` puts parcel results: public only if every zone and constraint
layer is. The minipack's control lines are internal, so its results go to ``internal/`` and
nothing of them to ``public/``, in memory and streamed (whose placement rests on
:func:`results_public` alone). A mutant making results public when *any* layer is passed
the suite."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from support import get_path

from qzgeo.pack.catalog import load_pack
from qzgeo.pipeline import run_analyze
from qzgeo.publish.parcel_tables import PARCEL_FILES, results_public

X0, Y0 = 36_564_000.0, 2_399_000.0  # the minipack's squares, EPSG:4524


@pytest.mark.parametrize("chunk_rows", [None, 1])  # in memory, and streamed
def test_results_of_a_pack_with_an_internal_constraint_layer_stay_internal(
    tmp_path: Path, chunk_rows: int | None
) -> None:
    pack = load_pack(get_path("minipack"))
    kinds = {s.id: s.sensitivity for s in (*pack.zone_layers(), *pack.constraint_layers())}
    assert "public" in kinds.values() and "internal" in kinds.values()  # the case
    assert results_public(pack) is False
    parcels = tmp_path / "parcels.gpkg"
    gpd.GeoDataFrame(
        {"name": ["a", "b", "c"]},
        geometry=[
            shapely.box(X0 + 300 + 200 * k, Y0 + 300, X0 + 400 + 200 * k, Y0 + 400)
            for k in range(3)
        ],
        crs=4524,
    ).to_file(parcels)
    out = tmp_path / "out"
    run_analyze(parcels, out, pack_dir=get_path("minipack"), chunk_rows=chunk_rows)
    assert (out / "internal" / "parcels.gpkg").is_file()
    public = out / "public"
    leaked = [p.name for p in public.rglob("*")] if public.exists() else []
    assert not [n for n in leaked if n in PARCEL_FILES or n.startswith("parcels")], leaked
