"""Results of a siting check: one :class:`SiteReport` per site, JSON-ready."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import shapely

from qzgeo.geo.area import M2_PER_HA, M2_PER_MU
from qzgeo.geo.repair import RepairRecord, first_ids

__all__ = [
    "BoundaryShare",
    "Conflict",
    "SiteDistance",
    "SiteReport",
    "area_units",
    "constraint_notes",
    "exit_code",
]


@dataclass(frozen=True)
class SiteDistance:
    """Geodesic distance from a site to a layer the pack names in ``[[distances]]``."""

    layer: str
    label: str
    label_en: str
    distance_m: float | None  # None: the layer has no geometry

    def to_dict(self) -> dict[str, Any]:
        m = None if self.distance_m is None else round(self.distance_m, 2)
        return {
            "layer": self.layer,
            "label": self.label,
            "label_en": self.label_en,
            "distance_m": m,
        }


@dataclass(frozen=True)
class Conflict:
    """Overlap of a site with one constraint class (a boundary: the part outside it)."""

    layer: str
    cls: str  # conflict class, e.g. "永久基本农田" or "城镇开发边界外"
    mode: str
    area_m2: float
    share: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "class": self.cls,
            "mode": self.mode,
            **area_units(self.area_m2),
            "share": round(self.share, 6),
        }


@dataclass(frozen=True)
class BoundaryShare:
    """Share of a site inside and outside a boundary class (城镇开发边界)."""

    layer: str
    cls: str
    inside_share: float
    outside_share: float  # of the part checked: outside the extent/coverage is unchecked_share
    unchecked_share: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "layer": self.layer,
            "class": self.cls,
            "inside_share": round(self.inside_share, 6),
            "outside_share": round(self.outside_share, 6),
        }
        if self.unchecked_share > 0:
            out["unchecked_share"] = round(self.unchecked_share, 6)
        return out


@dataclass
class SiteReport:
    """The siting check of one site feature. ``geometry`` and ``patches`` are CGCS2000 lon/lat."""

    site: str
    source: str | None
    index: Any
    area_m2: float
    centroid: tuple[float, float]
    conflicts: list[Conflict]
    development_boundary: BoundaryShare | None
    zones: list[str]
    distances: list[SiteDistance] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    geometry: shapely.Geometry | None = None
    patches: list[tuple[Conflict, shapely.Geometry]] = field(default_factory=list)
    partly_outside: bool = False  # part of the site lies outside the pack's extent/coverage
    site_field: str | None = None  # the column ``site`` came from; None: file and feature id
    unchecked_m2: float = 0.0  # m² of the site outside the pack's extent/coverage

    @property
    def wholly_unchecked(self) -> bool:
        """No part of the site lies in the area the pack covers (a site inside the extent
        box but outside every polygon of its ``coverage_layer``): "未核查", not "部分未核查"."""
        slack = min(0.01 + 1e-9 * self.area_m2, 1e-6 * self.area_m2)
        return self.partly_outside and self.unchecked_m2 >= self.area_m2 - slack

    @property
    def verdict_label(self) -> tuple[str, str]:
        """How :attr:`verdict` is written for people (Chinese, English)."""
        if self.verdict == "incomplete" and self.wholly_unchecked:
            return NOT_CHECKED_LABEL
        return VERDICT_LABELS[self.verdict]

    @property
    def verdict(self) -> str:
        """``"conflict"`` if any constraint is hit or the site leaves a boundary; else
        ``"incomplete"`` if part of the site (or all of it) lies outside the pack's extent, or
        its coverage (``[pack] coverage_layer``): no plan data was checked there, not a
        confident "clear"; else ``"clear"``."""
        if self.conflicts:
            return "conflict"
        return "incomplete" if self.partly_outside else "clear"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with a fixed key order and rounding (m² to 0.01, shares to 1e-6)."""
        return {
            "site": self.site,
            "site_field": self.site_field,
            "source": self.source,
            "index": self.index,
            **area_units(self.area_m2),
            "centroid": [round(self.centroid[0], 7), round(self.centroid[1], 7)],
            "conflicts": [c.to_dict() for c in self.conflicts],
            "development_boundary": (
                self.development_boundary.to_dict() if self.development_boundary else None
            ),
            "zones": list(self.zones),
            "distances": [d.to_dict() for d in self.distances],
            # only for a site reaching outside the pack's extent or coverage, as
            # development_boundary's unchecked_share: the JSON of every other site is unchanged
            **({"unchecked_m2": round(self.unchecked_m2, 2)} if self.partly_outside else {}),
            "verdict": self.verdict,
            "warnings": list(self.warnings),
            "repairs": list(self.repairs),
        }


def area_units(m2: float) -> dict[str, float]:
    return {
        "area_m2": round(m2, 2),
        "area_ha": round(m2 / M2_PER_HA, 6),
        "area_mu": round(m2 / M2_PER_MU, 5),
    }


#: How each verdict is written in the text and HTML reports (Chinese, English).
VERDICT_LABELS = {
    "conflict": ("冲突", "conflict"),
    "incomplete": ("部分未核查", "incomplete: part outside the area the pack covers"),
    "clear": ("合规", "clear"),
}
#: An ``"incomplete"`` site none of which the pack covers.
NOT_CHECKED_LABEL = ("未核查", "not checked: outside the area the pack covers")


def exit_code(reports: Sequence[SiteReport]) -> int:
    """0 when every site is clear, 1 when any site conflicts or was only partly checked."""
    return 1 if any(r.verdict != "clear" for r in reports) else 0


def constraint_notes(records: Sequence[RepairRecord]) -> list[str]:
    """What every site's report says about the constraint features that were not read as drawn.

    A dropped feature is a red line no site was checked against: each is named. Repaired
    ones (a bowtie made valid, parts that were not polygons removed) are what the sites were
    checked against: one line per layer, action and reason, with the first feature ids and
    the area before and after, so a verdict never rests on a repair only stderr mentioned.
    """
    lines = [
        f"{r.layer}: feature {r.feature_id} dropped ({r.reason}); no site was checked against it"
        for r in records
        if r.action == "dropped"
    ]
    groups: dict[tuple[str, str, str], list[RepairRecord]] = {}
    for r in records:
        if r.action != "dropped":
            # "Self-intersection[x y]": one line per kind of fault, not per vertex
            kind = re.sub(r"\[[^\]]*\]", "", r.reason)
            groups.setdefault((r.layer, r.action, kind), []).append(r)
    for (layer, action, reason), group in groups.items():
        ids = first_ids(r.feature_id for r in group)
        more = ", ..." if len(group) > len(ids) else ""
        before = sum(r.area_before_m2 or 0.0 for r in group)
        after = sum(r.area_after_m2 or 0.0 for r in group)
        lines.append(
            f"{layer}: {len(group)} feature(s) {action}, {reason}: feature "
            f"{', '.join(ids)}{more}; {before:.2f} m² as drawn, {after:.2f} m² as checked; "
            "every site was checked against the repaired outline"
        )
    return lines
