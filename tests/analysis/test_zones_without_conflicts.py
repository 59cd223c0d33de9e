"""A plan with nothing to report publishes: zones clear of every red line, or no zone layer.

A pack whose zones touch no constraint (the plan a city hopes for) stopped publish with
"maps/conflicts.toml: analysis output 'conflicts' has no column(s) ['类别']": the empty
conflicts table had none of its columns. A pack of red lines only (no zone layer yet) crashed
with a traceback (ValueError: Unknown column geometry).
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
from click.testing import CliRunner

from qzgeo.cli.main import cli

CONFLICT_COLS = {"id", "zone_layer", "zone_fid", "名称", "constraint_layer", "类别", "mode"}


def _pack(tmp_path: Path) -> Path:
    pack = tmp_path / "harbin"
    res = CliRunner().invoke(cli, ["new-pack", str(pack), "--center", "126.6,45.8"])
    assert res.exit_code == 0, res.output
    return pack


def _publish(pack: Path, out: Path) -> None:
    res = CliRunner().invoke(cli, ["publish", "--pack", str(pack), "--out", str(out)])
    assert res.exit_code == 0, (res.output, res.exception)


def test_zones_clear_of_every_constraint_publish(tmp_path: Path) -> None:
    pack, out = _pack(tmp_path), tmp_path / "out"
    lines = pack / "layers" / "control_lines.geojson"
    gdf = gpd.read_file(lines)
    eco = gdf["类别"] == "生态保护红线"
    gdf.loc[eco, "geometry"] = gdf.loc[eco, "geometry"].translate(xoff=0.3)  # 23 km east
    gdf.loc[~eco, "geometry"] = gdf.loc[~eco, "geometry"].scale(3.0, 3.0)  # holds the zone
    lines.unlink()
    gdf.to_file(lines, driver="GeoJSON")
    _publish(pack, out)
    conflicts = gpd.read_file(out / "internal" / "analysis.gpkg", layer="conflicts")
    assert len(conflicts) == 0 and set(conflicts.columns) >= CONFLICT_COLS
    summary = json.loads((out / "internal" / "report.json").read_text(encoding="utf-8"))
    assert summary["summary"]["conflict_patches"] == 0 and summary["summary"]["zones"] == 1
    assert (out / "internal" / "conflicts.html").is_file()


def test_pack_without_a_zone_layer_publishes(tmp_path: Path) -> None:
    pack, out = _pack(tmp_path), tmp_path / "out"
    cat = pack / "layers" / "catalog.toml"
    text = cat.read_text(encoding="utf-8")
    start = text.index('[[layers]]\nid = "zones"')
    cat.write_text(text[:start] + text[text.index("[[layers]]", start + 1) :], encoding="utf-8")
    for name in ("overview", "conflicts"):
        m = pack / "maps" / f"{name}.toml"
        m.write_text(m.read_text(encoding="utf-8").replace('"zones", ', ""), encoding="utf-8")
    styles = pack / "styles" / "layers.toml"
    text = styles.read_text(encoding="utf-8")
    start = text.index("[zones]")
    styles.write_text(text[:start] + text[text.index("[control_lines]") :], encoding="utf-8")
    _publish(pack, out)
    summary = json.loads((out / "internal" / "report.json").read_text(encoding="utf-8"))
    assert summary["summary"]["zones"] == 0
