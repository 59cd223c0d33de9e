"""A suitability job: the factor plan, the grid and geometries prepared, then streamed by window.

:func:`prepare_job` puts the model's layers and rasters on one grid in the pack's planar CRS;
:func:`stream_job` grades every factor and combines them window by window (512 × 512 cells),
handing each window's grades and result codes to a :class:`GridSink` (a COG writer of
:mod:`qzgeo.publish.suitability_write`) and adding the ellipsoidal area of each class.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from rasterio.windows import Window

from qzgeo._errors import InputError, PackError
from qzgeo.analysis.suitability.combine import apply_limits, classify, short_board, weighted_score
from qzgeo.analysis.suitability.factors import DistanceFactor, raster_grades
from qzgeo.analysis.suitability.grid import Grid, GridRaster, Scale, burn, burn_each
from qzgeo.analysis.suitability.model import GRADE_NAMES, Factor, Model, list_models
from qzgeo.analysis.suitability.source import HeightRange
from qzgeo.pack.class_values import class_key, class_texts
from qzgeo.pack.load import LoadedPack
from qzgeo.pack.model import Pack
from qzgeo.progress import progress_bar

__all__ = [
    "UNASSESSED",
    "GridSink",
    "SuitabilityJob",
    "interval_names",
    "job_warnings",
    "pick_model",
    "plan_factors",
    "prepare_job",
    "stream_job",
]

UNASSESSED = "未评价"


class GridSink(Protocol):
    """Where :func:`stream_job` puts each window of uint8 codes (a COG writer)."""

    def write(self, arr: npt.NDArray[np.uint8], win: Window) -> None: ...


_UNITS = {"slope": "°", "elevation": " m", "distance": " m"}


def pick_model(pack: Pack, name: str | None) -> str:
    """The model to run: ``name``, else the pack's only model."""
    if name is not None:
        return name
    known = list_models(pack)
    if len(known) == 1:
        return known[0]
    if not known:
        msg = f"{pack.root}/suitability/ has no model; add suitability/<name>.toml (see README)"
        raise PackError([msg])
    msg = f"the pack declares models {', '.join(known)}; choose one with --model NAME"
    raise PackError([msg])


def plan_factors(
    model: Model, rasters: Mapping[str, Path]
) -> tuple[list[Factor], list[dict[str, str]], list[str]]:
    """Factors that run, factors left out (with what the model did), and problems."""
    problems, used, missing = [], [], []
    wanted = model.raster_names()
    for name in sorted(set(rasters) - set(wanted)):
        opt = "--dem" if name == "dem" else f"--raster {name}=FILE"
        problems.append(
            f"{opt}: the model {model.name!r} uses no raster {name!r}; "
            f"it reads: {', '.join(wanted) or 'none'}"
        )
    for f in model.factors:
        if f.raster is None or f.raster in rasters:
            used.append(f)
            continue
        opt = "--dem FILE" if f.raster == "dem" else f"--raster {f.raster}=FILE"
        if not f.optional:
            problems.append(f"factor {f.id!r} ({f.title}) needs raster {f.raster!r}: pass {opt}")
            continue
        action = f"left out (no {opt}); the other weights were renormalised"
        if f.id in model.short_board:
            action += (
                f"; its 木桶 short-board rule (grade <= {model.short_board_grade} caps the "
                "score) was not applied"
            )
        missing.append({"factor": f.id, "title": f.title, "raster": f.raster, "action": action})
    if not used and not problems:
        problems.append(f"model {model.name!r}: no factor can run; pass the rasters it names")
    return used, missing, problems


def _class_filter(
    pack: Pack,
    layers: Mapping[str, gpd.GeoDataFrame],
    lid: str,
    classes: tuple[str, ...],
    where: str,
    problems: list[str],
) -> np.ndarray:
    gdf = layers[lid]
    if not classes:
        return np.asarray(gdf.geometry.values, dtype=object)
    cf = pack.layers[lid].class_field
    if not cf or cf not in gdf.columns:
        problems.append(f"{where}: layer {lid!r} has no class_field; drop `classes` or add one")
        return np.asarray([], dtype=object)
    texts = class_texts(gdf[cf])  # a REAL code 1.0 is the class "1" (or "1.0") of the model
    values = set(texts.dropna())
    for c in classes:
        if class_key(c) not in values:
            problems.append(f"{where}: class {c!r} is not in {lid}.{cf}; values: {sorted(values)}")
    keep = texts.isin({class_key(c) for c in classes}).to_numpy()
    return np.asarray(gdf.geometry.values[keep], dtype=object)


_AREA_FIX = "the study area is the union of polygon layers; name those in `area`"
_ZONE_FIX = "the area table is per polygon; name polygon layers in `zones`"
_LIMIT_FIX = (
    "a hard limit is an area: give a polygon layer (the line buffered to its protection "
    "width, say), or grade the distance to it with a distance factor"
)


