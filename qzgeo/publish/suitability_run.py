"""`qzgeo suitability` end to end: read the pack and the rasters, grade, write the outputs.

Kept apart from :mod:`qzgeo.pipeline` so that the other commands do not import the raster
stack (rasterio, exactextract) they never use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import shapely

from qzgeo._errors import PackError
from qzgeo.analysis.suitability.job import (
    UNASSESSED,
    SuitabilityJob,
    job_warnings,
    pick_model,
    plan_factors,
    prepare_job,
)
from qzgeo.analysis.suitability.model import Model, read_model
from qzgeo.analysis.suitability.source import height_range
from qzgeo.analysis.suitability.zonal import TOTAL_LAYER, zone_table
from qzgeo.cache_store import take_refusals
from qzgeo.io.atomic import write_errors_explained
from qzgeo.io.outdir import check_out_dir, output_build, staged
from qzgeo.pack.catalog import load_pack
from qzgeo.pack.load import LoadedPack
from qzgeo.pack.model import Pack
from qzgeo.pack.prepared import prepare_pack
from qzgeo.pack.validate import validate_pack
from qzgeo.publish.checks import shown_name_field
from qzgeo.publish.suitability_write import (
    finish_folder,
    moved_outputs,
    stale_outputs,
    suitability_folder,
    suitability_report,
    write_grids,
)
from qzgeo.publish.tables import area_places, write_csv

__all__ = ["SuitabilityResult", "run_suitability"]


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


def run_suitability(
    pack_dir: str | Path | None = None,
    *,
    model: str | None = None,
    rasters: Mapping[str, str | Path] | None = None,
    resolution_m: float | None = None,
    out_dir: str | Path = "qzgeo-out",
    internal: bool = False,
    progress: bool | None = None,
    heights: tuple[float, float] | None = None,
) -> SuitabilityResult:
    """Grade the land of a pack's study area by a suitability model (双评价).

    Outputs go to ``<out>/public/suitability/<model>/`` or, when any input layer is internal
    (or ``internal``), ``<out>/internal/suitability/<model>/``: ``result.tif`` and one
    ``factor_<id>.tif`` per graded factor (COGs), ``zones.csv``, ``result.png``, ``map.html``
    and ``report.json`` (warnings, factors used and missing, grid, inputs, outputs).

    Parameters
    ----------
    pack_dir : Plan pack folder; default the bundled pack.
    model : ``suitability/<model>.toml`` of the pack; default its only model.
    rasters : Raster name -> file (any GDAL raster with a CRS); ``"dem"`` is the DEM.
    resolution_m : Cell size in metres; default the model's ``resolution_m``.
    out_dir : Output root.
    internal : Treat the rasters as internal data (the outputs become internal).
    progress : Show a progress bar (default: when stderr is a terminal).
    heights : Valid heights of the DEMs in metres, ``(lowest, highest)``; a height outside
        is refused as a fill value. Default land's, -1 000 to 9 000 m; a bathymetric DEM
        declares its depths, e.g. ``(-9000, 100)`` (``--height-range -9000 100``).
    """
    from qzgeo.publish.suitability_map import write_result_map

    valid = height_range(heights) if heights is not None else None  # refused before any read
    take_refusals()  # a cache folder refused before this run is said again if it still is
    pack = load_pack(pack_dir)
    validate_pack(pack, check_data=False)
    m = read_model(pack, pick_model(pack, model))
    given = {k: Path(v) for k, v in (rasters or {}).items()}
    check_out_dir(out_dir, inputs=given.values(), pack=pack.root)
    used, missing, problems = plan_factors(m, given)
    if problems:
        raise PackError(problems)
    loaded = prepare_pack(pack, only=m.layer_ids()).loaded  # from the cache after a first run
    machine = take_refusals()  # stderr only: kept out of files that may be public (a home path)
    job = prepare_job(pack, loaded, m, used, given, resolution_m, heights=valid)
    internal_ids = [lid for lid in m.layer_ids() if not pack.layers[lid].is_public]
    hidden = _unpublished_limits(pack, m)
    sensitivity = "internal" if internal_ids or hidden or internal else "public"
    stale: list[Path] = []
    with (
        output_build(out_dir, inputs=given.values(), pack=pack.root, whole=False) as build,
        staged(build, stale=lambda: stale) as stage,  # the files go in place together
        write_errors_explained(build.out),
    ):
        final, previous = suitability_folder(build.out, sensitivity, m.name)
        folder = stage.tmp / final.relative_to(build.out)
        folder.mkdir(parents=True)
        outputs = write_grids(folder, job, m, used, sensitivity=sensitivity, progress=progress)
        in_files, stderr_only = _load_warnings(loaded, public=sensitivity == "public")
        warnings = job_warnings(m, job, missing, given, internal_ids, internal) + hidden + in_files
        machine += stderr_only
        if sensitivity == "public":  # a raster by its name: a path as typed names home folders
            warnings = [_by_name(w, given) for w in warnings]
        outputs += _zones_csv(folder, pack, loaded, m, job, public=sensitivity == "public")
        outputs += write_result_map(
            folder, pack=pack, model=m, layers=loaded.layers, public=sensitivity == "public",
            notes=warnings,
        )  # fmt: skip
        report = suitability_report(
            m, pack, job, used, missing, given, sensitivity, outputs, warnings
        )
        outputs.append(finish_folder(folder, report, previous))
        stale = [final / name for name in stale_outputs(report, previous)]
        stale += moved_outputs(build.out, sensitivity, m.name)
    totals = {k: round(v, 2) for k, v in job.totals.items()}
    used_ids = [f.id for f in used]
    outputs = [stage.final(p) for p in outputs]
    said = warnings + machine
    return SuitabilityResult(m, final, sensitivity, outputs, used_ids, missing, totals, said)


def _unpublished_limits(pack: Pack, m: Model) -> list[str]:
    """Why hard limits by class keep the outputs internal: the result shows where those
    classes are, and the layer does not publish the field that names them (as ``qzgeo
    analyze --public`` and a public ``check`` need the constraints' class_field published)."""
    out = []
    for lid in dict.fromkeys(h.layer for h in m.hard_limits if h.classes):
        spec = pack.layers[lid]
        if spec.is_public and spec.class_field not in spec.publish_fields:
            out.append(
                f"outputs are internal: hard limits by classes of layer {lid!r}, whose "
                f"class_field {spec.class_field!r} is not in its publish_fields (add it in "
                f"{pack.catalog_path} only if the classes may be posted)"
            )
    return out


def _load_warnings(loaded: LoadedPack, *, public: bool) -> tuple[list[str], list[str]]:
    """The pack's load warnings (a planar_crs far from the data, a red line in no class...):
    those for the result's files, and those said on stderr only. Public outputs get their
    count: a warning may quote a value of a field the layer does not publish."""
    said = list(dict.fromkeys(loaded.report.warnings))
    if not public or not said:
        return said, []
    return [
        f"loading the pack's layers gave {len(said)} warning(s), said when this ran and by "
        "`qzgeo validate` (not written here: they may quote fields the layers do not publish)"
    ], said


def _by_name(text: str, rasters: Mapping[str, Path]) -> str:
    """``text`` with each raster's path as given replaced by its file name."""
    for path in sorted(rasters.values(), key=lambda p: -len(str(p))):
        text = text.replace(str(path), path.name)
    return text


def _zones_csv(
    folder: Path, pack: Pack, loaded: LoadedPack, m: Model, job: SuitabilityJob, *, public: bool
) -> list[Path]:
    """``zones.csv``: each zone's area per class, the study area's (TOTAL_LAYER) rows kept in
    ``job.totals`` for the report."""
    table = zone_table(
        folder / "result.tif",
        {lid: loaded.layers[lid] for lid in m.zones},
        {lid: shown_name_field(pack, lid, public=public) for lid in m.zones},
        [UNASSESSED, *(c.name for c in m.classes)],
        gpd.GeoDataFrame(geometry=[shapely.union_all(job.area)], crs=job.grid.crs),
    )
    study = table[table["图层"] == TOTAL_LAYER]
    job.totals = dict(zip(study["类别"], study["面积(m²)"].astype(float), strict=True))
    return write_csv(folder / "zones.csv", table, decimals=area_places(table))
