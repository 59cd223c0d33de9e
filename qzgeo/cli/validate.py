"""`qzgeo validate`: check a plan pack and list every problem at once."""

from __future__ import annotations

from pathlib import Path

import click

from qzgeo.cli.options import pack_opt
from qzgeo.pack.catalog import load_pack
from qzgeo.pack.coverage import coverage_reach_warnings
from qzgeo.pack.load import load_pack_layers
from qzgeo.pack.validate import check_pack, pack_warnings


@click.command(name="validate")
@pack_opt
def command(pack_dir: Path | None) -> None:
    """Check a plan pack: catalog, data files, styles and maps. Exit code 2 on problems.

    A valid pack is then loaded as `qzgeo publish` loads it, and every warning that publish
    would give about the pack and its layers is printed (layers partly outside the extent, a
    catalog `crs` a file overrides, an encoding guessed, zones of one layer that overlap...).
    """
    pack = load_pack(pack_dir)
    problems = check_pack(pack)
    if problems:
        click.echo(f"{pack.root}: {len(problems)} problem(s)", err=True)
        for p in problems:
            click.echo(f"  - {p}", err=True)
        raise SystemExit(2)
    loaded = load_pack_layers(pack)
    reach = coverage_reach_warnings(pack, loaded.layers, loaded.coverage)
    for w in pack_warnings(pack) + list(loaded.report.warnings) + reach:
        click.echo(f"warning: {w}", err=True)
    click.echo(
        f"{pack.root}: OK ({len(pack.layers)} layers, {len(pack.styles)} styles, "
        f"{len(pack.maps)} maps)"
    )
