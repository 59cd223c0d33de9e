"""`qzgeo analyze` (being built)."""

from __future__ import annotations

import click


@click.command(name="analyze")
def command() -> None:
    """Not available yet in this build."""
    msg = "qzgeo analyze is not available in this build"
    raise click.ClickException(msg)
