"""`qzgeo suitability`: grade the study area of a pack by a 双评价 suitability model."""

from __future__ import annotations

import re
import time
from pathlib import Path

import click

from qzgeo.cli.options import caps_options, out_opt, pack_opt, resolve_out
from qzgeo.publish.suitability_run import run_suitability

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


def _parse_rasters(dem: Path | None, pairs: tuple[str, ...]) -> dict[str, Path]:
    rasters: dict[str, Path] = {}
    if dem is not None:
        rasters["dem"] = dem
    for pair in pairs:
        name, sep, path = pair.partition("=")
        if not sep or not _NAME_RE.match(name) or not path:
            msg = f"{pair!r} is not NAME=FILE (NAME lower-case, e.g. landcover=lc.tif)"
            raise click.BadParameter(msg, param_hint="--raster")
        if name in rasters:
            msg = f"raster {name!r} is given twice (--dem is the raster 'dem'); give it once"
            raise click.BadParameter(msg, param_hint="--raster")
        rasters[name] = Path(path)
    return rasters


@click.command(name="suitability")
@pack_opt
@click.option(
    "--model", "model", default=None, help="Model name: suitability/NAME.toml of the pack."
)
@click.option(
    "--dem",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="DEM (GeoTIFF, .img or .asc with a CRS, or an SRTM tile such as N31E117.hgt; heights "
    "in metres or declared feet): 'dem'.",
)
@click.option(
    "--raster",
    "raster_pairs",
    multiple=True,
    metavar="NAME=FILE",
    help="Another raster the model names, e.g. landcover=lc.tif (repeatable).",
)
@click.option(
    "--resolution",
    "resolution",
    type=float,
    default=None,
    help="Cell size in metres (default: the model's resolution_m).",
)
@click.option(
    "--height-range",
    "heights",
    type=float,
    nargs=2,
    default=None,
    metavar="LOWEST HIGHEST",
    help="Valid heights of the DEM in metres (default land's: -1000 9000); others are refused "
    "as fill values. For a sea-floor DEM, e.g. --height-range -9000 100.",
)
@click.option("--internal", is_flag=True, help="The rasters are internal data: outputs internal.")
@click.option(
    "--progress/--no-progress", default=None, help="Progress bar (default: on a terminal)."
)
@out_opt
@caps_options
def command(
    pack_dir: Path | None,
    model: str | None,
    dem: Path | None,
    raster_pairs: tuple[str, ...],
    resolution: float | None,
    heights: tuple[float, float] | None,
    internal: bool,
    progress: bool | None,
    out_dir: Path | None,
) -> None:
    """Construction suitability (双评价): COGs, an area table per zone and class, and a map."""
    started = time.perf_counter()
    if resolution is not None and not resolution > 0:
        msg = f"{resolution!r} is not a positive number of metres; use e.g. --resolution 30"
        raise click.BadParameter(msg, param_hint="--resolution")
    rasters = _parse_rasters(dem, raster_pairs)
    result = run_suitability(
        pack_dir,
        model=model,
        rasters=rasters,
        resolution_m=resolution,
        out_dir=resolve_out(out_dir),
        internal=internal,
        progress=progress,
        heights=heights,
    )
    for w in result.warnings:
        click.echo(f"warning: {w}", err=True)
    m = result.model
    click.echo(f"model: {m.name} ({m.title}); factors used: {', '.join(result.used)}")
    for d in result.missing:
        click.echo(f"factor missing: {d['factor']} ({d['title']}): {d['action']}")
    ha = {k: v / 1e4 for k, v in result.totals.items()}
    parts = ", ".join(f"{c.name} {ha.get(c.name, 0.0):,.1f}" for c in m.classes)
    click.echo(f"公顷: {parts}; 未评价 {ha.get('未评价', 0.0):,.1f}")
    click.echo(f"{result.sensitivity}: wrote {result.out_dir.resolve()}")
    click.echo(
        f"map: {(result.out_dir / 'map.html').resolve()} [{time.perf_counter() - started:.1f} s]"
    )
