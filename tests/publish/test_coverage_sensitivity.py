"""A parcel result derives from the pack's coverage layer too: its outline decides each
parcel's 未核查 (unchecked) part. With every zone and constraint layer public but the coverage
layer internal, `analyze` put its parcels (their ``unchecked_m2`` tracing the internal outline)
in ``public/``. They go to ``internal/`` now, in memory and streamed; asked public
(``--public``), the run is refused naming the coverage layer."""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from support import get_path

from qzgeo._errors import InputError
from qzgeo.pack.catalog import load_pack
from qzgeo.pipeline import run_analyze
from qzgeo.publish.parcel_tables import results_public

X0, Y0 = 36_564_000.0, 2_399_000.0  # the minipack's squares, EPSG:4524

COVERAGE = """
[[layers]]
id = "county"
title = "县界"
role = "base"
path = "mini.gpkg"
layer = "county"
sensitivity = "{sensitivity}"
publish_fields = []
source = "hand-made"
licence = "CC0-1.0"
precision = "schematic"
"""


def _pack(tmp: Path, sensitivity: str) -> Path:
    pack = tmp / f"pack-{sensitivity}"
    shutil.copytree(get_path("minipack"), pack)
    catalog = pack / "layers" / "catalog.toml"
    text = catalog.read_text(encoding="utf-8").replace(
        'sensitivity = "internal"', 'sensitivity = "public"'
    )
    head, rest = text.split("\n[[layers]]", 1)
    head += '\nextent = [108.0, 21.0, 109.5, 22.5]\ncoverage_layer = "county"\n'
    text = head + "\n[[layers]]" + rest + COVERAGE.format(sensitivity=sensitivity)
    catalog.write_text(text, encoding="utf-8")
    county = shapely.box(X0 - 500, Y0 - 500, X0 + 1700, Y0 + 1500)  # the parcels cross it
    gpd.GeoDataFrame({"名称": ["某县"]}, geometry=[county], crs=4524).to_crs(4490).to_file(
        pack / "layers" / "mini.gpkg", layer="county", driver="GPKG"
    )
    return pack


@pytest.mark.parametrize("chunk_rows", [None, 1])
def test_results_shaped_by_an_internal_coverage_layer_stay_internal(
    tmp_path: Path, chunk_rows: int | None
) -> None:
    parcels = tmp_path / "parcels.gpkg"
    gpd.GeoDataFrame(
        {"name": ["a", "b"]},
        geometry=[shapely.box(X0 - 600, Y0 + 300, X0 - 400, Y0 + 400),
                  shapely.box(X0 + 300, Y0 + 300, X0 + 400, Y0 + 400)],
        crs=4524,
    ).to_file(parcels)  # fmt: skip
    public_pack = _pack(tmp_path, "public")
    assert results_public(load_pack(public_pack))  # the case: public but for the coverage
    out = tmp_path / "out-public"
    run_analyze(parcels, out, pack_dir=public_pack, chunk_rows=chunk_rows, public=True)
    got = gpd.read_file(out / "public" / "parcels.gpkg")
    assert got["unchecked_m2"].iloc[0] > 0  # parcel a crosses the county's edge

    internal_pack = _pack(tmp_path, "internal")
    assert not results_public(load_pack(internal_pack))
    out = tmp_path / "out-internal"
    run_analyze(parcels, out, pack_dir=internal_pack, chunk_rows=chunk_rows)
    assert (out / "internal" / "parcels.gpkg").is_file()
    with pytest.raises(InputError, match="'county' is internal"):
        run_analyze(parcels, out, pack_dir=internal_pack, chunk_rows=chunk_rows, public=True)
    public = out / "public"
    assert not (public.exists() and any(p.name.startswith("parcels") for p in public.iterdir()))
