"""Options shared by several commands (the registry, as in rasterio's ``rio``)."""

from __future__ import annotations

from pathlib import Path

import click


def _announce_pack(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """Print which pack the command uses (and what chose it) on stderr."""
    if ctx.params.get("no_pack") or ctx.resilient_parsing:
        return value
    from qzgeo.pack.catalog import pack_name_of, resolve_pack_dir

    root, how = resolve_pack_dir(value)
    click.echo(f"pack: {pack_name_of(root)} ({root}; from {how})", err=True)
    return value


pack_opt = click.option(
    "--pack",
    "pack_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    callback=_announce_pack,
    help=(
        "Plan pack folder (layers/, styles/, maps/). Default: $QZGEO_PACK, else `pack = ...` "
        "in ./qzgeo.toml, else the bundled pack."
    ),
)

out_opt = click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder. Default: ./qzgeo-out (created if needed).",
)

crs_opt = click.option(
    "--crs",
    "crs",
    default=None,
    help="CRS of inputs that lack one, e.g. EPSG:4490 or a GK zone. Never guessed.",
)

from_gcj02_opt = click.option(
    "--from-gcj02",
    is_flag=True,
    default=False,
    help="Inputs are GCJ-02 (AMap) lon/lat: convert them to WGS84/CGCS2000 on load.",
)

DEFAULT_OUT = Path("qzgeo-out")


def resolve_out(out_dir: Path | None) -> Path:
    """Output folder chosen by the user, or the default."""
    return out_dir if out_dir is not None else DEFAULT_OUT
