"""Where ``qzgeo analyze`` puts parcel results: public only if asked (``public=True``,
``--public``) and every zone and constraint layer is. The minipack's control lines are
internal, so its results go to ``internal/`` and nothing of them to ``public/``, in memory
and streamed (whose placement rests on :func:`results_public` alone). A mutant making results
public when *any* layer is passed the suite."""

from __future__ import annotations

import shutil
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


def test_results_that_became_internal_leave_no_earlier_public_copy(tmp_path: Path) -> None:
    """Run 1: every layer public, results asked public, in ``public/``. Run 2: the control
    lines made internal, results in ``internal/``; the earlier public copies are removed, not
    left to be posted beside the new internal ones."""
    pack = tmp_path / "pack"
    shutil.copytree(get_path("minipack"), pack)
    catalog = pack / "layers" / "catalog.toml"
    text = catalog.read_text(encoding="utf-8")
    assert text.count('sensitivity = "internal"') == 1
    catalog.write_text(text.replace('sensitivity = "internal"', 'sensitivity = "public"'), "utf-8")
    parcels = tmp_path / "parcels.gpkg"
    gpd.GeoDataFrame(
        {"name": ["a"]}, geometry=[shapely.box(X0 + 300, Y0 + 300, X0 + 400, Y0 + 400)], crs=4524
    ).to_file(parcels)
    out = tmp_path / "out"
    run_analyze(parcels, out, pack_dir=pack, public=True)
    assert (out / "public" / "parcels.gpkg").is_file()  # the case: public at first
    catalog.write_text(text, encoding="utf-8")
    run_analyze(parcels, out, pack_dir=pack)
    assert (out / "internal" / "parcels.gpkg").is_file()
    left = sorted(p.name for p in (out / "public").iterdir() if p.name in PARCEL_FILES)
    assert left == []
