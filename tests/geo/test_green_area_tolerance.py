"""The Green/GEOS agreement is as tight as documented: 1e-9 of the parcel (+1e-6 m²), so a
piece off by a few 1e-9 of a large parcel is sent to the second overlay, not accepted. The
looser cap (1e-8) binds only for parcels under ~111 m²."""

from __future__ import annotations

import numpy as np

from qzgeo.geo.green_area import agrees


def test_a_piece_off_by_5e_9_of_a_large_parcel_disagrees() -> None:
    parcel = np.array([1e4, 1e8, 1e8, 50.0, 50.0])
    geos = parcel.copy()
    # Tolerances by the documented formula: 1.1e-5, 0.100001, 0.100001, 5e-7 (capped), ...
    off = np.array([5e-5, 0.5, 0.09, 4e-7, 6e-7])
    got = agrees(geos + off, np.ones(5, dtype=bool), geos, parcel)
    assert got.tolist() == [False, False, True, True, False]
