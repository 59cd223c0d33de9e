"""A pack whose zones are classed by a decimal column (REAL 1.0, 2.0, 3.0), as ArcGIS exports.

The styles name the classes either as the integers ("1", "2", "3") or as the decimals ("1.0",
"2.0", "3.0"); both must validate and colour every zone in its class colour everywhere.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely
from click.testing import CliRunner
from packs import new_pack

from qzgeo.cli.main import cli

COLOURS = {1: "#E41A1C", 2: "#377EB8", 3: "#4DAF4A"}
DEFAULT = "#BB9674"  # new-pack's zone fill
NAMES = {1: "甲", 2: "乙", 3: "丙"}
SPELLINGS = {"int_keys": "{}", "decimal_keys": "{}.0"}


def strips() -> list[shapely.Polygon]:
    return [shapely.box(121.09 + 0.01 * i, 41.09, 121.10 + 0.01 * i, 41.11) for i in range(3)]


def decimal_pack(folder: Path, spelling: str) -> Path:
    """new-pack's pack with zones classed by 代码 REAL 1.0/2.0/3.0, style keys per ``spelling``."""
    return coded_pack(folder, [1.0, 2.0, 3.0], spelling)


def coded_pack(folder: Path, codes: list[float] | list[int], spelling: str = "int_keys") -> Path:
    """new-pack's pack with three zones classed by a 代码 column of ``codes`` (REAL for floats,
    INTEGER for ints), one style class per code spelled per ``spelling``."""
    pack = new_pack(folder, "121.1,41.1")
    gdf = gpd.GeoDataFrame(
        {"名称": list(NAMES.values()), "代码": codes}, geometry=strips(), crs="EPSG:4490"
    )
    gdf.to_file(pack / "layers" / "zones.gpkg", layer="zones")
    cat = pack / "layers" / "catalog.toml"
    text = cat.read_text(encoding="utf-8")
    text = text.replace('path = "zones.geojson"', 'path = "zones.gpkg"\nclass_field = "代码"', 1)
    old_fields = 'publish_fields = ["名称", "来源", "精度"]'
    text = text.replace(old_fields, 'publish_fields = ["名称", "代码"]', 1)
    cat.write_text(text, encoding="utf-8")
    styles = pack / "styles" / "layers.toml"
    fmt = SPELLINGS[spelling]
    classes = "".join(
        f'\n[zones.classes."{fmt.format(k)}"]\nfill = "{c}"\nfill_opacity = 1.0\n'
        f'legend = "代码{k}"\n'
        for k, c in COLOURS.items()
    )
    text = styles.read_text(encoding="utf-8")
    text = text.replace("\n[control_lines]", classes + "\n[control_lines]", 1)
    styles.write_text(text, encoding="utf-8")
    return pack


class PathFills(HTMLParser):
    """The ``fill`` of every ``<path>`` of a page (upper case): ``PathFills.of(text)``."""

    def __init__(self) -> None:
        super().__init__()
        self.fills: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "path" and a.get("fill"):
            self.fills.append((a["fill"] or "").upper())

    @classmethod
    def of(cls, text: str) -> list[str]:
        parser = cls()
        parser.feed(text)
        return parser.fills


def run(*args: str | Path) -> Any:
    res = CliRunner().invoke(cli, [str(a) for a in args])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return res


def page_config(html: Path) -> dict[str, Any]:
    """The configuration a map page embeds (``<script id="qz-config">``), read as JSON."""
    text = html.read_text(encoding="utf-8")
    m = re.search(r'<script type="application/json" id="qz-config">(.*?)</script>', text, re.S)
    assert m is not None, "no qz-config in the page"
    config: dict[str, Any] = json.loads(m.group(1))
    return config
