"""The one warning counting parcels outside a coverage: round-off along the coverage's edge
(a parcel on a red line outside keeps ~1e-9 m²) is not a parcel outside, and "wholly" is
all of a parcel to the same 0.01 m². Hand-made tables; a mutant counting every unchecked
m² above 0 passed the suite."""

from __future__ import annotations

import pandas as pd
import shapely

from qzgeo.analysis.parcel_extent import count_unchecked
from qzgeo.geo.coverage import Coverage

EXTENT = (108.0, 21.0, 109.0, 22.0)


def test_round_off_is_not_outside_and_wholly_is_to_a_hundredth() -> None:
    cov = Coverage.of_polygons([shapely.box(108.5, 21.5, 109.0, 21.6)], EXTENT, layer="d")
    table = pd.DataFrame(
        {
            "area_m2": [100.0, 100.0, 100.0, 100.0, 100.0],
            "unchecked_m2": [0.0, 3e-9, 0.01, 5.0, 99.995],
        },
        index=[10, 11, 12, 13, 14],
    )
    got = count_unchecked(table, cov, source="p.gpkg")
    assert got is not None
    assert (got.partly, got.wholly, got.first_feature_ids) == (1, 1, ["13", "14"])
    assert count_unchecked(table.iloc[:3], cov, source="p.gpkg") is None
