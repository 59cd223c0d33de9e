"""Parcel analysis (地块分析): zone, constraint overlaps, available area and conflict per parcel.

The measuring is done by :mod:`qzgeo.analysis.overlay`; this module assembles the result table
and its summaries. The same :class:`ParcelPlan` drives the single-machine path and the Dask path
(:mod:`qzgeo.analysis.distributed`), so both give identical numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from qzgeo._errors import CRSError, GeometryError
from qzgeo.analysis.overlay import (
    OverlayPlan,
    OverlayReport,
    overlay_areas,
    overlay_groups,
    plan_overlay,
)
from qzgeo.analysis.zones import merge_constraints, planar_zones
from qzgeo.geo.area import m2_to_ha, m2_to_mu
from qzgeo.pack.load import LoadedPack

__all__ = [
    "ParcelPlan",
    "analyze_parcels",
    "build_parcel_plan",
    "finish_parcels",
    "measure_parcels",
    "parcel_summary",
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

    @property
    def planar_crs(self) -> CRS:
        return CRS.from_wkt(self.planar_crs_wkt)


def build_parcel_plan(loaded: LoadedPack) -> ParcelPlan:
    """Merge the pack's constraint classes and collect its zones, in the planar CRS."""
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
    # derived from every constraint AND zone layer that went in: internal if any of them is
    internal = any(c.sensitivity != "public" for c in constraints) or any(
        not s.is_public for s in pack.zone_layers()
    )
    return ParcelPlan(
        planar_crs_wkt=planar.to_wkt(),
        overlay=plan_overlay(constraints),
        zone_geoms=tuple(geoms),
        zone_layers=tuple(layers),
        zone_fids=tuple(fids),
        zone_names=tuple(names),
        sensitivity="internal" if internal else "public",
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
    df, report = overlay_areas(
        parcels, plan.overlay, workers=workers, chunk_size=chunk_size, progress=progress
    )
    zone = np.full(len(parcels), -1, dtype=np.int64)
    zone_m2 = np.zeros(len(parcels))
    if plan.zone_geoms and len(parcels):
        pairs, zrep = overlay_groups(
            parcels, list(plan.zone_geoms), workers=workers, chunk_size=chunk_size
        )
        report.extend(zrep)
        pairs = pairs[pairs["m2"] > 0]
        # Largest overlap wins; ties go to the zone listed first in the pack (stable).
        best = pairs.sort_values(["pos", "m2", "group"], ascending=[True, False, True])
        best = best.drop_duplicates("pos")
        zone[best["pos"].to_numpy()] = best["group"].to_numpy()
        zone_m2[best["pos"].to_numpy()] = best["m2"].to_numpy()
    df["zone"] = zone
    df["zone_m2"] = zone_m2
    return df, report


def to_planar(parcels: gpd.GeoDataFrame, planar: CRS) -> gpd.GeoDataFrame:
    if parcels.crs is None:
        msg = "the parcels have no CRS; declare it with --crs EPSG:... (qzgeo never guesses)"
        raise CRSError(msg)
    return parcels.to_crs(planar)


def finish_parcels(
    parcels: gpd.GeoDataFrame, measured: pd.DataFrame, plan: ParcelPlan, *, storage_crs: str
) -> gpd.GeoDataFrame:
    """Assemble the result table: parcel attributes, zone, areas in m²/公顷/亩, geometry."""
    zone = measured["zone"].to_numpy()
    has = zone >= 0
    zl = np.array([*plan.zone_layers, NO_ZONE], dtype=object)
    zn = np.array([*plan.zone_names, NO_ZONE], dtype=object)
    zf = np.array([*plan.zone_fids, -1], dtype=np.int64)
    pick = np.where(has, zone, len(plan.zone_layers))
    out = pd.DataFrame(index=parcels.index)
    for col in parcels.columns:
        if col != parcels.geometry.name:
            out[col] = parcels[col]
    out["zone_layer"] = zl[pick]
    out["zone_fid"] = zf[pick]
    out["zone_name"] = zn[pick]
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
    out["conflict"] = measured["conflict"].to_numpy()
    geom = gpd.GeoSeries(parcels.geometry.values, index=parcels.index, crs=parcels.crs)
    return gpd.GeoDataFrame(out, geometry=geom.to_crs(storage_crs), crs=storage_crs)


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
    GeoDataFrame in the pack's storage CRS, indexed like ``parcels``: the parcel attributes;
    ``zone_layer``, ``zone_fid``, ``zone_name`` (the zone with the largest overlap, empty if
    none) and ``zone_m2``; ``area_m2/ha/mu``; one ``"{layer}:{class}"`` column per constraint
    class (m² of overlap; for a boundary class the m² inside it); ``inside_boundary`` (share
    inside the 城镇开发边界); ``constrained_m2``; ``available_m2/ha/mu``; ``conflict``.
    All areas are ellipsoidal (CGCS2000).
    """
    plan = plan or build_parcel_plan(loaded)
    planar = to_planar(parcels, plan.planar_crs)
    measured, rep = measure_parcels(
        planar, plan, workers=workers, chunk_size=chunk_size, progress=progress
    )
    if report is not None:
        report.extend(rep)
    return finish_parcels(parcels, measured, plan, storage_crs=loaded.pack.storage_crs)


def parcel_summary(result: gpd.GeoDataFrame, plan: ParcelPlan) -> pd.DataFrame:
    """Per-zone totals (公顷, 亩, counts) with a 合计 row; Chinese headers."""
    df = pd.DataFrame(result.drop(columns=result.geometry.name))
    df["_zone"] = list(zip(df["zone_layer"], df["zone_fid"], df["zone_name"], strict=True))
    rows: list[dict[str, Any]] = []

    def row(layer: str, name: str, part: pd.DataFrame) -> dict[str, Any]:
        r: dict[str, Any] = {
            "分区图层": layer,
            "分区": name,
            "地块数": len(part),
            "面积_公顷": float(m2_to_ha(part["area_m2"].sum())),
            "面积_亩": float(m2_to_mu(part["area_m2"].sum())),
            "受约束_公顷": float(m2_to_ha(part["constrained_m2"].sum())),
            "可用_公顷": float(m2_to_ha(part["available_m2"].sum())),
            "可用_亩": float(m2_to_mu(part["available_m2"].sum())),
            "冲突地块数": int(part["conflict"].sum()),
        }
        for col in plan.overlay.columns:
            r[f"{col}_公顷"] = float(m2_to_ha(part[col].sum()))
        return r

    keys = sorted(set(df["_zone"]), key=lambda k: (k[0] == NO_ZONE, k[0], k[1]))
    for layer, fid, name in keys:
        part = df[df["_zone"] == (layer, fid, name)]
        rows.append(row(layer or "(无)", name or "(不在分区内)", part))
    rows.append(row("合计", "", df))
    return pd.DataFrame(rows)


def check_parcels(parcels: gpd.GeoDataFrame, *, where: str = "parcels") -> None:
    """Raise a clear error if the parcels cannot be analyzed (no rows, not polygons)."""
    if parcels.empty:
        msg = f"{where} has no features; give a polygon layer of parcels"
        raise GeometryError(msg)
    types = shapely.get_type_id(np.asarray(parcels.geometry.values, dtype=object))
    if not np.isin(types, (3, 6)).all():
        kinds = sorted(set(parcels.geometry.geom_type.dropna()))
        msg = f"{where} must hold polygons, got {', '.join(kinds)}; give a polygon layer"
        raise GeometryError(msg)
