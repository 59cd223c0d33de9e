"""The only place that strings the stages together: catalog → load & normalise → analyze → publish.

One function per command: :func:`run_publish` (``qzgeo publish``), :func:`run_analyze`
(``qzgeo analyze``) and :func:`run_check` (``qzgeo check``). The CLI modules only parse options,
call these and print what they return.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd

from qzgeo.analysis.overlay import OverlayReport
from qzgeo.analysis.parcels import (
    ParcelPlan,
    analyze_parcels,
    build_parcel_plan,
    check_parcels,
)
from qzgeo.analysis.site_results import SiteReport, exit_code
from qzgeo.analysis.sites import read_sites, split_source
from qzgeo.analysis.siting import SitingContext, check_sites
from qzgeo.analysis.zones import AnalysisResult, analyze_pack
from qzgeo.geo.repair import RepairReport, repair_layer
from qzgeo.io.atomic import write_text
from qzgeo.io.guard import ReadCaps, read_caps
from qzgeo.io.outdir import check_out_dir, output_build
from qzgeo.io.postgis_uri import redact_text
from qzgeo.io.vector import read_layer, sha256_file
from qzgeo.pack.catalog import load_pack
from qzgeo.pack.load import LoadedPack, load_pack_layers
from qzgeo.pack.model import Pack
from qzgeo.pack.validate import validate_pack
from qzgeo.publish.parcel_tables import write_parcel_outputs
from qzgeo.publish.tables import (
    analysis_postgis_targets,
    write_analysis,
    write_analysis_postgis,
    write_run_report,
)


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
        """The folder for staff: internal maps, analysis tables, report.json."""
        return self.out_dir / "internal"

    def one_line(self) -> str:
        """``N zones, X 公顷 available, K conflict patches`` — what the CLI prints last."""
        n_zones = len(self.analysis.zone_summary)
        return (
            f"{n_zones} zones, {self.analysis.total_available_ha:,.1f} 公顷 available, "
            f"{len(self.analysis.conflicts)} conflict patches"
        )


def _public_inputs(loaded: LoadedPack) -> dict[str, str]:
    """Input hashes of the files that only public layers are read from."""
    pack = loaded.pack
    files: dict[str, set[str]] = {}
    for spec in pack.layers.values():
        source = pack.layer_path(spec)
        if "://" not in source and Path(source).is_relative_to(pack.root):
            rel = Path(source).relative_to(pack.root).as_posix()
            files.setdefault(rel, set()).add(spec.sensitivity)
    return {rel: sha for rel, sha in loaded.input_hashes.items() if files.get(rel) == {"public"}}


def run_publish(
    pack_dir: str | Path | None = None,
    out_dir: str | Path = "qzgeo-out",
    *,
    offline: bool = True,
    png: bool = False,
    maps: bool = True,
    to_postgis: str | None = None,
    caps: ReadCaps | None = None,
) -> PublishSummary:
    """Validate a pack, analyze it and publish it into ``out_dir/public`` and ``/internal``.

    Parameters
    ----------
    pack_dir
        Plan pack folder; default the bundled Qinzhou pack.
    out_dir
        Output folder: new, empty or written by qzgeo before (see
        :mod:`qzgeo.io.outdir`). ``public/`` receives the public maps, their gallery
        ``index.html`` and ``manifest.json`` (post it as it is); ``internal/`` the internal
        maps, ``analysis.gpkg``, ``zone_summary.csv``, ``report.json`` and the full manifest.
        Both are built aside and swapped in whole.
    offline
        Inline every script and stylesheet into the HTML (no CDN).
    png
        Also write a PNG of each map through headless Chromium.
    maps
        Build the maps (``False`` runs validation and analysis only).
    to_postgis
        Also write the analysis layers to PostGIS: ``postgresql://...?table=schema.prefix``
        gives tables ``prefix_available_land``, ``prefix_conflicts``, ``prefix_zone_summary``,
        written in one transaction after every local file is built.
    caps
        Vertex and feature caps of the layers read (default :class:`ReadCaps`).
    """
    pack = load_pack(pack_dir)
    validate_pack(pack)
    check_out_dir(out_dir, pack=pack.root)
    if to_postgis:
        analysis_postgis_targets(to_postgis)  # names checked before anything is read or written
    with read_caps(caps):
        loaded = load_pack_layers(pack)
    result = analyze_pack(loaded)
    warnings = list(loaded.report.warnings) + list(result.notes)
    with output_build(out_dir, pack=pack.root) as build:
        outputs = write_analysis(result, build.internal)
        index: Path | None = None
        pages: dict[str, Path] = {}
        if maps:
            from qzgeo.publish.maps import publish_maps

            published = publish_maps(
                pack,
                loaded.layers,
                {"available_land": result.available_land, "conflicts": result.conflicts},
                build.tmp,
                analysis_sensitivity=result.sensitivity,
                offline=offline,
                png=png,
                manifest_extra={"inputs": loaded.input_hashes, "pack": pack.name},
                public_manifest_extra={"inputs": _public_inputs(loaded), "pack": pack.name},
            )
            outputs.extend([*published.paths, *published.pngs.values()])
            outputs.extend(published.galleries.values())
            pages = published.maps
            index = published.index
            warnings.extend(w for w in published.warnings if w not in warnings)
        report = {
            "pack": pack.name,
            "summary": {
                "zones": len(result.zone_summary),
                "available_ha": round(result.total_available_ha, 4),
                "conflict_patches": len(result.conflicts),
            },
            **loaded.report.to_dict(),
            "warnings": warnings,
        }
        outputs.append(write_run_report(build.internal, report))
        tables = write_analysis_postgis(result, to_postgis) if to_postgis else []
        outputs = [build.final(p) for p in outputs]
        index = build.final(index) if index is not None else None
        pages = {mid: build.final(p) for mid, p in pages.items()}
    return PublishSummary(
        pack, build.out, index, outputs, result, loaded, warnings, tables, maps=pages
    )


# --- qzgeo analyze -------------------------------------------------------------------------


@dataclass
class AnalyzeSummary:
    """What :func:`run_analyze` computed and wrote."""

    result: gpd.GeoDataFrame
    files: list[Path]
    notes: list[str]
    repairs: RepairReport
    overlay: OverlayReport
    engine: str

    def one_line(self) -> str:
        """``N parcels, K in conflict, X ha available; repairs; retries; engine``."""
        n_conf = int(self.result["conflict"].sum())
        conflicts = "no conflicts" if n_conf == 0 else f"{n_conf} in conflict"
        return (
            f"{len(self.result)} parcels, {conflicts}, "
            f"{self.result['available_m2'].sum() / 10_000:.2f} ha available; "
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
    caps: ReadCaps | None = None,
) -> AnalyzeSummary:
    """Analyze a parcel layer against a pack and write ``parcels.gpkg`` and its tables.

    Parameters
    ----------
    parcels_path
        Parcel polygons in any format :func:`qzgeo.io.vector.read_layer` reads.
    out_dir
        Output folder (new, empty or qzgeo's own; see :mod:`qzgeo.io.outdir`):
        ``parcels.gpkg``, ``parcels_summary.csv`` (+ ``.xlsx``) and with ``make_map``
        ``parcels.html`` go to ``out_dir/public`` when every zone and constraint layer is
        public, else to ``out_dir/internal``; ``report.json`` always to ``internal``.
    pack_dir, layer, crs, datum
        Plan pack folder (default the bundled pack); reading options for the parcels.
    workers, use_dask, scheduler, progress
        Threads, or a local Dask cluster of ``workers`` processes, or the cluster at
        ``scheduler``; a progress bar on stderr.
    make_map, caps
        Also write ``parcels.html``; vertex and feature caps of the layers read.
    """
    pack = load_pack(pack_dir)
    validate_pack(pack)
    check_out_dir(out_dir, inputs=[parcels_path], pack=pack.root)
    with read_caps(caps):
        loaded = load_pack_layers(pack)
        parcels = read_layer(parcels_path, layer=layer, crs=crs, datum=datum)
    repairs = RepairReport()
    repairs.extend(loaded.report)
    parcels = repair_layer(parcels, layer_id="parcels", report=repairs, family="polygon")
    check_parcels(parcels, where=str(parcels_path))
    plan = build_parcel_plan(loaded)
    overlay = OverlayReport()
    result, engine = _run_engine(
        parcels,
        loaded,
        plan,
        overlay,
        workers=workers,
        use_dask=use_dask,
        scheduler=scheduler,
        progress=progress,
    )
    # public only if every layer the results derive from is (zones and constraints)
    used = (*pack.constraint_layers(), *pack.zone_layers())
    public = plan.sensitivity == "public" and all(s.is_public for s in used)
    if public:
        result = _published_zone_names(result, pack)
    with output_build(out_dir, inputs=[parcels_path], pack=pack.root) as build:
        part = build.public if public else build.internal
        outputs = write_parcel_outputs(
            result,
            plan,
            part,
            repairs=repairs,
            overlay_report=overlay,
            extra={"inputs": {Path(parcels_path).name: sha256_file(parcels_path)}},
            report_dir=build.internal,
        )
        notes = list(outputs.notes)
        files = [outputs.gpkg, outputs.csv, *([outputs.xlsx] if outputs.xlsx else [])]
        if make_map:
            files.append(_parcels_map(result, loaded, part, public=public, notes=notes))
        files = [build.final(f) for f in [*files, outputs.report]]
    return AnalyzeSummary(result, files, notes, repairs, overlay, engine)


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
    if use_dask or scheduler:
        from qzgeo.analysis.distributed import analyze_parcels_dask

        result = analyze_parcels_dask(
            parcels, loaded, scheduler=scheduler, n_workers=workers, report=overlay, plan=plan
        )
        return result, f"dask ({scheduler or f'local, {workers} processes'})"
    result = analyze_parcels(
        parcels, loaded, workers=workers, progress=progress, report=overlay, plan=plan
    )
    return result, f"threads ({workers})"


def _published_zone_names(result: gpd.GeoDataFrame, pack: Pack) -> gpd.GeoDataFrame:
    """Zone names only where every zone layer publishes them; else ``layer#fid``."""
    from qzgeo.publish.plans import zone_names_published

    if zone_names_published(pack):
        return result
    out = result.copy()
    inside = out["zone_layer"].astype(str) != ""
    label = out["zone_layer"].astype(str) + "#" + out["zone_fid"].astype(str)
    out["zone_name"] = label.where(inside, "")
    return out


def _parcels_map(
    result: gpd.GeoDataFrame, loaded: LoadedPack, out: Path, *, public: bool, notes: list[str]
) -> Path:
    import warnings

    from qzgeo.publish.parcels_map import publish_parcels_map

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = publish_parcels_map(
            result,
            loaded.pack,
            out / "parcels.html",
            sensitivity="public" if public else "internal",
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
    sensitivity: str = "internal"
    pack_root: Path | None = None
    inputs: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 when every site is clear, 1 when any conflicts (see :func:`exit_code`)."""
        return exit_code(self.reports)

    def render(self, fmt: str) -> str:
        """The reports as ``"text"``, ``"json"`` or ``"html"``."""
        from qzgeo.publish.site_report import reports_to_html, reports_to_json, reports_to_text

        render = {"json": reports_to_json, "text": reports_to_text, "html": reports_to_html}
        return render[fmt](self.reports)


CHECK_FILES = {"json": "check.json", "text": "check.txt", "html": "check.html"}


def write_check_report(summary: CheckSummary, fmt: str, out_dir: str | Path) -> Path:
    """Write the report into ``out_dir/public`` if every input is public, else ``/internal``.

    The site files are the user's own; the pack's layers count by their sensitivity, and
    ``--constraint`` files as internal (they are red lines). Returns the final path.
    """
    text = summary.render(fmt)
    name = CHECK_FILES[fmt]
    with output_build(out_dir, inputs=summary.inputs, pack=summary.pack_root, whole=False) as b:
        part, other = (
            (b.public, "internal") if summary.sensitivity == "public" else (b.internal, "public")
        )
        written = write_text(part / name, text)
        (b.out / other / name).unlink(missing_ok=True)  # an earlier report elsewhere is stale
    return written


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
    out_dir
        Where :func:`write_check_report` will write: checked before any work.
    caps
        Vertex and feature caps of the layers read.
    """
    pack = None if no_pack else load_pack(pack_dir)
    inputs = [split_source(s)[0] for s in (*sites, *constraints)]
    if out_dir is not None:
        check_out_dir(out_dir, inputs=inputs, pack=pack.root if pack else None)
    with read_caps(caps):
        site_gdf, warnings = read_sites(sites, crs=crs, datum=datum)
        context = SitingContext.from_pack(
            pack,
            constraint_sources=list(constraints) or None,
            class_field=class_field,
            mode=mode,
            crs=crs,
        )
    rep = context.report
    summary = rep.summary() if rep.records or rep.warnings else None
    reports = check_sites(site_gdf, context, label_field=label_field, with_patches=with_patches)
    warnings = [redact_text(w) for w in warnings]
    for r in reports:
        if r.source is not None:
            own = [w for w in warnings if w.startswith(f"{redact_text(r.source)}: ")]
            r.source = redact_text(r.source)
            r.warnings.extend(w for w in own if w not in r.warnings)
    public = not constraints and pack is not None and all(s.is_public for s in pack.layers.values())
    return CheckSummary(
        reports,
        [*warnings, *rep.warnings],
        summary,
        sensitivity="public" if public else "internal",
        pack_root=pack.root if pack else None,
        inputs=inputs,
    )
