"""`qzgeo check` (being built)."""

from __future__ import annotations

import click


@click.command(name="check")
def command() -> None:
    """Not available yet in this build."""
    msg = "qzgeo check is not available in this build"
    raise click.ClickException(msg)