def _polygons_only(geoms: np.ndarray, where: str, lid: str, problems: list[str], fix: str) -> None:
    """A problem when ``geoms`` holds lines or points: burnt into the grid they would be one
    cell wide, as wide as the resolution."""
    kinds = {g.geom_type for g in geoms if g is not None and not g.is_empty}
    other = sorted(kinds - {"Polygon", "MultiPolygon"})
    if other:
        problems.append(f"{where}: layer {lid!r} holds {', '.join(other)} features; {fix}")


def _planar(geoms: np.ndarray, storage: str, planar: Any) -> np.ndarray:
    return np.asarray(gpd.GeoSeries(geoms, crs=storage).to_crs(planar).values, dtype=object)


def interval_names(f: Factor) -> dict[int, str]:
    if f.kind == "class":
        return {g: GRADE_NAMES[g] for g in sorted(set(f.class_grades.values()))}
    u, b = _UNITS.get(f.kind, ""), f.breaks
    names: dict[int, str] = {}
    for i, g in enumerate(f.grades):
        span = (
            f"≤ {b[0]:g}{u}"
            if i == 0
            else f"> {b[-1]:g}{u}"
            if i == len(b)
            else f"{b[i - 1]:g}–{b[i]:g}{u}"
        )
        names[g] = f"{names[g]}; {span}" if g in names else f"{GRADE_NAMES[g]} ({span})"
    return names


@dataclass
class SuitabilityJob:
    """The grid, the study area and hard limits (planar geometries), the factors' sources."""

    grid: Grid
    area: np.ndarray
    limits: np.ndarray
    distance: dict[str, DistanceFactor]
    rasters: dict[str, GridRaster]
    weights: dict[str, float]
    totals: dict[str, float] = field(default_factory=dict)
    no_value: dict[str, float] = field(default_factory=dict)
    unmapped: dict[str, set[int]] = field(default_factory=dict)  # factor id -> codes
    unmapped_m2: dict[str, float] = field(default_factory=dict)
    valued: dict[str, int] = field(default_factory=dict)  # factor id -> cells with a value

    def close(self) -> None:
        """Close the factor rasters."""
        for r in self.rasters.values():
            r.close()


