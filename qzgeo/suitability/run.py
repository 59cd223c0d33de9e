"""The suitability job: model → pack layers and rasters → one grid, streamed → COGs, table, map.

Outputs go to ``OUT/public/suitability/<model>/`` or, when any input layer is internal (or the
caller says the rasters are), ``OUT/internal/suitability/<model>/``: ``result.tif`` and one
``factor_<id>.tif`` per graded factor (COGs), ``zones.csv``, ``result.png``, ``map.html`` and
``report.json`` (warnings, factors used and missing, grid, inputs, outputs).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from tqdm import tqdm

from qzgeo._atomic import write_bytes, write_text
from qzgeo._errors import OutputError, PackError
from qzgeo._validate import validate_pack
from qzgeo.io import sha256_file
from qzgeo.load import load_pack_layers
from qzgeo.pack import Pack, load_pack
from qzgeo.report import csv_bytes
from qzgeo.suitability.combine import apply_limits, classify, short_board, weighted_score
from qzgeo.suitability.factors import DistanceFactor, raster_grades
from qzgeo.suitability.grid import Grid, GridRaster, Scale, burn
from qzgeo.suitability.model import Factor, Model, list_models, read_model
from qzgeo.suitability.webmap import result_png, write_map
from qzgeo.suitability.write import GRADE_COLORS, GRADE_NAMES, CogWriter, zone_table

TOOL = "qzgeo suitability"
UNASSESSED = "未评价"
_UNITS = {"slope": "°", "elevation": " m", "distance": " m"}


@dataclass
class SuitabilityResult:
    """What :func:`run_suitability` wrote and what it had to say."""

    model: Model
    out_dir: Path
    sensitivity: str
    outputs: list[Path]
    used: list[str]
    missing: list[dict[str, str]]
    totals: dict[str, float]
    warnings: list[str] = field(default_factory=list)


def _pick_model(pack: Pack, name: str | None) -> str:
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


def _factor_plan(
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
        missing.append(
            {
                "factor": f.id,
                "title": f.title,
                "raster": f.raster,
                "action": f"left out (no {opt}); the other weights were renormalised",
            }
        )
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
    values = set(gdf[cf].astype(str))
    for c in classes:
        if c not in values:
            problems.append(f"{where}: class {c!r} is not in {lid}.{cf}; values: {sorted(values)}")
    keep = gdf[cf].astype(str).isin(classes).to_numpy()
    return np.asarray(gdf.geometry.values[keep], dtype=object)


def _planar(geoms: np.ndarray, storage: str, planar: Any) -> np.ndarray:
    return np.asarray(gpd.GeoSeries(geoms, crs=storage).to_crs(planar).values, dtype=object)


def _interval_names(f: Factor) -> dict[int, str]:
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
class _Job:
    grid: Grid
    area: np.ndarray
    limits: np.ndarray
    distance: dict[str, DistanceFactor]
    rasters: dict[str, GridRaster]
    weights: dict[str, float]
    totals: dict[str, float] = field(default_factory=dict)
    no_value: dict[str, float] = field(default_factory=dict)
    unmapped: set[int] = field(default_factory=set)


def _stream(
    job: _Job,
    model: Model,
    used: list[Factor],
    writers: dict[str, CogWriter],
    progress: bool | None,
) -> None:
    grid, scale = job.grid, Scale(job.grid)
    names = [c.name for c in model.classes]
    total = -(-grid.height // 512) * -(-grid.width // 512)
    for win in tqdm(
        grid.windows(),
        total=total,
        disable=None if progress is None else not progress,
        desc=f"suitability {model.name}",
        unit="win",
    ):
        area = burn(job.area, grid, win)
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
                    (scale.cell_area(win)[area & miss]).sum()
                )
                if f.kind == "class":
                    job.unmapped.update(_unmapped(job.rasters[f.id], win, g, miss))
            g[~area] = 0
            grades[f.id] = g
            writers[f.id].write(g, win)
        score = weighted_score(grades, job.weights)
        score = short_board(score, grades, model.short_board, model.short_board_grade)
        codes = apply_limits(classify(score, model.breaks), burn(job.limits, grid, win), area)
        writers["result"].write(codes, win)
        cell = scale.cell_area(win)
        for code, name in enumerate([UNASSESSED, *names]):
            job.totals[name] = job.totals.get(name, 0.0) + float(cell[area & (codes == code)].sum())


def _unmapped(raster: GridRaster, win: Any, g: np.ndarray, miss: np.ndarray) -> set[int]:
    vals = raster.read(win)[(g == 0) & ~miss]
    return {int(v) for v in np.unique(vals)[:20]}


def _prepare(
    pack: Pack,
    model: Model,
    used: list[Factor],
    rasters: Mapping[str, Path],
    resolution_m: float | None,
) -> tuple[_Job, dict[str, gpd.GeoDataFrame]]:
    loaded = load_pack_layers(pack, only=model.layer_ids())
    layers, planar, storage = loaded.layers, loaded.planar_crs, pack.storage_crs
    problems: list[str] = []
    where = f"suitability/{model.name}.toml"
    area = _planar(np.concatenate([layers[i].geometry.values for i in model.area]), storage, planar)
    area = area[[g is not None and not g.is_empty for g in area]]
    limits = [
        _planar(
            _class_filter(pack, layers, h.layer, h.classes, f"{where} hard_limits", problems),
            storage,
            planar,
        )
        for h in model.hard_limits
    ]
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
    job = _Job(
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
                what=f"factor {f.id!r} (raster {f.raster!r})",
            )
    return job, layers


def _out_dir(out: Path, sensitivity: str, name: str) -> tuple[Path, list[str]]:
    """The model's folder, and the files a previous run listed there (ours to replace)."""
    folder = out / sensitivity / "suitability" / name
    previous: list[str] = []
    report = folder / "report.json"
    if report.is_file():
        try:
            data = json.loads(report.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        if isinstance(data, dict) and data.get("tool") == TOOL:
            previous = [str(p) for p in data.get("outputs", {})]
    elif folder.is_dir() and any(folder.iterdir()):
        msg = (
            f"{folder} exists and was not written by {TOOL} (no report.json of ours); "
            "choose another --out or empty the folder"
        )
        raise OutputError(msg)
    folder.mkdir(parents=True, exist_ok=True)
    return folder, previous


def _writers(
    folder: Path, job: _Job, model: Model, used: list[Factor], sensitivity: str
) -> dict[str, CogWriter]:
    tags = {"QZGEO_MODEL": model.name, "QZGEO_SENSITIVITY": sensitivity}
    writers = {
        f.id: CogWriter(
            folder / f"factor_{f.id}.tif",
            job.grid,
            classes=_interval_names(f),
            colors=GRADE_COLORS,
            description=f"{f.title} 分级 (1..5)",
            tags=tags,
        )
        for f in used
    }
    writers["result"] = CogWriter(
        folder / "result.tif",
        job.grid,
        classes={i: c.name for i, c in enumerate(model.classes, start=1)},
        colors={i: c.color for i, c in enumerate(model.classes, start=1)},
        description=model.title,
        tags=tags,
    )
    return writers


def run_suitability(
    pack_dir: str | Path | None = None,
    *,
    model: str | None = None,
    rasters: Mapping[str, str | Path] | None = None,
    resolution_m: float | None = None,
    out_dir: str | Path = "qzgeo-out",
    internal: bool = False,
    progress: bool | None = None,
) -> SuitabilityResult:
    """Grade the land of a pack's study area by a suitability model (双评价).

    Parameters
    ----------
    pack_dir : Plan pack folder; default the bundled pack.
    model : ``suitability/<model>.toml`` of the pack; default its only model.
    rasters : Raster name -> file (any GDAL raster with a CRS); ``"dem"`` is the DEM.
    resolution_m : Cell size in metres; default the model's ``resolution_m``.
    out_dir : Output root; files go to ``<out>/<public|internal>/suitability/<model>/``.
    internal : Treat the rasters as internal data (the outputs become internal).
    progress : Show a progress bar (default: when stderr is a terminal).
    """
    pack = load_pack(pack_dir)
    validate_pack(pack, check_data=False)
    m = read_model(pack, _pick_model(pack, model))
    given = {k: Path(v) for k, v in (rasters or {}).items()}
    used, missing, problems = _factor_plan(m, given)
    if problems:
        raise PackError(problems)
    job, layers = _prepare(pack, m, used, given, resolution_m)
    internal_ids = [lid for lid in m.layer_ids() if not pack.layers[lid].is_public]
    sensitivity = "internal" if internal_ids or internal else "public"
    folder, previous = _out_dir(Path(out_dir), sensitivity, m.name)
    writers = _writers(folder, job, m, used, sensitivity)
    try:
        _stream(job, m, used, writers, progress)
        outputs = [w.finish() for w in writers.values()]
    finally:
        for w in writers.values():
            w.cleanup()
        for r in job.rasters.values():
            r.close()
    warnings = _warnings(m, job, missing, given, internal_ids, internal)
    names = [c.name for c in m.classes]
    job.totals["合计"] = sum(job.totals.values())
    zones = {lid: layers[lid] for lid in m.zones}
    table = zone_table(
        folder / "result.tif",
        zones,
        {lid: pack.layers[lid].name_field for lid in m.zones},
        [UNASSESSED, *names],
        job.totals,
    )
    outputs.append(write_bytes(folder / "zones.csv", csv_bytes(table, float_format="%.6f")))
    png = folder / "result.png"
    bounds = result_png(folder / "result.tif", png, [c.color for c in m.classes])
    outputs.append(png)
    outputs.append(
        write_map(
            folder / "map.html",
            pack=pack,
            model=m,
            layers=layers,
            png=png,
            png_bounds=bounds,
            public=sensitivity == "public",
            notes=warnings,
        )
    )
    used_ids = [f.id for f in used]
    report = _report(m, pack, job, used, missing, given, sensitivity, outputs, warnings)
    write_text(
        folder / "report.json",
        json.dumps(report, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
    )
    for stale in set(previous) - {p.name for p in outputs}:
        if "/" not in stale and stale != "report.json":
            (folder / stale).unlink(missing_ok=True)
    totals = {k: round(v, 2) for k, v in job.totals.items()}
    return SuitabilityResult(
        m,
        folder,
        sensitivity,
        [*outputs, folder / "report.json"],
        used_ids,
        missing,
        totals,
        warnings,
    )


def _warnings(
    m: Model,
    job: _Job,
    missing: list[dict[str, str]],
    given: Mapping[str, Path],
    internal_ids: list[str],
    internal: bool,
) -> list[str]:
    out = [f"factor {d['factor']!r} ({d['title']}): {d['action']}" for d in missing]
    for fid, m2 in sorted(job.no_value.items()):
        if m2 > 0:
            out.append(
                f"factor {fid!r}: its raster has no value over {m2 / 1e4:,.2f} 公顷 of the "
                f"study area; those cells are {UNASSESSED} (unless a hard limit applies)"
            )
    if job.unmapped:
        out.append(
            f"class raster codes {sorted(job.unmapped)} have no grade in the model; "
            f"those cells are {UNASSESSED}; add them to `classes`"
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


def _report(
    m: Model,
    pack: Pack,
    job: _Job,
    used: list[Factor],
    missing: list[dict[str, str]],
    given: Mapping[str, Path],
    sensitivity: str,
    outputs: list[Path],
    warnings: list[str],
) -> dict[str, Any]:
    g = job.grid
    return {
        "tool": TOOL,
        "pack": pack.name,
        "model": m.name,
        "title": m.title,
        "sensitivity": sensitivity,
        "grid": {
            "crs": g.crs.to_string(),
            "resolution_m": g.res,
            "width": g.width,
            "height": g.height,
            "transform": list(g.transform.to_gdal()),
        },
        "factors_used": [
            {
                "factor": f.id,
                "title": f.title,
                "kind": f.kind,
                "weight": round(job.weights[f.id], 6),
                "source": f.raster or list(f.layers),
            }
            for f in used
        ],
        "factors_missing": missing,
        "short_board": list(m.short_board),
        "hard_limits": [{"layer": h.layer, "classes": list(h.classes)} for h in m.hard_limits],
        "rasters": {
            k: {"path": str(p), "sha256": sha256_file(p)} for k, p in sorted(given.items())
        },
        "areas_m2": {k: round(v, 2) for k, v in job.totals.items()},
        "outputs": {p.name: sha256_file(p) for p in outputs},
        "warnings": warnings,
    }
