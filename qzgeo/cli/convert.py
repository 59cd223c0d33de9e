"""`qzgeo convert` (being built)."""

from __future__ import annotations

import click


@click.command(name="convert")
def command() -> None:
    """Not available yet in this build."""
    msg = "qzgeo convert is not available in this build"
    raise click.ClickException(msg)