def stream_job(
    job: SuitabilityJob,
    model: Model,
    used: list[Factor],
    writers: Mapping[str, GridSink],
    progress: bool | None,
) -> None:
    """Grade, combine and hand over every window; add each class's area to ``job.totals``.

    ``writers`` has one sink per used factor id (its grades) and ``"result"`` (class codes,
    0 outside the study area).
    """
    grid, scale = job.grid, Scale(job.grid)
    names = [c.name for c in model.classes]
    total = -(-grid.height // 512) * -(-grid.width // 512)
    for win in progress_bar(
        grid.windows(),
        total=total,
        disable=None if progress is None else not progress,
        desc=f"suitability {model.name}",
        unit="win",
    ):
        # Every cell the study area touches is graded: the zone table counts the part of
        # each cell inside a zone, so a cell left 0 because its centre is outside would
        # report that part as 未评价 all along the boundary. The areas said in warnings count
        # cells by centre (``inside``), near the exact areas of the zone table.
        area, inside = burn_each(job.area, grid, win, (True, False))
        if not area.any():
            zero = np.zeros(area.shape, dtype=np.uint8)
            for w in writers.values():
                w.write(zero, win)
            continue
        grades = {}
        for f in used:
            if f.id in job.distance:
                g = job.distance[f.id].grades(grid, win)
            else:
                g, miss = raster_grades(f, job.rasters[f.id], scale, grid, win)
                job.no_value[f.id] = job.no_value.get(f.id, 0.0) + float(
                    (scale.cell_area(win)[inside & miss]).sum()
                )
                job.valued[f.id] = job.valued.get(f.id, 0) + int((area & ~miss).sum())
                if f.kind == "class":
                    _unmapped(job, f.id, inside & (g == 0) & ~miss, scale.cell_area(win), win)
            g[~area] = 0
            grades[f.id] = g
            writers[f.id].write(g, win)
        score = weighted_score(grades, job.weights)
        score = short_board(score, grades, model.short_board, model.short_board_grade)
        codes = apply_limits(classify(score, model.breaks), burn(job.limits, grid, win), area)
        writers["result"].write(codes, win)
        cell = scale.cell_area(win)
        for code, name in enumerate([UNASSESSED, *names]):
            job.totals[name] = job.totals.get(name, 0.0) + float(
                cell[inside & (codes == code)].sum()
            )
    _refuse_valueless(job)


def _refuse_valueless(job: SuitabilityJob) -> None:
    """A raster over the study area's bounding box but not the area itself is refused like one
    beside it: every cell would be 未评价."""
    for fid, raster in job.rasters.items():
        if not job.valued.get(fid):
            p = str(raster.path)
            msg = (
                f"{raster.what}: raster {p!r} has no value anywhere in the study area (it "
                "covers only nodata there, or ground beside the area); give a raster of the "
                "study area or check its CRS"
            )
            raise InputError(msg)


def _unmapped(job: SuitabilityJob, fid: str, cells: np.ndarray, area: np.ndarray, win: Any) -> None:
    """Note the codes (at most 20) and area of class-raster cells the model gives no grade."""
    if not cells.any():
        return
    codes = job.unmapped.setdefault(fid, set())
    if len(codes) < 20:
        codes.update(int(v) for v in np.unique(job.rasters[fid].read(win)[cells])[:20])
    job.unmapped_m2[fid] = job.unmapped_m2.get(fid, 0.0) + float(area[cells].sum())


def prepare_job(
    pack: Pack,
    loaded: LoadedPack,
    model: Model,
    used: list[Factor],
    rasters: Mapping[str, Path],
    resolution_m: float | None,
    *,
    heights: HeightRange | None = None,
) -> SuitabilityJob:
    """The model's grid, study area, hard limits and factor sources (rasters opened).

    ``heights``: the valid heights of the rasters read as heights (see
    :func:`qzgeo.analysis.suitability.source.height_range`); default land's.

    Raises
    ------
    PackError
        Listing every problem: a class not in a layer, a distance factor with no feature,
        lines or points as the study area, a zone layer or a hard limit.
    """
    layers, planar, storage = loaded.layers, loaded.planar_crs, pack.storage_crs
    problems: list[str] = []
    where = f"suitability/{model.name}.toml"
    for key, ids, fix in (("area", model.area, _AREA_FIX), ("zones", model.zones, _ZONE_FIX)):
        for lid in ids:
            _polygons_only(layers[lid].geometry.values, f"{where} {key}", lid, problems, fix)
    area = _planar(np.concatenate([layers[i].geometry.values for i in model.area]), storage, planar)
    area = area[[g is not None and not g.is_empty for g in area]]
    limits = []
    for h in model.hard_limits:
        geoms = _class_filter(pack, layers, h.layer, h.classes, f"{where} hard_limits", problems)
        _polygons_only(geoms, f"{where} hard_limits", h.layer, problems, _LIMIT_FIX)
        limits.append(_planar(geoms, storage, planar))
    dist_geoms = {}
    for f in used:
        if f.kind == "distance":
            parts = [
                _class_filter(pack, layers, lid, f.classes, f"{where} factor {f.id!r}", problems)
                for lid in f.layers
            ]
            dist_geoms[f.id] = _planar(np.concatenate(parts), storage, planar)
            if not len(dist_geoms[f.id]):
                problems.append(
                    f"{where} factor {f.id!r}: its layers have no feature to measure to"
                )
    if problems:
        raise PackError(problems)
    bounds = tuple(float(v) for v in shapely.total_bounds(area))
    grid = Grid.snapped(bounds, resolution_m or model.resolution_m, planar)
    total_w = sum(f.weight for f in used)
    job = SuitabilityJob(
        grid=grid,
        area=area,
        limits=np.concatenate(limits) if limits else np.asarray([], dtype=object),
        distance={
            k: DistanceFactor(next(f for f in used if f.id == k), g) for k, g in dist_geoms.items()
        },
        rasters={},
        weights={f.id: f.weight / total_w for f in used},
    )
    for f in used:
        if f.raster is not None:
            job.rasters[f.id] = GridRaster(
                rasters[f.raster],
                grid,
                nearest=f.kind == "class",
                heights=f.kind in ("slope", "elevation"),
                valid=heights,
                what=f"factor {f.id!r} (raster {f.raster!r})",
            )
    return job


def job_warnings(
    m: Model,
    job: SuitabilityJob,
    missing: list[dict[str, str]],
    given: Mapping[str, Path],
    internal_ids: list[str],
    internal: bool,
) -> list[str]:
    out = [f"factor {d['factor']!r} ({d['title']}): {d['action']}" for d in missing]
    out += [note for r in job.rasters.values() for note in r.notes]
    for fid, m2 in sorted(job.no_value.items()):
        if m2 > 0:
            out.append(
                f"factor {fid!r}: its raster has no value over {m2 / 1e4:,.2f} 公顷 of the "
                f"study area; those cells are {UNASSESSED} (unless a hard limit applies)"
            )
    for fid, codes in sorted(job.unmapped.items()):
        out.append(
            f"factor {fid!r}: codes {sorted(codes)} of {str(job.rasters[fid].path)!r} have no "
            f"grade in suitability/{m.name}.toml; {job.unmapped_m2[fid] / 1e4:,.2f} 公顷 of "
            f"the study area are {UNASSESSED}; add the codes to the factor's `classes`"
        )
    if internal_ids:
        out.append(
            f"outputs are internal: derived from internal layer(s) {', '.join(internal_ids)}"
        )
    elif internal:
        out.append("outputs are internal: the rasters were declared internal (--internal)")
    if given and not internal:
        out.append(
            f"rasters {', '.join(sorted(given))} were treated as public data "
            "(use --internal for internal rasters)"
        )
    return out
