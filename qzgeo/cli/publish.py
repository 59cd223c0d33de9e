"""`qzgeo publish`: the main job — validate, analyze and publish a plan pack's maps."""

from __future__ import annotations

import time
from pathlib import Path

import click

from qzgeo.cli.options import (
    max_features_opt,
    max_vertices_opt,
    out_opt,
    pack_opt,
    printable,
    read_caps_from,
    resolve_out,
)
from qzgeo.pipeline import run_publish


def _check_sheet_options(pdf: bool, paper: str | None, orientation: str | None) -> None:
    """Refuse sheet options without --pdf; with it, fail on a missing extra before any work."""
    if not pdf:
        for hint, value in (("--paper", paper), ("--orientation", orientation)):
            if value is not None:
                msg = f"{hint} {value} sets the paper of the PDF sheets only; add --pdf or drop it"
                raise click.BadParameter(msg, param_hint=hint)
        return
    from qzgeo.publish.sheets import require_sheets

    require_sheets()  # the pdf extra and a CJK font, before the pack is analysed


@click.command(name="publish")
@pack_opt
@out_opt
@click.option(
    "--offline/--online",
    default=True,
    hidden=True,  # every page inlines its scripts; --offline is kept for existing scripts
    help="Removed: --online linked Leaflet from a foreign CDN.",
)
@click.option("--png", is_flag=True, help="Also write a PNG of each map (needs chromium).")
@click.option("--pdf", is_flag=True, help="Also write a print-ready vector PDF sheet per map.")
@click.option(
    "--paper",
    type=click.Choice(["A4", "A3", "A1"], case_sensitive=False),
    default=None,
    help="Paper of the PDF sheets [default: the map's `paper`, else A3].",
)
@click.option(
    "--orientation",
    type=click.Choice(["landscape", "portrait"], case_sensitive=False),
    default=None,
    help="Orientation of the PDF sheets [default: the map's, else landscape].",
)
@click.option("--no-maps", is_flag=True, help="Validate and analyze only; build no HTML.")
@click.option(
    "--to-postgis",
    metavar="URI",
    default=None,
    help="Also write the analysis layers to PostGIS: postgresql://user@host/db?table=schema.prefix",
)
@max_vertices_opt
@max_features_opt
def command(
    pack_dir: Path | None,
    out_dir: Path | None,
    offline: bool,
    png: bool,
    pdf: bool,
    paper: str | None,
    orientation: str | None,
    no_maps: bool,
    to_postgis: str | None,
    max_vertices: int | None,
    max_features: int | None,
) -> None:
    """Validate → analyze → publish maps. With no options: the pack `qzgeo --help` describes.

    OUT/public/ is the folder to post as it is: the public maps, their gallery and manifest.
    OUT/internal/ holds what must not be posted: internal maps, the analysis GeoPackage and
    tables (red-line areas), report.json, the QGIS project.
    """
    started = time.perf_counter()
    if not offline:
        msg = (
            "--online linked Leaflet from a foreign CDN (jsDelivr, slow or blocked in many "
            "networks) and is gone: every page now carries its own scripts and opens "
            "anywhere, offline too. Drop --online"
        )
        raise click.BadParameter(msg, param_hint="--online")
    out = resolve_out(out_dir)
    if png:
        import importlib.util

        try:
            found = importlib.util.find_spec("playwright.sync_api") is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            msg = (
                "--png needs Playwright to drive the headless browser: "
                "pip install playwright (it uses the system Chromium); or drop --png"
            )
            raise click.BadParameter(msg, param_hint="--png")
    if to_postgis is not None:
        from qzgeo.io.postgis_uri import is_postgis_uri, redact_uri

        if not is_postgis_uri(to_postgis):
            shown = redact_uri(to_postgis)
            msg = f"expected postgresql://user@host/db?table=schema.prefix, got {shown!r}"
            raise click.BadParameter(msg, param_hint="--to-postgis")
    if no_maps and pdf:
        msg = "--pdf draws the maps; drop --no-maps or --pdf"
        raise click.BadParameter(msg, param_hint="--pdf")
    _check_sheet_options(pdf, paper, orientation)
    summary = run_publish(
        pack_dir,
        out,
        png=png,
        maps=not no_maps,
        to_postgis=to_postgis,
        caps=read_caps_from(max_vertices, max_features),
        pdf=pdf,
        paper=paper.upper() if paper else None,
        orientation=orientation,
    )
    for w in summary.warnings:
        click.echo(f"warning: {printable(w)}", err=True)
    repairs = summary.loaded.report.summary()
    click.echo(f"public (post this folder as it is): {summary.public_dir}")
    click.echo(f"internal (staff only; analysis, report.json): {summary.internal_dir} ({repairs})")
    for path in (p for p in summary.outputs if p.suffix == ".qgz"):
        click.echo(f"QGIS project (internal): {path}")
    sheets = [p for p in summary.outputs if p.suffix == ".pdf"]
    if sheets:
        parts = sorted({p.parent.name for p in sheets})
        click.echo(f"sheets: {len(sheets)} PDF beside their pages in {', '.join(parts)}")
    for table in summary.postgis:
        click.echo(f"PostGIS table: {table}")
    click.echo(f"{summary.pack.name}: {summary.one_line()} [{time.perf_counter() - started:.1f} s]")
