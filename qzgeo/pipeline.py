"""The only place that strings the stages together: catalog → load & normalise → analyze → publish.

One function per command (:func:`run_publish`, :func:`run_analyze`, :func:`run_check`; and apart,
not to import the raster stack, ``publish.suitability_run.run_suitability``); the CLI modules
parse options, call these and print what they return, written through :mod:`qzgeo.io.outdir`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd

from qzgeo.analysis.edge_notes import long_edge_warning
from qzgeo.analysis.overlay import OverlayReport
from qzgeo.analysis.site_check import check_sites
from qzgeo.analysis.site_results import SiteReport, constraint_notes, exit_code
from qzgeo.analysis.sites import read_sites, split_source
from qzgeo.analysis.siting import SitingContext
from qzgeo.analysis.zones import AnalysisResult, analyze_pack
from qzgeo.cache_store import take_refusals
from qzgeo.geo.area import M2_PER_HA, M2_PER_MU
from qzgeo.geo.repair import RepairReport
from qzgeo.io.atomic import write_text
from qzgeo.io.guard import ReadCaps, read_caps
from qzgeo.io.layer_info import default_layer
from qzgeo.io.outdir import check_out_dir, output_build, write_part
from qzgeo.io.postgis_uri import redact_text, redact_uri
from qzgeo.io.vector import ReadOptions, read_layer
from qzgeo.notices import counted
from qzgeo.pack.catalog import load_pack
from qzgeo.pack.coverage import coverage_reach_warnings
from qzgeo.pack.load import LoadedPack, analysis_layer_ids
from qzgeo.pack.model import Pack
from qzgeo.pack.prepared import prepare_pack
from qzgeo.pack.validate import pack_warnings, unconstrained_warnings, validate_pack
from qzgeo.publish.checks import constraint_classes_published, zone_names_published
from qzgeo.publish.tables import (
    analysis_postgis_targets,
    available_by_layer,
    run_summary,
    write_analysis,
    write_analysis_postgis,
    write_run_report,
)

if TYPE_CHECKING:  # run_analyze imports them when it runs: a cold `check` needs none of them
    from qzgeo.analysis.parcel_overlaps import ParcelOverlaps
    from qzgeo.analysis.parcels import ParcelPlan


@dataclass
class PublishSummary:
    """What :func:`run_publish` built: ``out_dir/public`` (to post) and ``out_dir/internal``."""

    pack: Pack
    out_dir: Path
    index: Path | None
    outputs: list[Path]
    analysis: AnalysisResult
    loaded: LoadedPack
    warnings: list[str] = field(default_factory=list)
    postgis: list[str] = field(default_factory=list)
    maps: dict[str, Path] = field(default_factory=dict)

    @property
    def public_dir(self) -> Path:
        """The folder to post as it is."""
        return self.out_dir / "public"

    @property
    def internal_dir(self) -> Path:
        """The folder for staff: internal maps, analysis tables, report.json, QGIS project."""
        return self.out_dir / "internal"

    def one_line(self) -> str:
        """``N zones, X 公顷 available, K conflict patches`` — what the CLI prints last."""
        n_zones, total = len(self.analysis.zone_summary), self.analysis.total_available_ha
        rows = sum(available_by_layer(self.analysis).values())
        # zones of nested plans overlap: the headline is their union, not the rows' sum
        union = (
            f" (their union; the zone rows add up to {rows:,.1f})" if rows > total + 0.05 else ""
        )
        return (
            f"{counted(n_zones, 'zone')}, {total:,.1f} 公顷 available{union}, "
            f"{counted(len(self.analysis.conflicts), 'conflict patch')}; "
            f"planar CRS {self.analysis.planar_crs}"
        )


def run_publish(
    pack_dir: str | Path | None = None,
    out_dir: str | Path = "qzgeo-out",
    *,
    png: bool = False,
    maps: bool = True,
    to_postgis: str | None = None,
    caps: ReadCaps | None = None,
    pdf: bool = False,
    paper: str | None = None,
    orientation: str | None = None,
) -> PublishSummary:
    """Validate a pack, analyze it and publish it into ``out_dir/public`` and ``/internal``.

    Parameters
    ----------
    pack_dir
        Plan pack folder; default as :func:`qzgeo.pack.catalog.resolve_pack_dir` says.
    out_dir
        New, empty or qzgeo's own folder (:mod:`qzgeo.io.outdir`). ``public/``: the public
        maps, their gallery and manifest (post it as it is); ``internal/``: internal maps,
        ``analysis.gpkg``, ``zone_summary.csv``, ``report.json``, the full manifest, the QGIS
        project. Built aside and swapped in whole.
    png, maps
        Also PNGs (headless Chromium); ``False``: no maps. Every page inlines its scripts.
    to_postgis
        ``postgresql://...?table=schema.prefix``: also tables ``prefix_available_land``,
        ``prefix_conflicts``, ``prefix_zone_summary``, in one transaction, written last.
    caps, pdf, paper, orientation
        Vertex and feature caps of the layers read; a vector PDF sheet per map beside its
        page, on this paper (default: the map's, else A3 landscape).
    """
    take_refusals()  # a cache folder refused before this run is said again if it still is
    pack = load_pack(pack_dir)
    validate_pack(pack)
    check_out_dir(out_dir, pack=pack.root)
    if to_postgis:
        analysis_postgis_targets(to_postgis)  # names checked before anything is read or written
    with read_caps(caps):
        loaded = prepare_pack(pack).loaded
    result = analyze_pack(loaded)
    warnings = pack_warnings(pack) + list(loaded.report.warnings)
    warnings += coverage_reach_warnings(pack, loaded.layers, loaded.coverage) + list(result.notes)
    with output_build(out_dir, pack=pack.root) as build:
        outputs = write_analysis(result, build.internal)
        published = None
        if maps:
            from qzgeo.publish.bundle import publish_pack_maps, write_pack_qgis

            published = publish_pack_maps(
                build.tmp,
                loaded,
                result,
                png=png,
                pdf=pdf,
                paper=paper,
                orientation=orientation,
            )
            outputs.extend(published.all_paths)
            warnings.extend(w for w in published.warnings if w not in warnings)
            # The QGIS project holds every layer, internal ones included: INTERNAL folder only.
            outputs.extend(write_pack_qgis(loaded, result, build.internal))
        warnings.extend(w for w in take_refusals() if w not in warnings)  # the cache's, last
        report = {"pack": pack.name, "summary": run_summary(result), **loaded.report.to_dict()}
        outputs.append(write_run_report(build.internal, {**report, "warnings": warnings}))
        tables = write_analysis_postgis(result, to_postgis) if to_postgis else []
        outputs = [build.final(p) for p in outputs]
        index = build.final(published.index) if published else None
        pages = {mid: build.final(p) for mid, p in published.maps.items()} if published else {}
    return PublishSummary(
        pack, build.out, index, outputs, result, loaded, warnings, tables, maps=pages
    )


# --- qzgeo analyze -------------------------------------------------------------------------


@dataclass
class AnalyzeSummary:
    """What :func:`run_analyze` computed and wrote."""

    result: gpd.GeoDataFrame | None  # None when streamed in chunks
    files: list[Path]
    notes: list[str]
    repairs: RepairReport
    overlay: OverlayReport
    engine: str
    # parcels, in conflict, available m², unchecked m² (outside the pack's extent)
    counts: tuple[int, int, float, float] = (0, 0, 0.0, 0.0)
    # what lies outside is "the pack's coverage" with a `coverage_layer`, else its extent
    outside_of: str = "the pack's extent"
    # parcels that overlap: counted once per parcel over the shared land in every total
    overlaps: ParcelOverlaps | None = None
    # where the results went and what that means (with --public: the input's columns too)
    audience: str | None = None

    def one_line(self) -> str:
        """``N parcels, K in conflict, X 公顷 (Y 亩) available[...]; repairs; retries; engine``."""
        from qzgeo.publish.parcel_tables import PARCEL_REPORT

        r, (n, n_conf, avail, unchecked) = self.result, self.counts
        if r is not None:
            n, n_conf, avail = len(r), int(r["conflict"].sum()), float(r["available_m2"].sum())
            unchecked = float(r["unchecked_m2"].sum())
        conflicts = "no conflicts" if n_conf == 0 else f"{n_conf} in conflict"
        # 公顷 and 亩 as `publish` and the tables say them, not "ha"
        beyond = (
            f", {_ha_mu(unchecked)} unchecked (outside {self.outside_of})" if unchecked > 0 else ""
        )
        o = self.overlaps
        if o is not None and o.pairs:  # the totals are too large by the shared land: say so
            beyond += f", {o.pairs} overlapping pair(s) sharing {_ha_mu(o.m2)} counted twice"
        return (
            f"{counted(n, 'parcel')}, {conflicts}, {_ha_mu(avail)} available{beyond}; "
            f"{self.repairs.summary(see=PARCEL_REPORT)}; "
            f"{counted(len(self.overlay.retries), 'overlay retry')}; {self.engine}"
        )


def _ha_mu(m2: float) -> str:
    """``X.XX 公顷 (Y.Y 亩)``: an area as the command line prints it, e.g. ``_ha_mu(20_000.0)``
    gives ``'2.00 公顷 (30.0 亩)'``."""
    return f"{m2 / M2_PER_HA:.2f} 公顷 ({m2 / M2_PER_MU:.1f} 亩)"


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
    caps: ReadCaps | None = None,
    read_options: ReadOptions | None = None,
    chunk_rows: int | None = None,
    processes: bool = False,
    public: bool = False,
) -> AnalyzeSummary:
    """Analyze a parcel layer against a pack and write ``parcels.gpkg`` and its tables.

    ``parcels.gpkg``, ``parcels_summary.csv`` (+ ``.xlsx``), with ``make_map`` ``parcels.html``
    go to ``out_dir/internal`` (:mod:`qzgeo.io.outdir`), with ``public`` to ``out_dir/public``
    (:func:`~qzgeo.publish.parcel_tables.results_audience`); ``parcels_report.json`` internal.
    ``layer``/``crs``/``datum``/``read_options`` read the parcels (notices to the report);
    ``workers``/``use_dask``/``scheduler``: threads, or a Dask cluster; ``caps``: vertex and
    feature caps; ``chunk_rows``: parcels per streamed chunk; ``processes``: big files are
    analyzed by ``workers`` processes (the script needs ``if __name__ == "__main__":``). A cache
    folder refused is in ``repairs.warnings`` (:func:`qzgeo.cache_store.is_refusal`)."""
    from qzgeo.analysis.chunk_pool import chunk_pool
    from qzgeo.publish.parcel_stream import chunk_measure, stream_choice, stream_parcels_into
    from qzgeo.publish.parcel_tables import parcel_audience

    take_refusals()  # a cache folder refused before this run is said again if it still is
    pack = load_pack(pack_dir)
    check_out_dir(out_dir, inputs=[parcels_path], pack=pack.root)
    layer = default_layer(parcels_path, layer)
    public, told = parcel_audience(pack, parcels_path, layer, public=public)
    dask, kw = use_dask or bool(scheduler), (read_options or ReadOptions()).kwargs()
    chunks = stream_choice(
        parcels_path, layer, chunk_rows, dask=dask, make_map=make_map,
        workers=workers if processes else 1,
    )  # fmt: skip
    repairs = RepairReport(warnings=[told] if public and told else [])
    beyond = "the pack's coverage" if pack.coverage_layer else "the pack's extent"
    with read_caps(caps), chunk_pool(chunks.processes if chunks else 1) as pool:
        # the worker processes start meanwhile (the pack read, or cached: qzgeo.pack.prepared)
        only = None if make_map else analysis_layer_ids(pack)
        loaded = prepare_pack(pack, only=only, validate=True).loaded
        repairs.extend(loaded.report)
        repairs.warnings.extend(unconstrained_warnings(pack))
        repairs.warnings.extend(coverage_reach_warnings(pack, loaded.layers, loaded.coverage))
        if chunks is not None:
            with chunk_measure(dask=dask, scheduler=scheduler, workers=workers) as measure:
                st = stream_parcels_into(
                    out_dir, parcels_path, loaded, repairs, chunks.rows, layer=layer, crs=crs,
                    datum=datum, read_kwargs=kw, workers=workers, progress=progress, pool=pool,
                    measure=measure, public=public,
                )  # fmt: skip
            return AnalyzeSummary(
                None, st.files, st.notes, repairs, st.overlay, st.engine, st.counts, beyond,
                st.overlaps, told,
            )  # fmt: skip
        parcels = read_layer(parcels_path, layer=layer, crs=crs, datum=datum, **kw)
    return _in_memory(
        parcels, loaded, repairs, parcels_path, out_dir, layer=layer, workers=workers,
        use_dask=use_dask, scheduler=scheduler, progress=progress, make_map=make_map,
        public=public, outside_of=beyond, audience=told,
    )  # fmt: skip


def _in_memory(
    parcels: gpd.GeoDataFrame,
    loaded: LoadedPack,
    repairs: RepairReport,
    parcels_path: str | Path,
    out_dir: str | Path,
    *,
    layer: str | None,
    workers: int,
    use_dask: bool,
    scheduler: str | None,
    progress: bool,
    make_map: bool,
    public: bool,
    outside_of: str,
    audience: str | None,
) -> AnalyzeSummary:
    """:func:`run_analyze` of a layer read whole: cleaned, analyzed and written."""
    from qzgeo.analysis.parcel_extent import count_unchecked
    from qzgeo.analysis.parcel_overlaps import find_overlaps
    from qzgeo.analysis.parcels import build_parcel_plan, clean_parcels, overlay_crs
    from qzgeo.publish.parcel_tables import write_parcel_results

    shown = redact_uri(str(parcels_path))  # a PostGIS password never reaches a message
    parcels = clean_parcels(parcels, extent=loaded.coverage, source=shown, repairs=repairs)
    plan = build_parcel_plan(loaded, planar_crs=overlay_crs(parcels.crs, loaded.planar_crs))
    overlaps = find_overlaps(
        parcels.geometry.values, parcels.index, parcels.crs, source=shown, planar=plan.planar_crs
    )
    said = (overlaps.message(), long_edge_warning(parcels, plan.planar_crs, shown))
    repairs.warnings.extend(s for s in said if s is not None)
    overlay = OverlayReport()
    result, engine = _run_engine(
        parcels, loaded, plan, overlay, workers=workers, use_dask=use_dask, scheduler=scheduler,
        progress=progress,
    )  # fmt: skip
    if (tally := count_unchecked(result, plan.extent, source=shown)) is not None:
        repairs.add_outside(tally)
    files, notes = write_parcel_results(
        result, plan, loaded, parcels_path, out_dir, repairs, overlay, make_map=make_map,
        public=public, layer=layer, overlaps=overlaps,
    )  # fmt: skip
    return AnalyzeSummary(
        result, files, notes, repairs, overlay, engine, outside_of=outside_of,
        overlaps=overlaps, audience=audience,
    )  # fmt: skip


def _run_engine(
    parcels: gpd.GeoDataFrame,
    loaded: LoadedPack,
    plan: ParcelPlan,
    overlay: OverlayReport,
    *,
    workers: int,
    use_dask: bool,
    scheduler: str | None,
    progress: bool,
) -> tuple[gpd.GeoDataFrame, str]:
    from qzgeo.analysis.parcels import analyze_parcels

    if use_dask or scheduler:
        from qzgeo.analysis.distributed import analyze_parcels_dask

        result = analyze_parcels_dask(
            parcels, loaded, scheduler=scheduler, n_workers=workers, report=overlay, plan=plan
        )
        return result, f"dask ({scheduler or 'local, ' + counted(workers, 'process')})"
    result = analyze_parcels(
        parcels, loaded, workers=workers, progress=progress, report=overlay, plan=plan
    )
    return result, f"threads ({workers})"


# --- qzgeo check ---------------------------------------------------------------------------


@dataclass
class CheckSummary:
    """What :func:`run_check` found: one report per site, and notices about the inputs."""

    reports: list[SiteReport]
    warnings: list[str]
    context_summary: str | None
    title: str = "选址合规性检查 Siting check"  # names the pack when there is one
    sensitivity: str = "internal"  # public only if every pack layer is and no --constraint
    pack_root: Path | None = None
    inputs: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)  # what the readers changed (a ring closed)

    @property
    def exit_code(self) -> int:
        """0 when every site is clear, 1 when any conflicts (see :func:`exit_code`)."""
        return exit_code(self.reports)

    def render(self, fmt: str) -> str:
        """The reports as ``"text"``, ``"json"`` or ``"html"``."""
        from qzgeo.publish.site_report import reports_to_html, reports_to_json, reports_to_text

        if fmt == "html":
            internal = self.sensitivity != "public"
            return reports_to_html(self.reports, title=self.title, internal=internal)
        render = {"json": reports_to_json, "text": reports_to_text}
        return render[fmt](self.reports)


def write_check_report(summary: CheckSummary, fmt: str, out_dir: str | Path) -> Path:
    """Write the report into ``out_dir/public`` if every input is public, else ``/internal``.

    Site files are the user's own; pack layers count by their sensitivity, ``--constraint``
    files as internal (red lines). ``fmt`` ``"gpkg"``: the sites and their conflict patches
    as layers (:func:`qzgeo.publish.site_layers.reports_to_layers`). A public copy names each
    site file by its name alone (:func:`~qzgeo.publish.site_report.public_reports`). Returns
    the path written.
    """
    public = summary.sensitivity == "public"
    if public:  # the site files by name: a path as typed names the user's home folders
        from qzgeo.publish.site_report import public_reports

        summary = replace(summary, reports=public_reports(summary.reports))
    write: Callable[[Path], object]
    if fmt == "gpkg":
        from qzgeo.publish.site_layers import write_site_layers

        write = functools.partial(write_site_layers, summary.reports)
    else:
        write = functools.partial(write_text, text=summary.render(fmt))
    name = f"check.{'txt' if fmt == 'text' else fmt}"
    return write_part(
        write, name, out_dir, public=public, inputs=summary.inputs, pack=summary.pack_root
    )


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
    out_dir: str | Path | None = None,
    caps: ReadCaps | None = None,
    read_options: ReadOptions | None = None,
) -> CheckSummary:
    """Check site polygons against a pack (or the user's own constraint layers).

    ``sites`` are ``PATH[:LAYER]`` (each polygon a site); ``constraints`` (``class_field``,
    ``mode``) replace the pack's; ``crs``/``datum`` apply to inputs without a CRS / to GCJ-02 sites;
    ``label_field`` names the sites; ``with_patches`` keeps the conflict patches (HTML); ``out_dir``
    (see :func:`write_check_report`) is checked first; ``caps`` cap vertices and features;
    ``read_options``: encoding, X/Y order, size cap, datum of every input. Each notice about a site
    is in its report (PostGIS passwords redacted), and in ``warnings`` or ``repairs``.
    """
    take_refusals()  # a cache folder refused before this run is said again if it still is
    pack = None if no_pack else load_pack(pack_dir)
    inputs = [split_source(s)[0] for s in (*sites, *constraints)]
    if out_dir is not None:
        check_out_dir(out_dir, inputs=inputs, pack=pack.root if pack else None)
    with read_caps(caps):
        site_gdf, notices = read_sites(sites, crs=crs, datum=datum, options=read_options)
        context = SitingContext.from_pack(
            pack,
            constraint_sources=list(constraints) or None,
            class_field=class_field,
            mode=mode,
            crs=crs,
            options=read_options,
        )
    rep = context.report
    # check writes no report.json: the line points nowhere else
    summary = rep.summary(see=None) if rep.records or rep.warnings or rep.flattened else None
    reports = check_sites(
        site_gdf, context, label_field=label_field, with_patches=with_patches, notices=notices
    )
    # A constraint feature dropped (NaN vertex, nothing polygonal left) or repaired, and a
    # cache folder refused, are in every site's report, not only a count on stderr.
    lost = [*constraint_notes(rep.records), *take_refusals()]  # the cache's: checks done
    for r in reports:
        r.source = redact_text(r.source) if r.source is not None else None
        r.warnings = [redact_text(w) for w in [*r.warnings, *lost]]
    told = [n.message for n in notices if n.kind != "repair"]  # repairs: CheckSummary.repairs
    warnings = [redact_text(w) for w in dict.fromkeys([*told, *rep.warnings, *lost])]
    # public only if every pack layer is, and the zone names (分区) and classes are published
    public = (
        not constraints
        and pack is not None
        and all(s.is_public for s in pack.layers.values())
        and zone_names_published(pack)
        and constraint_classes_published(pack)
    )
    return CheckSummary(
        reports,
        warnings,
        summary,
        title="选址合规性检查 Siting check" + (f" — {pack.title}" if pack is not None else ""),
        sensitivity="public" if public else "internal",
        pack_root=pack.root if pack else None,
        inputs=inputs,
        repairs=[redact_text(m) for m in notices.messages(kind="repair")],
    )


# --- qzgeo suitability ---------------------------------------------------------------------
