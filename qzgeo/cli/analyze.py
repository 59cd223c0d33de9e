"""`qzgeo analyze`: zone, constraint overlaps, available area and conflict of every parcel."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from qzgeo.cache_store import is_refusal
from qzgeo.cli.options import (
    crs_opt,
    from_gcj02_opt,
    max_features_opt,
    max_vertices_opt,
    out_opt,
    pack_opt,
    printable,
    public_opt,
    read_caps_from,
    reading_options,
    resolve_out,
)

if TYPE_CHECKING:
    from qzgeo.io.vector import ReadOptions


@click.command(name="analyze")
@click.option(
    "--parcels",
    "parcels_path",
    required=True,
    metavar="FILE|URI",
    help="Parcel polygons (GeoPackage, Shapefile, GeoJSON, MapInfo, FlatGeobuf...) or a PostGIS "
    "table: postgresql://user@host/db?table=schema.name (rows named by its primary key).",
)
@click.option(
    "--layer",
    default=None,
    help="Layer of the parcels file (default: its only layer with geometry).",
)
@pack_opt
@out_opt
@public_opt
@crs_opt
@from_gcj02_opt
@reading_options
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help=(
        "Worker processes for files (or keyed PostGIS tables) of 50 000 parcels or more "
        "(threads for smaller ones), or local Dask worker processes with --dask."
    ),
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
@max_vertices_opt
@max_features_opt
@click.option(
    "--chunk-rows",
    type=click.IntRange(min=1),
    default=None,
    help="Read, analyze and write this many parcels at a time (bounded memory). Default, "
    "for GeoPackage, FlatGeobuf, Shapefile and PostGIS tables with a one-column primary key "
    "(read in key order): about 1/16 of a file of 50 000 parcels or more "
    "(25 000 to 250 000) in worker processes; with --workers 1, --dask or --scheduler, "
    "chunks of 250 000 for files of more than 500 000 parcels. Not with --map.",
)
def command(
    parcels_path: str,
    layer: str | None,
    pack_dir: Path | None,
    out_dir: Path | None,
    public: bool,
    crs: str | None,
    from_gcj02: bool,
    read_options: ReadOptions,
    workers: int,
    use_dask: bool,
    scheduler: str | None,
    progress: bool | None,
    make_map: bool,
    max_vertices: int | None,
    max_features: int | None,
    chunk_rows: int | None,
) -> None:
    """Analyze parcels against a plan pack: parcels.gpkg, parcels_summary.csv, parcels_report.json.

    The results go to OUT/internal: they hold every column of the parcel file. With --public,
    to OUT/public (to post) when every layer they derive from is public, else exit 2;
    parcels_report.json always to OUT/internal.
    """
    from qzgeo.pipeline import run_analyze

    started = time.perf_counter()
    if scheduler is not None and not scheduler.startswith(("tcp://", "tls://", "inproc://")):
        msg = f"expected a Dask scheduler address like tcp://host:8786, got {scheduler!r}"
        raise click.BadParameter(msg, param_hint="--scheduler")
    if chunk_rows is not None and make_map:
        msg = (
            f"--chunk-rows {chunk_rows} streams the parcels, but --map needs every parcel at "
            "once; leave out one of them"
        )
        raise click.BadParameter(msg, param_hint="--chunk-rows")
    from qzgeo.io.layer_info import layer_form_hint
    from qzgeo.io.postgis_uri import is_postgis_uri

    if not is_postgis_uri(parcels_path) and not Path(parcels_path).exists():
        msg = f"{parcels_path} does not exist; {layer_form_hint(parcels_path) or 'check the path'}"
        raise click.BadParameter(msg, param_hint="--parcels")
    summary = run_analyze(
        parcels_path if is_postgis_uri(parcels_path) else Path(parcels_path),
        resolve_out(out_dir),
        pack_dir=pack_dir,
        layer=layer,
        crs=crs,
        datum="gcj02" if from_gcj02 else None,
        workers=workers,
        use_dask=use_dask,
        scheduler=scheduler,
        progress=progress if progress is not None else sys.stderr.isatty(),
        make_map=make_map,
        caps=read_caps_from(max_vertices, max_features),
        read_options=read_options,
        chunk_rows=chunk_rows,
        processes=True,  # the qzgeo command's entry point is import-safe for workers
        public=public,
    )
    for note in summary.notes:
        click.echo(f"note: {printable(note)}", err=True)
    said = summary.overlaps.message() if summary.overlaps is not None else None
    if said is not None:  # the totals below count shared land twice: not only in the report
        click.echo(f"warning: {printable(said)}", err=True)
    for w in filter(is_refusal, summary.repairs.warnings):  # else only slow runs would show it
        click.echo(f"warning: {printable(w)}", err=True)
    click.echo(f"wrote {', '.join(str(f) for f in summary.files)}")
    if summary.audience is not None:  # beside the files: what posting OUT/public means
        click.echo(f"{'warning' if public else 'note'}: {printable(summary.audience)}")
    click.echo(f"{summary.one_line()} [{time.perf_counter() - started:.1f} s]")
