"""A reader's notices filed in a :class:`~qzgeo.geo.repair.RepairReport`.

A reader that changed a feature on read (a 界址点 ring closed, rings GDAL paired wrongly) says
so in a ``repair`` notice: the report lists it with the repairs and counts the feature as
repaired, as ``check`` lists it under a site's repairs. Filed as a warning, ``analyze`` said
"0 feature(s) repaired" of a file whose rings it had closed.
"""

from __future__ import annotations

from qzgeo.geo.repair import RepairRecord, RepairReport
from qzgeo.notices import Notices

__all__ = ["file_notices"]


def file_notices(notes: Notices, report: RepairReport, *, layer: str) -> None:
    """Repairs of one feature into ``report.records``, every other notice into its warnings.

    A repair notice about no one feature stays a warning: a repair record names its feature.
    """
    for n in notes:
        if n.kind == "repair" and n.feature is not None:
            feature = n.feature.item() if hasattr(n.feature, "item") else n.feature
            # the areas are not measured on read: None, not a number that was never taken
            report.add(RepairRecord(layer, str(feature), n.message, "repaired", None, None))
        elif n.message not in report.warnings:
            report.warnings.append(n.message)
