"""The only place that strings the stages together: catalog → load & normalise → analyze → publish.

One function per command: :func:`run_publish` (``qzgeo publish``), :func:`run_analyze`
(``qzgeo analyze``), :func:`run_check` (``qzgeo check``) and :func:`run_suitability`
(``qzgeo suitability``). The CLI modules only parse options, call these and print what they
return.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd

from qzgeo._errors import PackError
from qzgeo.analysis.overlay import OverlayReport
from qzgeo.analysis.parcels import analyze_parcels, build_parcel_plan, clean_parcels, overlay_crs
from qzgeo.analysis.site_results import SiteReport, exit_code
from qzgeo.analysis.sites import read_sites
from qzgeo.analysis.siting import SitingContext, check_sites
from qzgeo.analysis.zones import AnalysisResult, analyze_pack
from qzgeo.geo.repair import RepairReport
from qzgeo.io.atomic import write_bytes
from qzgeo.io.vector import ReadOptions, read_layer, sha256_file
from qzgeo.pack.catalog import load_pack
from qzgeo.pack.load import LoadedPack, analysis_layer_ids, load_pack_layers
from qzgeo.pack.model import Pack
from qzgeo.pack.validate import pack_warnings, validate_pack
from qzgeo.publish.parcel_stream import analyze_parcels_streamed, chunk_rows_for
from qzgeo.publish.parcel_tables import write_parcel_outputs
from qzgeo.publish.tables import csv_bytes, write_analysis, write_analysis_postgis, write_run_report

if TYPE_CHECKING:
    from qzgeo.analysis.suitability.model import Model


@dataclass
class PublishSummary:
    """What :func:`run_publish` built."""

    pack: Pack
    out_dir: Path
    index: Path | None
    outputs: list[Path]
    analysis: AnalysisResult
    loaded: LoadedPack
    warnings: list[str] = field(default_factory=list)

    def one_line(self) -> str:
        """``N zones, X 公顷 available, K conflict patches`` — what the CLI prints last."""
        n_zones = len(self.analysis.zone_summary)
        return (
            f"{n_zones} zones, {self.analysis.total_available_ha:,.1f} 公顷 available, "
            f"{len(self.analysis.conflicts)} conflict patches; "
            f"planar CRS {self.analysis.planar_crs}"
        )


def run_publish(
    pack_dir: str | Path | None = None,
    out_dir: str | Path = "qzgeo-out",
    *,
    offline: bool = True,
    png: bool = False,
    maps: bool = True,
    to_postgis: str | None = None,
    pdf: bool = False,
    paper: str | None = None,
    orientation: str | None = None,
) -> PublishSummary:
    """Validate a pack, analyze it and publish its maps into ``out_dir``.

    Parameters
    ----------
    pack_dir
        Plan pack folder; default as :func:`qzgeo.pack.catalog.resolve_pack_dir` says.
    out_dir
        Output folder (created). Receives ``analysis.gpkg``, ``zone_summary.csv``,
        ``report.json``, one HTML per map, ``index.html``, ``manifest.json`` and the QGIS
        project: ``<pack>.gpkg`` (every layer, with ``layer_styles``) and ``<pack>.qgz``.
    offline
        Inline every script and stylesheet into the HTML (no CDN).
    png
        Also write a PNG of each map through headless Chromium.
    maps
        Build the maps (``False`` runs validation and analysis only).
    to_postgis
        Also write the analysis layers to PostGIS: ``postgresql://...?table=schema.prefix``
        gives tables ``prefix_available_land``, ``prefix_conflicts``, ``prefix_zone_summary``.
    pdf, paper, orientation
        Also write a vector PDF sheet per map on this paper (default: the map's, else A3 landscape).
    """
    pack = load_pack(pack_dir)
    validate_pack(pack)
    loaded = load_pack_layers(pack)
    result = analyze_pack(loaded)
    out = Path(out_dir)
    outputs = write_analysis(result, out)
    if to_postgis:
        write_analysis_postgis(result, to_postgis)
    warnings = pack_warnings(pack) + list(loaded.report.warnings) + list(result.notes)
    index: Path | None = None
    if maps:
        from qzgeo.publish.maps import publish_maps

        published = publish_maps(
            pack,
            loaded.layers,
            {"available_land": result.available_land, "conflicts": result.conflicts},
            out,
            analysis_sensitivity=result.sensitivity,
            offline=offline,
            png=png,
            manifest_extra={"inputs": loaded.input_hashes, "pack": pack.name},
            pdf=pdf,
            paper=paper,
            orientation=orientation,
        )
        outputs.extend(published.paths)
        outputs.extend(published.pdfs.values())
        index = published.index
        warnings.extend(published.warnings)
        # The QGIS project holds every layer, internal ones included: it goes to the INTERNAL
        # output folder only, never to a public one.
        internal_dir = out
        outputs.extend(_write_qgis(pack, loaded, result, internal_dir))
    report = {"pack": pack.name, "summary": _summary(result), **loaded.report.to_dict()}
    outputs.append(write_run_report(out, {**report, "warnings": warnings}))
    return PublishSummary(pack, out, index, outputs, result, loaded, warnings)


def _summary(result: AnalysisResult) -> dict[str, object]:
    """The ``summary`` of ``report.json``: the headline figures and the planar CRS used."""
    return {
        "zones": len(result.zone_summary),
        "available_ha": round(result.total_available_ha, 4),
        "conflict_patches": len(result.conflicts),
        "planar_crs": result.planar_crs,
        "max_conservation_residual_m2": result.max_residual_m2,
    }


def _write_qgis(pack: Pack, loaded: LoadedPack, result: AnalysisResult, out: Path) -> list[Path]:
    """``<pack>.gpkg`` + the styled ``<pack>.qgz``: every pack layer and analysis layer."""
    from qzgeo.publish.qgis import write_qgis_project

    analysis = {
        "available_land": result.available_land,
        "conflicts": result.conflicts,
        "zone_summary": result.zone_summary,
    }
    return write_qgis_project(
        pack=pack,
        layers=loaded.layers,
        analysis=analysis,
        out_dir=out,
        planar_crs=loaded.planar_crs,
    )


# --- qzgeo analyze -------------------------------------------------------------------------


@dataclass
class AnalyzeSummary:
    """What :func:`run_analyze` computed and wrote."""

    result: gpd.GeoDataFrame | None  # None when streamed in chunks (not kept in memory)
    files: list[Path]
    notes: list[str]
    repairs: RepairReport
    overlay: OverlayReport
    engine: str
    counts: tuple[int, int, float] = (0, 0, 0.0)  # parcels, in conflict, available m²

    def one_line(self) -> str:
        """``N parcels, K in conflict, X ha available; repairs; retries; engine``."""
        n, n_conf, avail = self.counts
        if self.result is not None:
            n, n_conf = len(self.result), int(self.result["conflict"].sum())
            avail = float(self.result["available_m2"].sum())
        conflicts = "no conflicts" if n_conf == 0 else f"{n_conf} in conflict"
        return (
            f"{n} parcels, {conflicts}, {avail / 10_000:.2f} ha available; "
            f"{self.repairs.summary()}; {len(self.overlay.retries)} overlay retries; {self.engine}"
        )


def run_analyze(
    parcels_path: str | Path,
    out_dir: str | Path = "qzgeo-out",
    *,
    pack_dir: str | Path | None = None,
    layer: str | None = None,
    crs: str | None = None,
    datum: str | None = None,
    workers: int = 2,
    use_dask: bool = False,
    scheduler: str | None = None,
    progress: bool = False,
    make_map: bool = False,
    read_options: ReadOptions | None = None,
    chunk_rows: int | None = None,
) -> AnalyzeSummary:
    """Analyze a parcel layer against a pack and write ``parcels.gpkg`` and its tables.

    Parameters
    ----------
    parcels_path
        Parcel polygons in any format :func:`qzgeo.io.vector.read_layer` reads.
    out_dir
        Output folder: ``parcels.gpkg``, ``parcels_summary.csv`` (+ ``.xlsx``),
        ``report.json`` and with ``make_map`` ``parcels.html``.
    pack_dir
        Plan pack folder; default the bundled pack.
    layer, crs, datum
        Reading options for the parcels (layer name, CRS when the file has none, ``"gcj02"``).
    workers
        Threads, or local Dask worker processes with ``use_dask``.
    use_dask, scheduler
        Run on a local Dask cluster, or on the cluster at ``scheduler``.
    progress
        Show a progress bar on stderr.
    make_map
        Also write ``parcels.html`` (then every pack layer is loaded, else only what is measured).
    read_options
        Encoding, X/Y order, size cap and datum assumption of the parcel file. Parcels wholly
        outside the pack extent are refused; reader notices go to ``report.json``.
    chunk_rows
        Parcels per chunk, streamed; default :func:`qzgeo.publish.parcel_stream.chunk_rows_for`.
    """
    pack = load_pack(pack_dir)
    validate_pack(pack)
    loaded = load_pack_layers(pack, only=None if make_map else analysis_layer_ids(pack))
    repairs = RepairReport()
    repairs.extend(loaded.report)
    kw = (read_options or ReadOptions()).kwargs()
    dask = use_dask or bool(scheduler)
    if (chunk_rows := chunk_rows_for(parcels_path, layer, chunk_rows, dask, make_map)) is not None:
        args = (parcels_path, out_dir, loaded, repairs, chunk_rows, layer, crs, datum, kw)
        return _run_analyze_streamed(*args, workers, progress)
    parcels = read_layer(parcels_path, layer=layer, crs=crs, datum=datum, **kw)
    parcels = clean_parcels(parcels, extent=pack.extent, source=str(parcels_path), repairs=repairs)
    plan = build_parcel_plan(loaded, planar_crs=overlay_crs(parcels.crs, loaded.planar_crs))
    overlay = OverlayReport()
    if dask:
        from qzgeo.analysis.distributed import analyze_parcels_dask

        result = analyze_parcels_dask(
            parcels, loaded, scheduler=scheduler, n_workers=workers, report=overlay, plan=plan
        )
        engine = f"dask ({scheduler or f'local, {workers} processes'})"
    else:
        result = analyze_parcels(
            parcels, loaded, workers=workers, progress=progress, report=overlay, plan=plan
        )
        engine = f"threads ({workers})"
    out = Path(out_dir)
    extra = {"inputs": {Path(parcels_path).name: sha256_file(parcels_path)}}
    outputs = write_parcel_outputs(
        result, plan, out, repairs=repairs, overlay_report=overlay, extra=extra
    )
    notes = list(outputs.notes)
    files = [outputs.gpkg, outputs.csv, *([outputs.xlsx] if outputs.xlsx else []), outputs.report]
    if make_map:
        files.append(_parcels_map(result, loaded, plan.sensitivity, out, notes))
    return AnalyzeSummary(result, files, notes, repairs, overlay, engine)


def _run_analyze_streamed(
    parcels_path: str | Path, out_dir: str | Path, loaded: LoadedPack, repairs: RepairReport,
    chunk_rows: int, layer: str | None, crs: str | None, datum: str | None,
    read_kwargs: dict[str, Any], workers: int, progress: bool,
) -> AnalyzeSummary:  # fmt: skip
    streamed = analyze_parcels_streamed(
        parcels_path, loaded, out_dir, chunk_rows=chunk_rows, layer=layer, crs=crs, datum=datum,
        read_kwargs=read_kwargs, workers=workers, progress=progress, repairs=repairs,
        extra={"inputs": {Path(parcels_path).name: sha256_file(parcels_path)}},
    )  # fmt: skip
    o, counts = streamed.outputs, (streamed.parcels, streamed.conflicts, streamed.available_m2)
    files = [o.gpkg, o.csv, *([o.xlsx] if o.xlsx else []), o.report]
    engine = f"threads ({workers}), {streamed.chunks} chunk(s) of {chunk_rows} parcels"
    return AnalyzeSummary(None, files, list(o.notes), repairs, streamed.overlay, engine, counts)


def _parcels_map(
    result: gpd.GeoDataFrame, loaded: LoadedPack, sensitivity: str, out: Path, notes: list[str]
) -> Path:
    import warnings

    from qzgeo.publish.parcels_map import parcels_sensitivity, publish_parcels_map

    # Internal if the constraints are (the plan) or anything else the results derive from is.
    internal = "internal" in (sensitivity, parcels_sensitivity(loaded.pack))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = publish_parcels_map(
            result,
            loaded.pack,
            out / "parcels.html",
            sensitivity="internal" if internal else "public",
            layers=loaded.layers,
        )
    notes.extend(str(w.message) for w in caught)
    return path


# --- qzgeo check ---------------------------------------------------------------------------


@dataclass
class CheckSummary:
    """What :func:`run_check` found: one report per site, and notices about the inputs."""

    reports: list[SiteReport]
    warnings: list[str]
    context_summary: str | None
    title: str = "选址合规性检查 Siting check"  # names the pack when there is one
    internal: bool = True  # the conflicts derive from internal (or the user's own) red lines

    @property
    def exit_code(self) -> int:
        """0 when every site is clear, 1 when any conflicts (see :func:`exit_code`)."""
        return exit_code(self.reports)

    def render(self, fmt: str) -> str:
        """The reports as ``"text"``, ``"json"`` or ``"html"``."""
        from qzgeo.publish.site_report import reports_to_html, reports_to_json, reports_to_text

        if fmt == "html":
            return reports_to_html(self.reports, title=self.title, internal=self.internal)
        render = {"json": reports_to_json, "text": reports_to_text}
        return render[fmt](self.reports)


def run_check(
    sites: Sequence[str],
    *,
    pack_dir: str | Path | None = None,
    no_pack: bool = False,
    constraints: Sequence[str] = (),
    class_field: str | None = None,
    mode: str | None = None,
    crs: str | None = None,
    datum: str | None = None,
    label_field: str | None = None,
    with_patches: bool = False,
    read_options: ReadOptions | None = None,
) -> CheckSummary:
    """Check site polygons against a pack (or the user's own constraint layers).

    Parameters
    ----------
    sites
        ``PATH[:LAYER]`` of each site file; every polygon feature is a site.
    pack_dir, no_pack
        The plan pack (default: the bundled one), or none at all.
    constraints, class_field, mode
        The user's constraint layers, which replace the pack's, with their class column and
        mode (``auto``, ``exclusion``, ``boundary``).
    crs, datum
        CRS of inputs without one; ``"gcj02"`` for AMap coordinates in the site files.
    label_field
        Site column naming the sites.
    with_patches
        Keep the conflict patches (for the HTML report).
    read_options
        Encoding, X/Y order, size cap and datum assumption of every input.

    Every notice about a site (reading, CRS and extent checks, repairs, overlay retries) is in
    that site's report; ``CheckSummary.warnings`` repeats the readers' notices for stderr.
    """
    site_gdf, notices = read_sites(sites, crs=crs, datum=datum, options=read_options)
    pack = None if no_pack else load_pack(pack_dir)
    context = SitingContext.from_pack(
        pack,
        constraint_sources=list(constraints) or None,
        class_field=class_field,
        mode=mode,
        crs=crs,
        options=read_options,
    )
    rep = context.report
    summary = rep.summary() if rep.records or rep.warnings else None
    reports = check_sites(
        site_gdf, context, label_field=label_field, with_patches=with_patches, notices=notices
    )
    warnings = list(dict.fromkeys([*notices.messages(), *rep.warnings]))
    title = "选址合规性检查 Siting check" + (f" — {pack.title}" if pack is not None else "")
    internal = bool(constraints) or any(c.sensitivity != "public" for c in context.classes)
    return CheckSummary(reports, warnings, summary, title, internal)


# --- qzgeo suitability ---------------------------------------------------------------------


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
    """
    from qzgeo.analysis.suitability.job import (
        UNASSESSED,
        job_warnings,
        pick_model,
        plan_factors,
        prepare_job,
    )
    from qzgeo.analysis.suitability.model import read_model
    from qzgeo.analysis.suitability.zonal import zone_table
    from qzgeo.publish.suitability_map import write_result_map
    from qzgeo.publish.suitability_write import (
        finish_folder,
        suitability_folder,
        suitability_report,
        write_grids,
    )

    pack = load_pack(pack_dir)
    validate_pack(pack, check_data=False)
    m = read_model(pack, pick_model(pack, model))
    given = {k: Path(v) for k, v in (rasters or {}).items()}
    used, missing, problems = plan_factors(m, given)
    if problems:
        raise PackError(problems)
    loaded = load_pack_layers(pack, only=m.layer_ids())
    job = prepare_job(pack, loaded, m, used, given, resolution_m)
    internal_ids = [lid for lid in m.layer_ids() if not pack.layers[lid].is_public]
    sensitivity = "internal" if internal_ids or internal else "public"
    folder, previous = suitability_folder(Path(out_dir), sensitivity, m.name)
    outputs = write_grids(folder, job, m, used, sensitivity=sensitivity, progress=progress)
    warnings = job_warnings(m, job, missing, given, internal_ids, internal)
    job.totals["合计"] = sum(job.totals.values())
    table = zone_table(
        folder / "result.tif",
        {lid: loaded.layers[lid] for lid in m.zones},
        {lid: pack.layers[lid].name_field for lid in m.zones},
        [UNASSESSED, *(c.name for c in m.classes)],
        job.totals,
    )
    outputs.append(write_bytes(folder / "zones.csv", csv_bytes(table, float_format="%.6f")))
    outputs += write_result_map(
        folder,
        pack=pack,
        model=m,
        layers=loaded.layers,
        public=sensitivity == "public",
        notes=warnings,
    )
    report = suitability_report(m, pack, job, used, missing, given, sensitivity, outputs, warnings)
    outputs.append(finish_folder(folder, report, previous))
    totals = {k: round(v, 2) for k, v in job.totals.items()}
    used_ids = [f.id for f in used]
    return SuitabilityResult(m, folder, sensitivity, outputs, used_ids, missing, totals, warnings)
