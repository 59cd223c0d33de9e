"""Geometry validation and repair, with a report of every feature touched.

Nothing is dropped silently: each repaired or dropped feature becomes a :class:`RepairRecord`
(layer, feature id, reason, action, area before and after), written to ``report.json``.
Features whose only fault is a Z or M dimension (a PolygonZ Shapefile: every feature) are
made 2D in one array operation and counted per layer (:class:`Flattened`), not listed one by
one: their areas do not change, and a million identical records would bury the rest.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS, Transformer
from shapely.geometry.base import BaseGeometry

from qzgeo.geo.area import ellipsoidal_area
from qzgeo.geo.valid_fast import valid_mask

GEOMETRY_FAMILIES = {
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


#: Feature ids listed with a :class:`Flattened` count.
FLATTENED_IDS = 20


def first_ids(ids: Iterable[Any]) -> list[str]:
    """The :data:`FLATTENED_IDS` smallest feature ids (as numbers when they are), as text.

    The same whatever order the features were read in (chunks, tiles, in memory).
    """
    return heapq.nsmallest(FLATTENED_IDS, {str(v) for v in ids}, key=_id_key)


def _id_key(v: str) -> tuple[int, int | str]:
    return (0, int(v)) if v.lstrip("-").isdigit() else (1, v)


@dataclass
class Flattened:
    """Features of one layer whose only repair was removing a Z/M dimension (areas unchanged)."""

    layer: str
    reason: str
    features: int
    first_feature_ids: list[str]


@dataclass
class Outside:
    """Parcels of ``source`` with a part outside ``area`` (the pack's coverage) that no plan
    data check: too many to name one by one (a coverage hugs the land), so counted (all of
    it: ``wholly``; some: ``partly``), the first named."""

    source: str
    area: str  # as Coverage.describe() says it
    partly: int
    wholly: int
    first_feature_ids: list[str]

    def message(self) -> str:
        n, ids = self.partly + self.wholly, ", ".join(self.first_feature_ids)
        more = ", ..." if n > len(self.first_feature_ids) else ""
        return (
            f"{self.source}: {n} feature(s) lie outside {self.area} ({self.partly} partly, "
            f"{self.wholly} wholly; feature {ids}{more}); their parts outside are checked "
            "against no plan data: unchecked_m2 (未核查)"
        )


@dataclass
class RepairReport:
    """Every repair and drop of one run."""

    records: list[RepairRecord] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    flattened: list[Flattened] = field(default_factory=list)
    outside: list[Outside] = field(default_factory=list)  # a warning each, in to_dict

    def add(self, record: RepairRecord) -> None:
        self.records.append(record)

    def add_flattened(self, layer: str, reason: str, ids: list[str], count: int) -> None:
        """Count ``count`` features made 2D (``ids``: the first of them), merged per reason."""
        for f in self.flattened:
            if (f.layer, f.reason) == (layer, reason):
                f.features += count
                f.first_feature_ids = first_ids([*f.first_feature_ids, *ids])
                return
        self.flattened.append(Flattened(layer, reason, count, first_ids(ids)))

    def add_outside(self, o: Outside) -> None:
        """Count features outside a coverage, merged per source (chunks add up)."""
        for mine in self.outside:
            if (mine.source, mine.area) == (o.source, o.area):
                mine.partly, mine.wholly = mine.partly + o.partly, mine.wholly + o.wholly
                mine.first_feature_ids = first_ids([*mine.first_feature_ids, *o.first_feature_ids])
                return
        self.outside.append(Outside(o.source, o.area, o.partly, o.wholly, o.first_feature_ids))

    def extend(self, other: RepairReport) -> None:
        self.records.extend(other.records)
        self.warnings.extend(other.warnings)
        self.extend_flattened(other)

    def extend_flattened(self, other: RepairReport) -> None:
        """The counted notices of ``other`` (features made 2D, features outside a coverage)."""
        for f in other.flattened:
            self.add_flattened(f.layer, f.reason, f.first_feature_ids, f.features)
        for o in other.outside:
            self.add_outside(o)

    @property
    def dropped(self) -> list[RepairRecord]:
        return [r for r in self.records if r.action == "dropped"]

    def summary(self, *, see: str | None = "report.json") -> str:
        """One line for the terminal; ``see``: the file that lists it all (None: no pointer)."""
        if not self.records and not self.warnings and not self.flattened and not self.outside:
            return "no features repaired or dropped"
        # features, not records: one feature may have several (Z removed, then made valid)
        dropped = {(r.layer, r.feature_id) for r in self.dropped}
        cut = {(r.layer, r.feature_id) for r in self.records if r.action == "parts dropped"}
        cut -= dropped  # kept, but not whole: neither "repaired" nor "dropped" says that
        n_rep = len({(r.layer, r.feature_id) for r in self.records} - dropped - cut)
        n_rep += sum(f.features for f in self.flattened)
        parts = f", {len(cut)} with parts dropped" if cut else ""
        n_warn = len(self.warnings) + len(self.outside)
        line = f"{n_rep} feature(s) repaired{parts}, {len(dropped)} dropped, {n_warn} warning(s)"
        return f"{line}; see {see}" if see else line

    def to_dict(self) -> dict[str, Any]:
        return {
            "repairs": [asdict(r) for r in self.records],
            "made_2d": [
                asdict(f) for f in sorted(self.flattened, key=lambda f: (f.layer, f.reason))
            ],
            "warnings": [*self.warnings, *(o.message() for o in self.outside)],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def geometry_family(gdf: gpd.GeoDataFrame) -> str | None:
    """'polygon', 'line' or 'point': the family of most non-empty geometries."""
    types = gdf.geometry.geom_type.dropna()
    fams = types.map(GEOMETRY_FAMILIES).dropna()
    if fams.empty:
        return None
    counts = fams.value_counts()
    # On a tie prefer polygons, then lines: dropping the points of a parcel layer is the
    # expected reading, dropping its parcels is not.
    rank = {"polygon": 0, "line": 1, "point": 2}
    return str(min(counts.index, key=lambda f: (-counts[f], rank[str(f)])))


#: Area in m² of a polygonal geometry in the layer's CRS.
_Measure = Callable[[BaseGeometry], float]


def _measure_for(crs: CRS | None) -> _Measure:
    """Ellipsoidal area (CGCS2000/GRS80) in any CRS; planar only for data without a CRS."""
    if crs is None:
        return lambda g: float(g.area)
    if crs.is_geographic:
        return lambda g: float(ellipsoidal_area([g])[0])
    to_lonlat = Transformer.from_crs(crs, crs.geodetic_crs or "EPSG:4490", always_xy=True)

    def measure(g: BaseGeometry) -> float:
        lonlat = shapely.transform(g, lambda xy: np.column_stack(to_lonlat.transform(*xy.T)))
        return float(ellipsoidal_area([lonlat])[0])

    return measure


def _area(geom: BaseGeometry | None, measure: _Measure) -> float | None:
    if geom is None or geom.is_empty or GEOMETRY_FAMILIES.get(geom.geom_type) != "polygon":
        return None
    return measure(geom)


def polygonal_part(geom: BaseGeometry) -> BaseGeometry:
    """Keep only the polygonal parts of a geometry (e.g. out of a GeometryCollection)."""
    parts = shapely.get_parts(geom)
    polys = [p for p in parts if p.geom_type in ("Polygon", "MultiPolygon")]
    flat = [q for p in polys for q in shapely.get_parts(p)]
    if not flat:
        return shapely.Polygon()
    return shapely.MultiPolygon(flat) if len(flat) > 1 else flat[0]


def valid_polygonal(geom: BaseGeometry) -> BaseGeometry:
    """The valid polygonal part of ``geom`` (``make_valid``, method "structure").

    GEOS's "structure" method can return parts that share an edge, an invalid MultiPolygon
    (found by the repair fuzz test, GEOS 3.14); their union is the polygon it meant.
    """
    fixed = polygonal_part(shapely.make_valid(geom, method="structure", keep_collapsed=False))
    if not fixed.is_empty and not fixed.is_valid:
        fixed = polygonal_part(shapely.union_all(shapely.get_parts(fixed)))
    return fixed


def _has_m(geom: BaseGeometry) -> bool:
    has_m = getattr(shapely, "has_m", None)  # shapely >= 2.1
    return bool(has_m(geom)) if has_m is not None else False


def _non_polygonal_parts(geom: BaseGeometry) -> str:
    kinds = [p.geom_type for p in shapely.get_parts(geom)]
    kinds = [k for k in kinds if k not in ("Polygon", "MultiPolygon")]
    return ", ".join(f"{kinds.count(k)} {k}" for k in sorted(set(kinds)))


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
    >>> gdf = gpd.GeoDataFrame(geometry=[bowtie], crs="EPSG:4548")
    >>> rep = RepairReport()
    >>> fixed = repair_layer(gdf, layer_id="demo", report=rep)
    >>> bool(fixed.geometry.iloc[0].is_valid), rep.records[0].action
    (True, 'repaired')
    """
    family = family or geometry_family(gdf)
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    flagged = np.flatnonzero(_needs_repair(geoms, family))
    if len(flagged) == 0:
        return gdf.copy()
    measure = _measure_for(gdf.crs)  # a transformer (~1 ms): only if something is repaired
    keep = np.ones(len(gdf), dtype=bool)
    out = geoms.copy()
    flagged = _flatten_in_bulk(gdf, out, flagged, family, layer_id=layer_id, report=report)
    for i in flagged.tolist():
        fixed, notes = _repair_geometry(geoms[i], family, measure)
        for reason, action, before, after in notes:
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
        if fixed is None:
            keep[i] = False
        else:
            out[i] = fixed
    result = gdf.copy()
    result = result.set_geometry(gpd.GeoSeries(out, index=gdf.index, crs=gdf.crs))
    return result.loc[keep]


def _flatten_in_bulk(
    gdf: gpd.GeoDataFrame,
    out: npt.NDArray[np.object_],
    flagged: npt.NDArray[np.intp],
    family: str | None,
    *,
    layer_id: str,
    report: RepairReport,
) -> npt.NDArray[np.intp]:
    """Make 2D, in ``out``, the flagged features whose only fault is a Z or M dimension.

    They are counted in ``report`` (one :class:`Flattened` per dimension); the flagged
    features still needing the per-feature repair are returned (with their Z/M, so that
    their records say it).
    """
    has_m = getattr(shapely, "has_m", None)  # shapely >= 2.1
    if has_m is None or len(flagged) == 0:
        return flagged
    sub = out[flagged]
    z, m = shapely.has_z(sub), has_m(sub)
    dims = z | m
    if not dims.any():
        return flagged
    idx = flagged[dims]
    flat = shapely.force_2d(out[idx])
    fine = ~_needs_repair(flat, family)
    out[idx[fine]] = flat[fine]
    zf, mf = z[dims][fine], m[dims][fine]
    for label, sel in (("Z", zf & ~mf), ("M", mf & ~zf), ("Z and M", zf & mf)):
        if sel.any():
            ids = first_ids(gdf.index[idx[fine][sel]])
            reason = f"{label} coordinates removed (2D analysis)"
            report.add_flattened(layer_id, reason, ids, int(sel.sum()))
    return np.setdiff1d(flagged, idx[fine])


# shapely type id -> family ("" for GeometryCollection and missing values)
_TYPE_FAMILY = np.array(["point", "line", "line", "polygon", "point", "line", "polygon", ""])


def _needs_repair(geoms: npt.NDArray[np.object_], family: str | None) -> npt.NDArray[np.bool_]:
    """Features :func:`_repair_geometry` would touch, found with array operations.

    Missing or empty, Z or M, another family than ``family``, a collection in a polygon
    layer, or invalid (non-finite x/y included). Only these go through the per-feature repair.
    """
    n = len(geoms)
    bad = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    bad |= shapely.has_z(geoms)
    bad |= shapely.has_m(geoms)
    types = shapely.get_type_id(geoms)
    known = types >= 0
    if family is not None:
        fam = np.full(n, "", dtype=_TYPE_FAMILY.dtype)
        fam[known] = _TYPE_FAMILY[types[known]]
        bad |= known & (fam != family)  # GeometryCollections: fam "" != family
    # Validity is checked only where nothing else flagged the feature (not on missing ones);
    # GEOS finds NaN or infinite coordinates invalid ("Invalid Coordinate"), so they need no
    # pass over every vertex of their own. valid_mask answers as shapely.is_valid, certifying
    # simple convex rings in numpy (most parcels) and asking GEOS about the rest only.
    rest = np.flatnonzero(~bad)
    bad[rest] |= ~valid_mask(geoms[rest], types[rest])
    return bad


# (reason, action, area before, area after) of one repair or drop.
_Note = tuple[str, str, float | None, float | None]


def _repair_geometry(
    geom: BaseGeometry | None, family: str | None, measure: _Measure
) -> tuple[BaseGeometry | None, list[_Note]]:
    """One feature's geometry, repaired (``None``: dropped), and the notes of what was done."""
    if geom is None or geom.is_empty:
        return None, [("null or empty geometry", "dropped", None, None)]
    if not np.isfinite(shapely.get_coordinates(geom)).all():
        return None, [("NaN or infinite coordinates", "dropped", None, None)]
    notes: list[_Note] = []
    if shapely.has_z(geom) or _has_m(geom):
        dims = "Z" if not _has_m(geom) else ("M" if not shapely.has_z(geom) else "Z and M")
        geom = shapely.force_2d(geom)
        area2d = _area(geom, measure)
        notes.append((f"{dims} coordinates removed (2D analysis)", "repaired", area2d, area2d))
    fam = GEOMETRY_FAMILIES.get(geom.geom_type)
    if family is not None and fam != family and geom.geom_type != "GeometryCollection":
        return None, [*notes, (f"{geom.geom_type} in a {family} layer", "dropped", None, None)]
    if not geom.is_valid:
        fixed, note = _make_valid(geom, family, measure)
    elif geom.geom_type == "GeometryCollection" and family == "polygon":
        fixed, note = _polygons_of_collection(geom, measure)
    else:
        return geom, notes
    return fixed, [*notes, note]


def _make_valid(
    geom: BaseGeometry, family: str | None, measure: _Measure
) -> tuple[BaseGeometry | None, _Note]:
    reason = shapely.is_valid_reason(geom)
    before = _area(geom, measure)
    try:
        if family == "polygon":
            fixed = valid_polygonal(geom)
        else:
            fixed = shapely.make_valid(geom, method="structure", keep_collapsed=False)
    except shapely.errors.GEOSException as exc:
        return None, (f"invalid ({reason}); repair failed: {exc}", "dropped", before, 0.0)
    if family == "polygon" and fixed.is_empty:
        return None, (f"invalid ({reason}); nothing polygonal remains", "dropped", before, 0.0)
    return fixed, (f"invalid ({reason})", "repaired", before, _area(fixed, measure))


def _polygons_of_collection(
    geom: BaseGeometry, measure: _Measure
) -> tuple[BaseGeometry | None, _Note]:
    poly = polygonal_part(geom)
    if poly.is_empty:
        return None, ("GeometryCollection without polygons", "dropped", None, None)
    dropped = _non_polygonal_parts(geom)
    area_after = _area(poly, measure)
    reason = f"GeometryCollection: non-polygonal parts dropped ({dropped}; no area)"
    return poly, (reason, "parts dropped", area_after, area_after)
