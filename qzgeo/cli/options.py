"""Options shared by several commands (the registry, as in rasterio's ``rio``)."""

from __future__ import annotations

from pathlib import Path

import click

from qzgeo.io.guard import ReadCaps


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


# --- caps on what a read may hold (issue 10) ------------------------------------------------

max_vertices_opt = click.option(
    "--max-vertices",
    "max_vertices",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Refuse a feature with more than N vertices (default 1,000,000).",
)

max_features_opt = click.option(
    "--max-features",
    "max_features",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Refuse a layer with more than N features (default 5,000,000).",
)


def read_caps_from(max_vertices: int | None, max_features: int | None) -> ReadCaps:
    """The :class:`~qzgeo.io.guard.ReadCaps` of ``--max-vertices`` / ``--max-features``."""
    caps = ReadCaps()
    return ReadCaps(
        max_vertices=max_vertices or caps.max_vertices,
        max_features=max_features or caps.max_features,
    )


def printable(text: object) -> str:
    """``text`` safe for a terminal: control characters (ESC, BEL, CSI...) shown escaped."""
    return "".join(
        c if c in "\n\t" or not (ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0) else repr(c)[1:-1]
        for c in str(text)
    )
