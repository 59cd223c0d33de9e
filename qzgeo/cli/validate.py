"""`qzgeo validate`: check a plan pack and list every problem at once."""

from __future__ import annotations

from pathlib import Path

import click

from qzgeo.analysis.suitability.model import list_models
from qzgeo.analysis.suitability.problems import model_problems
from qzgeo.cache_store import take_refusals
from qzgeo.cli.options import caps_options, pack_opt
from qzgeo.notices import counted
from qzgeo.pack.catalog import load_pack
from qzgeo.pack.coverage import coverage_reach_warnings
from qzgeo.pack.load import load_pack_layers
from qzgeo.pack.model import ANALYSIS_OUTPUTS, Pack
from qzgeo.pack.validate import check_pack, pack_warnings
from qzgeo.publish.checks import published_field_problems, style_problems
from qzgeo.publish.plans import unused_basemap_warnings


@click.command(name="validate")
@pack_opt
@caps_options
def command(pack_dir: Path | None) -> None:
    """Check a plan pack: catalog, data files, styles and maps. Exit code 2 on problems.

    A valid pack is then loaded as `qzgeo publish` loads it, and every warning that publish
    would give about the pack and its layers is printed (layers partly outside the extent, a
    catalog `crs` a file overrides, an encoding guessed, zones of one layer that overlap...).
    """
    take_refusals()  # a cache folder refused before this run is said again if it still is
    pack = load_pack(pack_dir)
    problems = check_pack(pack) + _publish_problems(pack) + model_problems(pack)
    if problems:
        click.echo(f"{pack.root}: {len(problems)} problem(s)", err=True)
        for p in problems:
            click.echo(f"  - {p}", err=True)
        raise SystemExit(2)
    loaded = load_pack_layers(pack)
    reach = coverage_reach_warnings(pack, loaded.layers, loaded.coverage)
    warnings = pack_warnings(pack) + list(loaded.report.warnings) + reach + _map_warnings(pack)
    warnings += take_refusals()  # a cache folder refused while loading: runs are slower
    # a feature publish leaves out is said here too: validate said OK over a pack whose only
    # zone (a NaN coordinate) publish then dropped
    warnings += [
        f"layer {r.layer!r} feature {r.feature_id}: {r.reason}; publish leaves it out (fix the "
        "feature in the file)"
        for r in loaded.report.dropped
    ]
    for w in dict.fromkeys(warnings):
        click.echo(f"warning: {w}", err=True)
    models = len(list_models(pack))
    click.echo(
        f"{pack.root}: OK ({counted(len(pack.layers), 'layer')}, "
        f"{counted(len(pack.styles), 'style')}, {counted(len(pack.maps), 'map')}"
        + (f", {counted(models, 'suitability model')})" if models else ")")
    )


def _publish_problems(pack: Pack) -> list[str]:
    """What `publish` refuses beyond `check_pack`: a public map's style reading a field its
    layer does not publish, a colour or dash that cannot be drawn."""
    internal = any(not s.is_public for s in pack.analysis_inputs())
    sens = {name: "internal" if internal else "public" for name in ANALYSIS_OUTPUTS}
    fields = [p for m in pack.maps.values() for p in published_field_problems(pack, m, sens)]
    return fields + style_problems(pack, sorted(pack.styles))  # the QGIS project draws all


def _map_warnings(pack: Pack) -> list[str]:
    """The warnings `publish` gives about the maps' basemaps (not about a missing 天地图 key:
    that is the machine's, not the pack's)."""
    return [w for m in pack.maps.values() for w in unused_basemap_warnings(m)]
