"""The gallery's sketch of a map draws each class in its style colour, whatever the column type.

A zone layer classed by an integer code (用地代码 1, 2, 3: a GeoPackage INTEGER column) was drawn
in the layer's default colour on every gallery card made without `--png`, while `validate`
accepted the style keys "1", "2", "3" and the map, its PDF sheet and the QGIS project coloured
the classes. Read with the standard library's HTML parser, not qzgeo's code.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import geopandas as gpd
import shapely
from click.testing import CliRunner
from packs import new_pack

from qzgeo.cli.main import cli

COLOURS = {1: "#E41A1C", 2: "#377EB8", 3: "#4DAF4A"}
DEFAULT = "#BB9674"  # new-pack's zone fill


class _Fills(HTMLParser):
    """The ``fill`` of every ``<path>`` of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.fills: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "path" and a.get("fill"):
            self.fills.append((a["fill"] or "").upper())


def _pack(tmp_path: Path) -> Path:
    pack = new_pack(tmp_path / "pack", "121.1,41.1")
    strips = [shapely.box(121.09 + 0.01 * i, 41.09, 121.10 + 0.01 * i, 41.11) for i in range(3)]
    gpd.GeoDataFrame(
        {"名称": ["甲", "乙", "丙"], "代码": [1, 2, 3]}, geometry=strips, crs="EPSG:4490"
    ).to_file(pack / "layers" / "zones.gpkg", layer="zones")
    cat = pack / "layers" / "catalog.toml"
    text = cat.read_text(encoding="utf-8")
    text = text.replace('path = "zones.geojson"', 'path = "zones.gpkg"\nclass_field = "代码"', 1)
    old_fields = 'publish_fields = ["名称", "来源", "精度"]'
    text = text.replace(old_fields, 'publish_fields = ["名称", "代码"]', 1)
    cat.write_text(text, encoding="utf-8")
    styles = pack / "styles" / "layers.toml"
    classes = "".join(f'\n[zones.classes."{k}"]\nfill = "{c}"\n' for k, c in COLOURS.items())
    text = styles.read_text(encoding="utf-8")
    text = text.replace("\n[control_lines]", classes + "\n[control_lines]", 1)
    styles.write_text(text, encoding="utf-8")
    return pack


def test_the_sketch_colours_integer_classes(tmp_path: Path) -> None:
    pack = _pack(tmp_path)
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["publish", "--pack", str(pack), "--out", str(out)])
    assert res.exit_code == 0, (res.output, res.exception)
    parser = _Fills()
    parser.feed((out / "public" / "index.html").read_text(encoding="utf-8"))
    assert set(COLOURS.values()) <= set(parser.fills), parser.fills
    assert DEFAULT not in parser.fills  # every zone has a class of its own
