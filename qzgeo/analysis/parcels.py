"""Parcel analysis (地块分析): zone, constraint overlaps, available area and conflict per parcel.

The measuring is done by :mod:`qzgeo.analysis.overlay`; this module assembles the result table
and its summaries. The same :class:`ParcelPlan` drives the single-machine path and the Dask path
(:mod:`qzgeo.analysis.distributed`), so both give identical numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import CRS

from qzgeo._errors import CRSError, GeometryError
from qzgeo.analysis.overlay import (
    OverlayPlan,
    OverlayReport,
    overlay_areas,
    overlay_areas_and_groups,
    plan_overlay,
)
from qzgeo.analysis.overlay_plan import DEFAULT_MAX_VERTICES, Target
from qzgeo.analysis.parcel_columns import SOURCE_FID, keep_own_columns
from qzgeo.analysis.parcel_extent import UNCHECKED, inner_box, settle_unchecked
from qzgeo.analysis.zone_pick import largest_zone
from qzgeo.analysis.zones import merge_constraints, planar_zones
from qzgeo.geo.area import fixed_point_m2, from_fixed_point_m2, m2_to_ha, m2_to_mu
from qzgeo.geo.coverage import CheckedArea, as_coverage
from qzgeo.geo.crs import STORAGE_CRS, cached_transformer, gk_zone_of_epsg
from qzgeo.geo.repair import RepairReport, repair_layer
from qzgeo.geo.repair_notices import file_notices
from qzgeo.io.input_checks import enforce_extent, refuse_wholly_outside
from qzgeo.notices import notices_of
from qzgeo.pack.load import LoadedPack

__all__ = [
    "ParcelPlan",
    "analyze_parcels",
    "build_parcel_plan",
    "clean_parcels",
    "finish_parcels",
    "inner_box",
    "measure_parcels",
    "overlay_crs",
    "parcel_summary",
    "summary_from_totals",
    "surely_inside",
    "zone_totals",
]

NO_ZONE = ""  # zone_layer / zone_name of a parcel outside every zone


@dataclass(frozen=True)
class ParcelPlan:
    """Everything a worker needs to measure parcels: picklable, built once per pack."""

    planar_crs_wkt: str
    overlay: OverlayPlan
    zone_geoms: tuple[shapely.Geometry, ...]
    zone_layers: tuple[str, ...]
    zone_fids: tuple[int, ...]
    zone_names: tuple[str, ...]
    sensitivity: str = "internal"
    zone_target: Target | None = None  # the zones prepared for the engine (subdivided)
    # the area the plan covers: the pack's lon/lat extent box, or its coverage (a Coverage)
    extent: CheckedArea | None = None

    @property
    def planar_crs(self) -> CRS:
        return CRS.from_wkt(self.planar_crs_wkt)


def overlay_crs(parcels_crs: Any, default: CRS) -> CRS:
    """The planar CRS to overlay parcels in: their own if it is a CGCS2000 Gauss-Krüger zone.

    Parcels are many and the plan's constraints and zones are few: transforming the plan into
    the parcels' zone instead of the parcels into the pack's saves a reprojection of every
    parcel. Any other CRS (lon/lat, Web Mercator, another datum) falls back to ``default``.

    Examples
    --------
    >>> overlay_crs("EPSG:4528", CRS.from_epsg(4549)).to_epsg()
    4528
    >>> overlay_crs("EPSG:4490", CRS.from_epsg(4549)).to_epsg()
    4549
    """
    if parcels_crs is None:
        return default
    crs = CRS.from_user_input(parcels_crs)
    epsg = crs.to_epsg(min_confidence=70) if crs.is_projected else None
    if epsg is not None and (gk_zone_of_epsg(epsg) or gk_zone_of_epsg(epsg, width=6)):
        return crs
    return default


def build_parcel_plan(loaded: LoadedPack, *, planar_crs: CRS | None = None) -> ParcelPlan:
    """Merge the pack's constraint classes and collect its zones, in the planar CRS.

    ``planar_crs`` (default the pack's) is where the overlay runs; see :func:`overlay_crs`.
    """
    if planar_crs is not None and not planar_crs.equals(loaded.planar_crs):
        loaded = replace(loaded, planar_crs=planar_crs)
    pack, planar = loaded.pack, loaded.planar_crs
    constraints = merge_constraints(pack, loaded.layers, planar_crs=planar)
    geoms: list[shapely.Geometry] = []
    layers: list[str] = []
    fids: list[int] = []
    names: list[str] = []
    for z in planar_zones(loaded):
        geoms.append(z.geometry)
        layers.append(z.layer_id)
        fids.append(z.fid)
        names.append(z.name)
    # derived from every constraint, zone and coverage layer: internal if any of them is
    internal = any(c.sensitivity != "public" for c in constraints) or any(
        not s.is_public for s in pack.parcel_layers()
    )
    return ParcelPlan(
        planar_crs_wkt=planar.to_wkt(),
        overlay=plan_overlay(constraints),
        zone_geoms=tuple(geoms),
        zone_layers=tuple(layers),
        zone_fids=tuple(fids),
        zone_names=tuple(names),
        sensitivity="internal" if internal else "public",
        zone_target=zone_target(geoms) if geoms else None,
        extent=loaded.coverage or pack.extent,
    )


def measure_parcels(
    parcels: gpd.GeoDataFrame,
    plan: ParcelPlan,
    *,
    workers: int = 2,
    chunk_size: int = 20_000,
    progress: bool = False,
) -> tuple[pd.DataFrame, OverlayReport]:
    """The numbers of :func:`analyze_parcels` for parcels already in the plan's planar CRS.

    Returns a DataFrame indexed like ``parcels`` with the overlay columns of
    :func:`qzgeo.analysis.overlay.overlay_areas` plus ``zone`` (position of the zone with the
    largest overlap in the plan, -1 for none) and ``zone_m2``.
    """
    zone = np.full(len(parcels), -1, dtype=np.int64)
    zone_m2 = np.zeros(len(parcels))
    zones = plan.zone_target
    if zones is None and plan.zone_geoms:
        zones = zone_target(plan.zone_geoms)
    if zones is None or not len(parcels):
        df, report = overlay_areas(
            parcels, plan.overlay, workers=workers, chunk_size=chunk_size, progress=progress
        )
    else:
        df, pairs, report = overlay_areas_and_groups(
            parcels, plan.overlay, zones, workers=workers, chunk_size=chunk_size, progress=progress
        )
        zone, zone_m2 = largest_zone(pairs, df["area_m2"].to_numpy(dtype=float))
    df = settle_unchecked(df, parcels, plan.overlay, plan.extent, report=report)
    df["zone"] = zone
    df["zone_m2"] = zone_m2
    return df, report


def zone_target(geoms: Sequence[shapely.Geometry]) -> Target:
    """Zones as an engine target: group ``k`` is the k-th zone (zones may overlap)."""
    labels = [str(k) for k in range(len(geoms))]
    return Target.build("groups", list(geoms), labels, max_vertices=DEFAULT_MAX_VERTICES)


def to_planar(parcels: gpd.GeoDataFrame, planar: CRS) -> gpd.GeoDataFrame:
    if parcels.crs is None:
        msg = "the parcels have no CRS; declare it with --crs EPSG:... (qzgeo never guesses)"
        raise CRSError(msg)
    if CRS.from_user_input(parcels.crs).equals(planar):
        return parcels  # overlaid in the parcels' own zone: no transform (see overlay_crs)
    return parcels.to_crs(planar)


def finish_parcels(
    parcels: gpd.GeoDataFrame, measured: pd.DataFrame, plan: ParcelPlan
) -> gpd.GeoDataFrame:
    """Assemble the result table: parcel attributes, zone, areas in m²/公顷/亩, geometry.

    The geometry is the parcels' own, in their own CRS: the vertices GIS staff read in come
    back untouched (a reprojection would move every vertex by rounding and cost a transform of
    every parcel), so the results join back to their layer by geometry as well as by id.
    """
    zone = measured["zone"].to_numpy()
    has = zone >= 0
    # the few zone names as pandas will hold them, then taken per parcel: no per-parcel
    # Python strings to convert (pandas' str dtype is Arrow-backed)
    zl = pd.Series(np.array([*plan.zone_layers, NO_ZONE], dtype=object)).array
    zn = pd.Series(np.array([*plan.zone_names, NO_ZONE], dtype=object)).array
    zf = np.array([*plan.zone_fids, -1], dtype=np.int64)
    pick = np.where(has, zone, len(plan.zone_layers))
    # columns collected first and framed once: inserting ~20 columns one by one into a frame
    # costs pandas more than computing them (a new column index per insertion)
    out: dict[str, Any] = {
        col: parcels[col].array for col in parcels.columns if col != parcels.geometry.name
    }
    # the feature id in the input (a GeoPackage's primary key, a Shapefile's record number):
    # the rows of a big file are written tile by tile, and some files have no other id
    out[SOURCE_FID] = parcels.index.to_numpy()
    out["zone_layer"] = zl.take(pick)
    out["zone_fid"] = zf[pick]
    out["zone_name"] = zn.take(pick)
    out["zone_m2"] = measured["zone_m2"].to_numpy()
    area = measured["area_m2"].to_numpy()
    out["area_m2"] = area
    out["area_ha"] = m2_to_ha(area)
    out["area_mu"] = m2_to_mu(area)
    for col in plan.overlay.columns:
        out[col] = measured[col].to_numpy()
    out["inside_boundary"] = measured["inside_boundary"].to_numpy()
    out["constrained_m2"] = measured["constrained_m2"].to_numpy()
    avail = measured["available_m2"].to_numpy()
    out["available_m2"] = avail
    out["available_ha"] = m2_to_ha(avail)
    out["available_mu"] = m2_to_mu(avail)
    out[UNCHECKED] = measured[UNCHECKED].to_numpy()
    out["conflict"] = measured["conflict"].to_numpy()
    if "geometry" not in out:  # framed with its geometry at once (a GeoSeries costs ~3 ms)
        out["geometry"] = parcels.geometry.values
        return gpd.GeoDataFrame(out, index=parcels.index, geometry="geometry", crs=parcels.crs)
    geom = gpd.GeoSeries(parcels.geometry.values, index=parcels.index, crs=parcels.crs)
    return gpd.GeoDataFrame(pd.DataFrame(out, index=parcels.index), geometry=geom, crs=parcels.crs)


def analyze_parcels(
    parcels: gpd.GeoDataFrame,
    loaded: LoadedPack,
    *,
    workers: int = 2,
    chunk_size: int = 20_000,
    progress: bool = False,
    report: OverlayReport | None = None,
    plan: ParcelPlan | None = None,
) -> gpd.GeoDataFrame:
    """Zone, constraint overlaps, available area and conflict flag of every parcel.

    Parameters
    ----------
    parcels
        Repaired polygons in any CRS (see :func:`qzgeo.geo.repair.repair_layer`).
    loaded
        A pack from :func:`qzgeo.pack.load.load_pack_layers`.
    workers, chunk_size, progress
        Passed to :func:`qzgeo.analysis.overlay.overlay_areas`.
    report
        Collects overlay retries, dropped parts and conservation failures.
    plan
        A prebuilt :func:`build_parcel_plan` (to analyze several parcel files).

    Returns
    -------
    GeoDataFrame in the parcels' CRS with their geometry as given, indexed like ``parcels``:
    the parcel attributes; ``zone_layer``, ``zone_fid``, ``zone_name`` (the zone with the
    largest overlap, empty if none; see :func:`~qzgeo.analysis.zone_pick.largest_zone`) and
    ``zone_m2``; ``area_m2/ha/mu``; one
    ``"{layer}:{class}"`` column per constraint class (m² of overlap; for a boundary class the
    m² inside it); ``inside_boundary`` (share inside the 城镇开发边界); ``constrained_m2``;
    ``available_m2/ha/mu``; ``unchecked_m2`` (the part outside the pack's extent or its
    coverage, see :mod:`qzgeo.analysis.parcel_extent`); ``conflict``. All areas are
    ellipsoidal (CGCS2000).
    """
    plan = plan or build_parcel_plan(loaded, planar_crs=overlay_crs(parcels.crs, loaded.planar_crs))
    planar = to_planar(parcels, plan.planar_crs)
    measured, rep = measure_parcels(
        planar, plan, workers=workers, chunk_size=chunk_size, progress=progress
    )
    if report is not None:
        report.extend(rep)
    return finish_parcels(parcels, measured, plan)


ZONE_KEYS = ["zone_layer", "zone_fid", "zone_name"]


def parcel_summary(result: gpd.GeoDataFrame, plan: ParcelPlan) -> pd.DataFrame:
    """Per-zone totals (公顷, 亩, counts) with a 合计 row; Chinese headers.

    One ``groupby`` over the zone columns: no per-parcel Python.
    """
    return summary_from_totals(zone_totals(result, plan), plan)


def zone_totals(
    result: pd.DataFrame, plan: ParcelPlan, *, zone: npt.NDArray[np.int64] | None = None
) -> pd.DataFrame:
    """Sums of the area columns and the parcel count ``n`` per zone, of one result (chunk).

    Totals of several chunks add up: ``pd.concat`` them and pass them to
    :func:`summary_from_totals`. ``zone``: each row's zone (the ``zone`` column of
    :func:`measure_parcels`), which groups the rows as their zone columns do (those are a
    function of it) without hashing three text columns; the rows of each group are summed in
    integers (exact, in any order), the groups in the order they first appear.
    """
    areas = ["area_m2", "constrained_m2", "available_m2", UNCHECKED, *plan.overlay.columns]
    names = [f"{c}{part}" for c in areas for part in (_HI, _LO)] + ["conflict", "n"]
    ints = np.empty((len(names), len(result)), dtype=np.int64)  # a row per column: written whole
    for k, c in enumerate(areas):  # integer parts: their sums do not depend on the order
        ints[2 * k], ints[2 * k + 1] = fixed_point_m2(result[c].to_numpy(dtype=float))
    ints[-2] = result["conflict"].to_numpy(dtype=np.int64)
    ints[-1] = 1
    if zone is None:
        codes = result.groupby(ZONE_KEYS, sort=False, dropna=False).ngroup().to_numpy()
    else:
        codes = np.asarray(zone, dtype=np.int64)
    order = np.argsort(codes, kind="stable")
    heads = np.flatnonzero(np.r_[True, codes[order][1:] != codes[order][:-1]])[: len(order)]
    sums = np.add.reduceat(ints[:, order], heads, axis=1) if len(order) else ints[:, :0]
    first = order[heads]  # each group's first row (a stable sort keeps rows in order)
    seen = np.argsort(first, kind="stable")
    data: dict[str, Any] = {c: result[c].array.take(first[seen]) for c in ZONE_KEYS}
    data.update(zip(names, sums[:, seen], strict=True))
    return pd.DataFrame(data)  # framed once (see finish_parcels)


#: Suffixes of the integer parts of an area column in :func:`zone_totals`.
_HI, _LO = "@hi", "@lo"


def _total(t: pd.Series | dict[str, Any], col: str) -> float:
    """An area total (m²) from its integer parts (:func:`qzgeo.geo.area.fixed_point_m2`)."""
    return from_fixed_point_m2(int(t[col + _HI]), int(t[col + _LO]))


def summary_from_totals(totals: pd.DataFrame, plan: ParcelPlan) -> pd.DataFrame:
    """The table of :func:`parcel_summary` from :func:`zone_totals` (of one or many chunks)."""
    groups = totals.groupby(ZONE_KEYS, sort=False, dropna=False).sum().reset_index()
    sums = [c for c in groups.columns if c not in ZONE_KEYS]
    order = sorted(
        range(len(groups)),
        key=lambda i: (
            groups["zone_layer"].iat[i] == NO_ZONE,
            groups["zone_layer"].iat[i],
            groups["zone_fid"].iat[i],
            groups["zone_name"].iat[i],
        ),
    )
    rows = [
        _summary_row(
            str(groups["zone_layer"].iat[i] or "(无)"),
            str(groups["zone_name"].iat[i] or "(不在分区内)"),
            {c: int(groups[c].to_numpy()[i]) for c in sums},
            plan,
        )
        for i in order
    ]
    totals_row = {c: int(groups[c].sum()) for c in sums}  # Python ints: exact, unbounded
    rows.append(_summary_row("合计", "", totals_row, plan))
    return pd.DataFrame(rows)


def _summary_row(layer: str, name: str, t: dict[str, Any], plan: ParcelPlan) -> dict[str, Any]:
    r: dict[str, Any] = {"分区图层": layer, "分区": name, "地块数": int(t["n"])}
    for label, col in SUMMARY_AREAS:
        r.update(_in_units(label, _total(t, col)))
    r["冲突地块数"] = int(t["conflict"])
    for col in plan.overlay.columns:
        r.update(_in_units(col, _total(t, col)))
    return r


#: The summary's areas: header, column of the result. Each is given in m², 公顷 and 亩
#: (:data:`SUMMARY_UNITS`), so that no figure needs converting by hand.
SUMMARY_AREAS = (
    ("面积", "area_m2"),
    ("受约束", "constrained_m2"),
    ("可用", "available_m2"),
    ("未核查", UNCHECKED),
)
#: Suffixes of the summary's area columns, one per unit.
SUMMARY_UNITS = ("_m²", "_公顷", "_亩")


def _in_units(label: str, m2: float) -> dict[str, float]:
    ha, mu = float(m2_to_ha(m2)), float(m2_to_mu(m2))
    return dict(zip((label + u for u in SUMMARY_UNITS), (m2, ha, mu), strict=True))


def clean_parcels(
    parcels: gpd.GeoDataFrame,
    *,
    extent: CheckedArea | None,
    source: str,
    repairs: RepairReport,
    where: str | None = None,
    scope: str | None = None,
) -> gpd.GeoDataFrame:
    """Parcels as read, checked and repaired for the analysis (the whole file or one chunk).

    ``scope`` names the features of a chunk, for the extent check's message.

    The reader's repairs (a ring closed) go to ``repairs.records``; its other notices and the
    extent check (parcels wholly outside ``extent`` are refused) to ``repairs.warnings`` (each
    message once). Invalid geometries are repaired or dropped and reported; then
    :func:`check_parcels` (``where`` names them, default ``source``). With the pack's coverage
    (:class:`~qzgeo.geo.coverage.Coverage`) as ``extent``, parcels wholly outside its box are
    refused all the same; those outside the coverage get no notice each
    (:func:`qzgeo.analysis.parcel_extent.count_unchecked` counts them in one).
    """
    notes = notices_of(parcels)
    area = as_coverage(extent)
    if area is not None and len(parcels):
        # Parcels surely inside need no exact check (which moves every vertex to lon/lat).
        sure = surely_inside(parcels, area.extent)
        if area.is_box:
            notes.extend(enforce_extent(parcels[~sure], area.extent, source=source, scope=scope))
        else:  # the parcels outside the coverage: counted from the results (count_unchecked)
            refuse_wholly_outside(parcels[~sure], area.extent, source=source, scope=scope)
    file_notices(notes, repairs, layer="parcels")  # a ring closed on read is a repair
    parcels = keep_own_columns(parcels, repairs)
    parcels = repair_layer(parcels, layer_id="parcels", report=repairs, family="polygon")
    if not parcels.empty or where is None:
        check_parcels(parcels, where=where or source, dropped=repairs.dropped)
    return parcels


#: Parcels whose bounding box spans more than this (m) always get the exact extent check.
_FAST_EXTENT_SPAN_M = 2_000.0
#: Margin (degrees, ~1 m) kept from the extent's edge by the fast test: a straight edge of
#: 2 km bows by < 0.1 m between its corners in lon/lat.
_FAST_EXTENT_MARGIN_DEG = 1e-5


def surely_inside(
    parcels: gpd.GeoDataFrame, extent: tuple[float, float, float, float]
) -> npt.NDArray[np.bool_]:
    """Parcels wholly inside the lon/lat ``extent`` by their bounding box alone.

    In a projected CRS a box inside :func:`inner_box` (the extent's image, shrunk to an
    axis-aligned rectangle) is inside without moving a point; the others are tested by their
    box's 4 corners in lon/lat. ``False`` means "not sure" (near the edge, big, missing or
    empty): such parcels need the exact check (:func:`qzgeo.io.input_checks.enforce_extent`).
    """
    crs = CRS.from_user_input(parcels.crs)
    b = shapely.bounds(np.asarray(parcels.geometry.values, dtype=object))
    finite = np.isfinite(b).all(axis=1)
    sure = np.zeros(len(b), dtype=bool)
    rect = None if crs.is_geographic else inner_box(crs.to_wkt(), extent)
    if rect is not None:
        with np.errstate(invalid="ignore"):
            sure = (b[:, 0] >= rect[0]) & (b[:, 1] >= rect[1])
            sure &= (b[:, 2] <= rect[2]) & (b[:, 3] <= rect[3])
    rest = np.flatnonzero(~sure & finite)
    if len(rest):
        sure[rest] = _corners_inside(crs, b[rest], extent)
    return np.asarray(sure & finite, dtype=bool)


def _corners_inside(
    crs: CRS, b: npt.NDArray[np.float64], extent: tuple[float, float, float, float]
) -> npt.NDArray[np.bool_]:
    to_ll = cached_transformer(crs.to_wkt(), STORAGE_CRS)
    with np.errstate(invalid="ignore"):
        lon, lat = to_ll.transform(b[:, [0, 2, 2, 0]].ravel(), b[:, [1, 1, 3, 3]].ravel())
        lon, lat = np.reshape(lon, (-1, 4)), np.reshape(lat, (-1, 4))
        m = _FAST_EXTENT_MARGIN_DEG
        sure = (
            (lon.min(axis=1) >= extent[0] + m)
            & (lat.min(axis=1) >= extent[1] + m)
            & (lon.max(axis=1) <= extent[2] - m)
            & (lat.max(axis=1) <= extent[3] - m)
        )
        if not crs.is_geographic:  # lon/lat boxes are exact; projected ones bow a little
            span = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
            sure &= span <= _FAST_EXTENT_SPAN_M
    return np.asarray(sure, dtype=bool)


def check_parcels(
    parcels: gpd.GeoDataFrame, *, where: str = "parcels", dropped: Sequence[Any] = ()
) -> None:
    """Raise a clear error if the parcels cannot be analyzed (no rows, not polygons).

    ``dropped``: the repair records of the features dropped on the way (named, not "no
    features", when none is left).
    """
    if parcels.empty:
        msg = f"{where} has no features; give a polygon layer of parcels"
        if dropped:
            said = "; ".join(f"feature {r.feature_id}: {r.reason}" for r in dropped[:5])
            msg = f"{where}: none of its {len(dropped)} feature(s) is a usable polygon ({said})"
            msg += "; give the parcels' polygon layer, or fix the features named"
        raise GeometryError(msg)
    types = shapely.get_type_id(np.asarray(parcels.geometry.values, dtype=object))
    if not np.isin(types, (3, 6)).all():
        kinds = sorted(set(parcels.geometry.geom_type.dropna()))
        msg = f"{where} must hold polygons, got {', '.join(kinds)}; give a polygon layer"
        raise GeometryError(msg)
