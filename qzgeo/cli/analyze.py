"""`qzgeo analyze`: zone, constraint overlaps, available area and conflict of every parcel."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from qzgeo.cli.options import crs_opt, from_gcj02_opt, out_opt, pack_opt, resolve_out

if TYPE_CHECKING:
    from geopandas import GeoDataFrame

    from qzgeo.pack.load import LoadedPack


@click.command(name="analyze")
@click.option(
    "--parcels",
    "parcels_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Parcel polygons (GeoPackage, Shapefile, GeoJSON, FlatGeobuf...).",
)
@click.option("--layer", default=None, help="Layer of the parcels file (default: the first).")
@pack_opt
@out_opt
@crs_opt
@from_gcj02_opt
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Threads on this machine, or local Dask worker processes with --dask.",
)
@click.option("--dask", "use_dask", is_flag=True, help="Run on a local Dask cluster.")
@click.option(
    "--scheduler",
    metavar="URL",
    default=None,
    help="Run on the Dask cluster at this scheduler, e.g. tcp://host:8786.",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress bar on stderr (default: only when stderr is a terminal).",
)
@click.option(
    "--map",
    "make_map",
    is_flag=True,
    help="Also write parcels.html: an offline map of the parcels coloured by state.",
)
def command(
    parcels_path: Path,
    layer: str | None,
    pack_dir: Path | None,
    out_dir: Path | None,
    crs: str | None,
    from_gcj02: bool,
    workers: int,
    use_dask: bool,
    scheduler: str | None,
    progress: bool | None,
    make_map: bool,
) -> None:
    """Analyse parcels against a plan pack: parcels.gpkg, parcels_summary.csv, report.json."""
    from qzgeo.analysis.overlay import OverlayReport
    from qzgeo.analysis.parcels import (
        analyze_parcels,
        build_parcel_plan,
        check_parcels,
        write_parcel_outputs,
    )
    from qzgeo.geo.repair import RepairReport, repair_layer
    from qzgeo.io.vector import read_layer, sha256_file
    from qzgeo.pack.catalog import load_pack
    from qzgeo.pack.load import load_pack_layers
    from qzgeo.pack.validate import validate_pack

    started = time.perf_counter()
    if scheduler is not None and not scheduler.startswith(("tcp://", "tls://", "inproc://")):
        msg = f"expected a Dask scheduler address like tcp://host:8786, got {scheduler!r}"
        raise click.BadParameter(msg, param_hint="--scheduler")
    if not parcels_path.exists():
        msg = f"{parcels_path} does not exist"
        raise click.BadParameter(msg, param_hint="--parcels")
    out = resolve_out(out_dir)
    show = progress if progress is not None else sys.stderr.isatty()

    pack = load_pack(pack_dir)
    validate_pack(pack)
    loaded = load_pack_layers(pack)
    parcels = read_layer(parcels_path, layer=layer, crs=crs, datum="gcj02" if from_gcj02 else None)
    repairs = RepairReport()
    repairs.extend(loaded.report)
    parcels = repair_layer(parcels, layer_id="parcels", report=repairs, family="polygon")
    check_parcels(parcels, where=str(parcels_path))
    plan = build_parcel_plan(loaded)
    overlay_report = OverlayReport()
    if use_dask or scheduler:
        from qzgeo.analysis.distributed import analyze_parcels_dask

        result = analyze_parcels_dask(
            parcels,
            loaded,
            scheduler=scheduler,
            n_workers=workers,
            report=overlay_report,
            plan=plan,
        )
        engine = f"dask ({scheduler or f'local, {workers} processes'})"
    else:
        result = analyze_parcels(
            parcels, loaded, workers=workers, progress=show, report=overlay_report, plan=plan
        )
        engine = f"threads ({workers})"
    outputs = write_parcel_outputs(
        result,
        plan,
        out,
        repairs=repairs,
        overlay_report=overlay_report,
        extra={"inputs": {parcels_path.name: sha256_file(parcels_path)}},
    )
    notes = list(outputs.notes)
    html = _write_map(result, loaded, plan.sensitivity, out, notes) if make_map else None
    for note in notes:
        click.echo(f"note: {note}", err=True)
    n_conf = int(result["conflict"].sum())
    files = [outputs.gpkg, outputs.csv, *([outputs.xlsx] if outputs.xlsx else []), outputs.report]
    files += [html] if html else []
    click.echo(f"wrote {', '.join(str(f) for f in files)}")
    click.echo(
        f"{len(result)} parcels, {n_conflicts_text(n_conf)}, "
        f"{result['available_m2'].sum() / 10_000:.2f} ha available; {repairs.summary()}; "
        f"{len(overlay_report.retries)} overlay retries; {engine} "
        f"[{time.perf_counter() - started:.1f} s]"
    )


def _write_map(
    result: GeoDataFrame, loaded: LoadedPack, sensitivity: str, out: Path, notes: list[str]
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


def n_conflicts_text(n: int) -> str:
    return "no conflicts" if n == 0 else f"{n} in conflict"
