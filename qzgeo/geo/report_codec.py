"""A :class:`~qzgeo.geo.repair.RepairReport` as JSON and back, for qzgeo's cache entries.

Cache entries hold JSON and bytes, never pickles (:mod:`qzgeo.cache_store`): a report kept
with a prepared pack or a siting context comes back equal, field for field.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from qzgeo.geo.repair import Flattened, Outside, RepairRecord, RepairReport

__all__ = ["report_from_json", "report_to_json"]


def report_to_json(report: RepairReport) -> dict[str, Any]:
    """``report`` as plain JSON values.

    Examples
    --------
    >>> rep = RepairReport(warnings=["w"])
    >>> report_from_json(report_to_json(rep)) == rep
    True
    """
    return {
        "records": [asdict(r) for r in report.records],
        "warnings": list(report.warnings),
        "flattened": [asdict(f) for f in report.flattened],
        "outside": [asdict(o) for o in report.outside],
    }


def report_from_json(data: dict[str, Any]) -> RepairReport:
    """The report :func:`report_to_json` gave ``data`` for."""
    return RepairReport(
        records=[RepairRecord(**r) for r in data["records"]],
        warnings=[str(w) for w in data["warnings"]],
        flattened=[Flattened(**f) for f in data["flattened"]],
        outside=[Outside(**o) for o in data["outside"]],
    )
