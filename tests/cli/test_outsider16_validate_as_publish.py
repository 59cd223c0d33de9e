"""Outsider round 16: a planner of a third city (北海, CM 108E) edits a `qzgeo new-pack`
skeleton and runs `qzgeo validate` after each change, as the guide says. Each edit below was
"OK" for validate and then refused (or warned about) by `qzgeo publish`."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner, Result

from qzgeo.cli.main import cli


def _run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def _pack(tmp_path: Path) -> Path:
    pack = tmp_path / "beihai"
    res = _run("new-pack", pack, "--center", "109.12,21.48", "--title", "北海市规划分区（示意）")
    assert res.exit_code == 0, res.output
    return pack


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (old, text)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


RESERVE = """
[[layers]]
id = "reserve"
title = "储备用地（内部）"
role = "zone"
path = "reserve.geojson"
sensitivity = "internal"
name_field = "名称"
source = "手绘示意"
licence = "CC0-1.0"
precision = "schematic"
"""


def _both(pack: Path, tmp_path: Path) -> tuple[Result, Result]:
    return _run("validate", "--pack", pack), _run(
        "publish", "--pack", pack, "--out", tmp_path / "o"
    )


def test_label_field_not_published_is_a_validate_problem(tmp_path: Path) -> None:
    # the public corridor labelled by 来源, which its publish_fields do not list (a leak)
    pack = _pack(tmp_path)
    _edit(
        pack / "layers" / "catalog.toml",
        'publish_fields = ["名称", "来源", "精度"]\nsource',
        'publish_fields = ["名称"]\nsource',
    )
    _edit(
        pack / "styles" / "layers.toml",
        'legend = "交通走廊"',
        'legend = "交通走廊"\nlabel_field = "来源"',
    )
    val, pub = _both(pack, tmp_path)
    assert pub.exit_code == 2 and "'来源'" in pub.output
    assert val.exit_code == 2, val.output  # was 0: "OK (3 layers, 5 styles, 2 maps)"
    assert "styled by field '来源'" in val.output and "publish_fields" in val.output


def test_a_colour_publish_refuses_is_a_validate_problem(tmp_path: Path) -> None:
    pack = _pack(tmp_path)
    _edit(
        pack / "styles" / "layers.toml", 'fill = "#33A02C"', 'fill = "#33A02C; background: url(x)"'
    )
    val, pub = _both(pack, tmp_path)
    assert pub.exit_code == 2 and "is not a colour" in pub.output
    assert val.exit_code == 2, val.output
    assert "[available_land]" in val.output and "is not a colour" in val.output


def test_analysis_of_an_internal_zone_layer_on_a_public_map(tmp_path: Path) -> None:
    # red lines public, a second zone layer (储备用地) internal: available land derives from it
    pack = _pack(tmp_path)
    cat = pack / "layers" / "catalog.toml"
    _edit(
        cat,
        'path = "control_lines.geojson"\nsensitivity = "internal"',
        'path = "control_lines.geojson"\nsensitivity = "public"',
    )
    (pack / "layers" / "reserve.geojson").write_bytes(
        (pack / "layers" / "zones.geojson").read_bytes()
    )
    with cat.open("a", encoding="utf-8") as f:
        f.write(RESERVE)
    _edit(
        pack / "maps" / "overview.toml",
        'layers = ["zones", "corridor"]',
        'layers = ["zones", "corridor"]\nanalysis = ["available_land"]',
    )
    val, pub = _both(pack, tmp_path)
    assert pub.exit_code == 2 and "available_land" in pub.output
    assert val.exit_code == 2, val.output
    assert "available_land" in val.output and "reserve" in val.output


def test_validate_prints_the_basemap_warning_publish_gives(tmp_path: Path) -> None:
    pack = _pack(tmp_path)
    _edit(
        pack / "maps" / "overview.toml", 'basemap = "none"', 'basemap = "none"\nbasemaps = ["osm"]'
    )
    val, pub = _both(pack, tmp_path)
    assert pub.exit_code == 0, pub.output
    report = json.loads((tmp_path / "o" / "internal" / "report.json").read_text("utf-8"))
    (w,) = [w for w in report["warnings"] if "basemap" in w]
    assert val.exit_code == 0, val.output
    assert w in val.stderr, val.stderr


def test_the_skeletons_basemap_suggestions_do_what_they_say(tmp_path: Path) -> None:
    # overview.toml said "to offer them anyway as a second choice: # basemaps = ["osm"]" under
    # basemap = "none": done as told, publish warned that the alternatives were not added
    pack = _pack(tmp_path)
    for name in ("overview.toml", "conflicts.toml"):
        path = pack / "maps" / name
        lines = path.read_text(encoding="utf-8").splitlines()
        proposed = [ln[2:] for ln in lines if re.match(r"# basemaps? = ", ln)]
        kept = [ln for ln in lines if not ln.startswith('basemap = "none"')] if proposed else lines
        path.write_text("\n".join(kept + proposed) + "\n", encoding="utf-8")
    val = _run("validate", "--pack", pack)
    assert val.exit_code == 0, val.output
    assert "not added" not in val.stderr, val.stderr
    pub = _run("publish", "--pack", pack, "--out", tmp_path / "o")
    assert pub.exit_code == 0, pub.output
    page = (tmp_path / "o" / "public" / "overview.html").read_text(encoding="utf-8")
    assert "tile.openstreetmap.org" in page  # offered, as the comment promised
