"""The gallery's sketch of a map draws each class in its style colour, whatever the column type.

A zone layer classed by an integer code (用地代码 1, 2, 3: a GeoPackage INTEGER column) was drawn
in the layer's default colour on every gallery card made without `--png`, while `validate`
accepted the style keys "1", "2", "3" and the map, its PDF sheet and the QGIS project coloured
the classes. Read with the standard library's HTML parser, not qzgeo's code.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from decimal_class_pack import COLOURS, DEFAULT, PathFills, coded_pack

from qzgeo.cli.main import cli


def test_the_sketch_colours_integer_classes(tmp_path: Path) -> None:
    pack = coded_pack(tmp_path / "pack", [1, 2, 3])  # a GeoPackage INTEGER column
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["publish", "--pack", str(pack), "--out", str(out)])
    assert res.exit_code == 0, (res.output, res.exception)
    fills = PathFills.of((out / "public" / "index.html").read_text(encoding="utf-8"))
    assert set(COLOURS.values()) <= set(fills), fills
    assert DEFAULT not in fills  # every zone has a class of its own
