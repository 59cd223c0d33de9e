"""Geometry validation and repair, with a report of every feature touched.

Nothing is dropped silently: each repaired or dropped feature becomes a :class:`RepairRecord`
(layer, feature id, reason, action, area before and after), written to ``report.json``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from qzgeo.geo.area import ellipsoidal_area

_FAMILIES = {
    "Polygon": "polygon",
    "MultiPolygon": "polygon",
    "LineString": "line",
    "MultiLineString": "line",
    "LinearRing": "line",
    "Point": "point",
    "MultiPoint": "point",
}


@dataclass(frozen=True)
class RepairRecord:
    layer: str
    feature_id: str
    reason: str
    action: str  # "repaired", "dropped" or "parts dropped"
    area_before_m2: float | None
    area_after_m2: float | None


@dataclass
class RepairReport:
    """Every repair and drop of one run."""

    records: list[RepairRecord] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def add(self, record: RepairRecord) -> None:
        self.records.append(record)

    def extend(self, other: RepairReport) -> None:
        self.records.extend(other.records)
        self.warnings.extend(other.warnings)

    @property
    def dropped(self) -> list[RepairRecord]:
        return [r for r in self.records if r.action == "dropped"]

    def summary(self) -> str:
        if not self.records and not self.warnings:
            return "no features repaired or dropped"
        n_rep = sum(r.action != "dropped" for r in self.records)
        return (
            f"{n_rep} feature(s) repaired, {len(self.dropped)} dropped, "
            f"{len(self.warnings)} warning(s); see report.json"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "repairs": [asdict(r) for r in self.records],
            "warnings": list(self.warnings),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def geometry_family(gdf: gpd.GeoDataFrame) -> str | None:
    """'polygon', 'line' or 'point': the family of most non-empty geometries."""
    types = gdf.geometry.geom_type.dropna()
    fams = types.map(_FAMILIES).dropna()
    if fams.empty:
        return None
    counts = fams.value_counts()
    # On a tie prefer polygons, then lines: dropping the points of a parcel layer is the
    # expected reading, dropping its parcels is not.
    rank = {"polygon": 0, "line": 1, "point": 2}
    return str(min(counts.index, key=lambda f: (-counts[f], rank[str(f)])))


def _area(geom: BaseGeometry | None, geographic: bool) -> float | None:
    if geom is None or geom.is_empty or _FAMILIES.get(geom.geom_type) != "polygon":
        return None
    if geographic:
        return float(ellipsoidal_area([geom])[0])
    return float(geom.area)


def polygonal_part(geom: BaseGeometry) -> BaseGeometry:
    """Keep only the polygonal parts of a geometry (e.g. out of a GeometryCollection)."""
    parts = shapely.get_parts(geom)
    polys = [p for p in parts if p.geom_type in ("Polygon", "MultiPolygon")]
    flat = [q for p in polys for q in shapely.get_parts(p)]
    if not flat:
        return shapely.Polygon()
    return shapely.MultiPolygon(flat) if len(flat) > 1 else flat[0]


def _has_m(geom: BaseGeometry) -> bool:
    has_m = getattr(shapely, "has_m", None)  # shapely >= 2.1
    return bool(has_m(geom)) if has_m is not None else False


def _non_polygonal_parts(geom: BaseGeometry) -> str:
    kinds = [p.geom_type for p in shapely.get_parts(geom)]
    kinds = [k for k in kinds if k not in ("Polygon", "MultiPolygon")]
    return ", ".join(f"{kinds.count(k)} {k}" for k in sorted(set(kinds)))


def overlay_op(
    a: BaseGeometry,
    b: BaseGeometry,
    *,
    op: str = "intersection",
    grid_size: float = 0.001,
    report: RepairReport | None = None,
    context: str = "",
) -> BaseGeometry:
    """``shapely.<op>(a, b)``, retried on a snapping grid if GEOS raises a TopologyException.

    Near-coincident boundaries (vertices a few nanometres apart) can make GEOS overlays fail.
    The retry snaps both inputs to ``grid_size`` (in CRS units: 1 mm in a metric CRS) and is
    noted in ``report.warnings``.

    Examples
    --------
    >>> from shapely import box
    >>> overlay_op(box(0, 0, 2, 2), box(1, 1, 3, 3)).area
    1.0
    """
    func = getattr(shapely, op)
    try:
        return func(a, b)
    except shapely.errors.GEOSException as exc:
        try:
            result = func(a, b, grid_size=grid_size)
        except shapely.errors.GEOSException as exc2:
            from qzgeo._errors import GeometryError

            msg = f"{op} failed{f' ({context})' if context else ''}: {exc2}; repair the inputs"
            raise GeometryError(msg) from exc2
        if report is not None:
            report.warnings.append(
                f"{op}{f' ({context})' if context else ''}: GEOS failed ({exc}); retried on a "
                f"{grid_size} grid"
            )
        return result


def repair_layer(
    gdf: gpd.GeoDataFrame,
    *,
    layer_id: str,
    report: RepairReport,
    family: str | None = None,
) -> gpd.GeoDataFrame:
    """Validate every geometry of a layer; repair what can be repaired, drop and report the rest.

    Parameters
    ----------
    gdf
        The layer; its index values are used as feature ids in the report.
    layer_id
        Name used in the report.
    report
        Collects a :class:`RepairRecord` for every feature touched.
    family
        Expected geometry family ('polygon', 'line', 'point'); default: the majority family.

    Returns
    -------
    The layer with repaired geometries and without the dropped features, index preserved.

    Examples
    --------
    >>> from shapely import Polygon
    >>> bowtie = Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])
    >>> gdf = gpd.GeoDataFrame(geometry=[bowtie], crs="EPSG:4545")
    >>> rep = RepairReport()
    >>> fixed = repair_layer(gdf, layer_id="demo", report=rep)
    >>> bool(fixed.geometry.iloc[0].is_valid), rep.records[0].action
    (True, 'repaired')
    """
    geographic = bool(gdf.crs is not None and gdf.crs.is_geographic)
    family = family or geometry_family(gdf)
    geoms = gdf.geometry.values
    keep = np.ones(len(gdf), dtype=bool)
    out = np.array(geoms, dtype=object)

    def record(i: int, reason: str, action: str, before: Any, after: Any) -> None:
        report.add(
            RepairRecord(
                layer=layer_id,
                feature_id=str(gdf.index[i]),
                reason=reason,
                action=action,
                area_before_m2=before,
                area_after_m2=after,
            )
        )

    for i, geom in enumerate(geoms):
        if geom is None or geom.is_empty:
            record(i, "null or empty geometry", "dropped", None, None)
            keep[i] = False
            continue
        coords = shapely.get_coordinates(geom)
        if not np.isfinite(coords).all():
            record(i, "NaN or infinite coordinates", "dropped", None, None)
            keep[i] = False
            continue
        if shapely.has_z(geom) or _has_m(geom):
            dims = "Z" if not _has_m(geom) else ("M" if not shapely.has_z(geom) else "Z and M")
            geom = shapely.force_2d(geom)
            area2d = _area(geom, geographic)
            record(i, f"{dims} coordinates removed (2D analysis)", "repaired", area2d, area2d)
        fam = _FAMILIES.get(geom.geom_type)
        if family is not None and fam != family and geom.geom_type != "GeometryCollection":
            record(i, f"{geom.geom_type} in a {family} layer", "dropped", None, None)
            keep[i] = False
            continue
        if not geom.is_valid:
            reason = shapely.is_valid_reason(geom)
            before = _area(geom, geographic)
            try:
                fixed = shapely.make_valid(geom, method="structure", keep_collapsed=False)
            except shapely.errors.GEOSException as exc:
                record(i, f"invalid ({reason}); repair failed: {exc}", "dropped", before, 0.0)
                keep[i] = False
                continue
            if family == "polygon":
                poly = polygonal_part(fixed)
                if poly.is_empty:
                    record(
                        i, f"invalid ({reason}); nothing polygonal remains", "dropped", before, 0.0
                    )
                    keep[i] = False
                    continue
                fixed = poly
            record(i, f"invalid ({reason})", "repaired", before, _area(fixed, geographic))
            geom = fixed
        elif geom.geom_type == "GeometryCollection" and family == "polygon":
            poly = polygonal_part(geom)
            if poly.is_empty:
                record(i, "GeometryCollection without polygons", "dropped", None, None)
                keep[i] = False
                continue
            dropped = _non_polygonal_parts(geom)
            area_after = _area(poly, geographic)
            record(
                i,
                f"GeometryCollection: non-polygonal parts dropped ({dropped}; no area)",
                "parts dropped",
                area_after,
                area_after,
            )
            geom = poly
        out[i] = geom
    result = gdf.copy()
    result = result.set_geometry(gpd.GeoSeries(out, index=gdf.index, crs=gdf.crs))
    return result.loc[keep]
