"""`qzgeo publish` (being built)."""

from __future__ import annotations

import click


@click.command(name="publish")
def command() -> None:
    """Not available yet in this build."""
    msg = "qzgeo publish is not available in this build"
    raise click.ClickException(msg)
