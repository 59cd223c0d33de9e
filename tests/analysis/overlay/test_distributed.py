"""The Dask path on a real 2-process LocalCluster gives the single-machine numbers."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from qzgeo.analysis.overlay import OverlayReport
from qzgeo.analysis.parcels import analyze_parcels

from .conftest import X0, Y0

distributed = pytest.importorskip("distributed")
pytest.importorskip("dask_geopandas")


def voronoi_parcels(n: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(11)
    frame = (X0 - 300, Y0 - 300, X0 + 2300, Y0 + 1300)
    xy = np.column_stack([rng.uniform(frame[0], frame[2], n), rng.uniform(frame[1], frame[3], n)])
    cells = shapely.get_parts(
        shapely.voronoi_polygons(
            shapely.multipoints(xy), extend_to=shapely.box(*frame), ordered=True
        )
    )
    return gpd.GeoDataFrame(
        {"地块号": [f"D{k:05d}" for k in range(n)]},
        geometry=shapely.clip_by_rect(cells, *frame),
        crs="EPSG:4524",
    )


@pytest.mark.slow
def test_dask_path_equals_single_path(loaded_minipack) -> None:  # type: ignore[no-untyped-def]
    from qzgeo.analysis.distributed import analyze_parcels_dask

    parcels = voronoi_parcels(2000)
    parcels.index = parcels.index * 3 + 5  # a non-trivial index must survive the shuffle
    single_rep, dask_rep = OverlayReport(), OverlayReport()
    single = analyze_parcels(parcels, loaded_minipack, report=single_rep)
    logging.getLogger("distributed").setLevel(logging.ERROR)
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    try:
        with distributed.Client(cluster) as client:
            got = analyze_parcels_dask(
                parcels, loaded_minipack, client=client, report=dask_rep, npartitions=4
            )
    finally:
        cluster.close()
    assert 0 < single["conflict"].sum() < len(parcels)
    pd.testing.assert_frame_equal(
        pd.DataFrame(got.drop(columns="geometry")),
        pd.DataFrame(single.drop(columns="geometry")),
        check_exact=True,
    )
    assert got.geometry.geom_equals_exact(single.geometry, tolerance=0).all()
    assert dask_rep.to_dict() == single_rep.to_dict()
