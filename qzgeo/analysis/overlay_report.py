"""What the overlay engine had to do beyond a plain overlay, as it goes into ``report.json``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["OverlayReport", "jsonable"]


@dataclass
class OverlayReport:
    """What the engine had to do beyond the plain overlay, for ``report.json``.

    ``retries``: pairs whose overlay raised a GEOS error and were redone with a 1 mm grid.
    ``dropped_parts``: non-polygonal pieces (lines, points where a parcel only touches a class)
    left out of an overlay result; their area is zero. ``conservation_failures``: parcels whose
    available + constrained area differs from the parcel area by more than 0.01 m² + 1e-9
    of it, or 1e-6 of it if less (``error_m2``).
    """

    retries: list[dict[str, Any]] = field(default_factory=list)
    dropped_parts: list[dict[str, Any]] = field(default_factory=list)
    conservation_failures: list[dict[str, Any]] = field(default_factory=list)

    def extend(self, other: OverlayReport) -> None:
        self.retries.extend(other.retries)
        self.dropped_parts.extend(other.dropped_parts)
        self.conservation_failures.extend(other.conservation_failures)

    def to_dict(self) -> dict[str, Any]:
        """The records, each list sorted so that the output does not depend on scheduling."""

        def ordered(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return sorted(records, key=lambda r: json.dumps(r, sort_keys=True, default=str))

        return {
            "retries": ordered(self.retries),
            "dropped_parts": ordered(self.dropped_parts),
            "conservation_failures": ordered(self.conservation_failures),
        }


def jsonable(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v if isinstance(v, int | float | str) else str(v)
