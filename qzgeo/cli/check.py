"""`qzgeo check`: the siting check (选址合规性检查) of site polygons against a plan pack."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from qzgeo.cli.options import (
    crs_opt,
    from_gcj02_opt,
    max_features_opt,
    max_vertices_opt,
    out_opt,
    pack_opt,
    printable,
    read_caps_from,
    reading_options,
    resolve_out,
)

if TYPE_CHECKING:
    from qzgeo.io.vector import ReadOptions

#: Formats written to a file (in ./qzgeo-out without --out), never to stdout.
FILE_FORMATS = ("html", "gpkg")


@click.command(name="check")
@click.argument("sites", nargs=-1, required=True, metavar="SITE...")
@pack_opt
@click.option(
    "--no-pack",
    is_flag=True,
    default=False,
    help="Use no plan pack: check against --constraint layers only (no zones, no distances).",
)
@click.option(
    "--constraint",
    "constraints",
    multiple=True,
    metavar="PATH[:LAYER]",
    help="Red-line polygon layer that REPLACES the pack's constraints (repeatable).",
)
@click.option(
    "--class-field",
    default=None,
    help="Class column of the --constraint layers (default 类别/class/CLASS/DLMC, else the "
    "layer or file name).",
)
@click.option(
    "--mode",
    type=click.Choice(["auto", "exclusion", "boundary"]),
    default=None,
    help="Mode of the --constraint classes: auto (城镇开发边界 = boundary, rest exclusion), "
    "or all exclusion / all boundary.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "html", "gpkg"]),
    default="text",
    show_default=True,
    help="Report format. gpkg: layers sites (verdicts, areas) and conflict_patches "
    "(冲突图斑: where each constraint takes land), CGCS2000 lon/lat, to open in QGIS.",
)
@out_opt
@click.option(
    "--label-field",
    default=None,
    help="Site column naming the sites (default: 名称, 地块名称, 项目名称, 宗地代码/ZDDM, "
    "地块编号 or name, the first with a value; the JSON says which as site_field).",
)
@crs_opt
@from_gcj02_opt
@max_vertices_opt
@max_features_opt
@reading_options
@click.pass_context
def command(
    ctx: click.Context,
    sites: tuple[str, ...],
    pack_dir: Path | None,
    no_pack: bool,
    constraints: tuple[str, ...],
    class_field: str | None,
    mode: str | None,
    fmt: str,
    out_dir: Path | None,
    label_field: str | None,
    crs: str | None,
    from_gcj02: bool,
    max_vertices: int | None,
    max_features: int | None,
    read_options: ReadOptions,
) -> None:
    """Check SITE polygons against the plan's constraints and zones, and measure distances.

    SITE is a GeoPackage (PATH:LAYER), Shapefile, GeoJSON, KML (奥维, Google Earth), GML, DXF,
    MapInfo (.tab, .mif), FlatGeobuf, GeoParquet, FileGDB, CSV with a WKT column or 界址点坐标
    .txt file; every
    polygon feature is a site. Distances are measured to the layers the pack lists in
    [[distances]]. --crs and the reading options (--encoding, --swap-xy, ...) apply to every
    input; --from-gcj02 to the SITE files only (red-line files are never GCJ-02). Every
    warning about a site's file is in that site's report.

    The report goes to stdout (text, json) or to DIR/public/check.* (every input public) or
    DIR/internal/check.* with --out DIR; html and gpkg without --out go to ./qzgeo-out.

    Exit code 0: all sites clear; 1: a site conflicts with a constraint, lies partly
    outside the 城镇开发边界, or lies partly outside the pack's extent or the land its
    coverage_layer covers (verdict "incomplete": no plan data there); 2: bad input.

    \b
    Examples:
      qzgeo check site.geojson
      qzgeo check a.shp b.gpkg:sites --format json --out report/
      qzgeo check site.txt --crs EPSG:4527 --no-pack --constraint 红线.shp
    """
    from qzgeo.pipeline import run_check, write_check_report

    if no_pack and pack_dir is not None:
        msg = "give either --pack DIR or --no-pack, not both"
        raise click.BadParameter(msg, param_hint="--no-pack")
    if no_pack and not constraints:
        msg = "--no-pack needs at least one --constraint layer to check against"
        raise click.BadParameter(msg, param_hint="--no-pack")
    if (class_field is not None or mode is not None) and not constraints:
        msg = "--class-field and --mode describe --constraint layers; add --constraint PATH"
        raise click.BadParameter(msg, param_hint="--class-field/--mode")
    summary = run_check(
        sites,
        pack_dir=pack_dir,
        no_pack=no_pack,
        constraints=constraints,
        class_field=class_field,
        mode=mode,
        crs=crs,
        datum="gcj02" if from_gcj02 else None,
        label_field=label_field,
        with_patches=fmt in FILE_FORMATS,
        out_dir=None if out_dir is None and fmt not in FILE_FORMATS else resolve_out(out_dir),
        caps=read_caps_from(max_vertices, max_features),
        read_options=read_options,
    )
    for w in summary.warnings:
        click.echo(f"warning: {printable(w)}", err=True)
    for w in summary.repairs:  # as a site's report and analyze's report file them
        click.echo(f"repair: {printable(w)}", err=True)
    if summary.context_summary:
        click.echo(f"constraint and pack layers: {printable(summary.context_summary)}", err=True)
    if out_dir is None and fmt not in FILE_FORMATS:
        text = summary.render(fmt)
        click.echo(printable(text) if fmt == "text" else text, nl=False)
    else:
        target = write_check_report(summary, fmt, resolve_out(out_dir))
        click.echo(f"wrote {target}", err=True)
    ctx.exit(summary.exit_code)
