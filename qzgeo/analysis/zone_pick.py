"""The zone of each parcel: the one it overlaps most, by the overlaps the engine measured."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["ZONE_MIN_M2", "ZONE_TIE_ABS_M2", "ZONE_TIE_REL", "largest_zone"]

#: Zone overlaps of a parcel within ZONE_TIE_REL·largest + ZONE_TIE_ABS_M2 of the largest tie
#: with it (overlays round crossing points to ~1e-9 m: ~1e-6 m² over a kilometre of edge).
ZONE_TIE_REL = 1e-9
ZONE_TIE_ABS_M2 = 1e-6
#: An overlap of at most this (m², the overlay's conflict tolerance) puts a parcel in a zone
#: only if it is at least half the parcel: a parcel drawn against a zone's edge from outside,
#: with its own vertices on it, overlaps the zone by a sliver of ~1e-8 m² (``qzgeo check``
#: likewise: a shared edge is not a touch), while a parcel smaller than the tolerance is
#: still in the zone that holds it.
ZONE_MIN_M2 = 0.01


def largest_zone(
    pairs: pd.DataFrame, area_m2: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Each parcel's zone (-1 for none) and its overlap with it (m²).

    ``pairs``: the engine's (``pos``, ``group``, ``m2``) rows, ``pos`` the parcel's position
    and ``group`` the zone's; ``area_m2``: the parcels' areas, by position.
    """
    zone = np.full(len(area_m2), -1, dtype=np.int64)
    zone_m2 = np.zeros(len(area_m2))
    pairs = pairs[pairs["m2"] > np.minimum(ZONE_MIN_M2, 0.5 * area_m2[pairs["pos"].to_numpy()])]
    # Largest overlap wins; ties go to the zone listed first in the pack. Overlaps equal
    # but for rounding are ties: two zones drawn along the same line (a zone and the
    # district holding it) give one parcel overlaps measured from different vertices.
    pos, m2 = pairs["pos"].to_numpy(), pairs["m2"].to_numpy()
    top = np.zeros(len(area_m2))
    np.maximum.at(top, pos, m2)
    near = m2 >= top[pos] * (1.0 - ZONE_TIE_REL) - ZONE_TIE_ABS_M2
    best = pairs[near].sort_values(["pos", "group"]).drop_duplicates("pos")
    zone[best["pos"].to_numpy()] = best["group"].to_numpy()
    zone_m2[best["pos"].to_numpy()] = best["m2"].to_numpy()
    return zone, zone_m2
