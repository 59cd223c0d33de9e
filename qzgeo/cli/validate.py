"""`qzgeo validate` (being built)."""

from __future__ import annotations

import click


@click.command(name="validate")
def command() -> None:
    """Not available yet in this build."""
    msg = "qzgeo validate is not available in this build"
    raise click.ClickException(msg)
