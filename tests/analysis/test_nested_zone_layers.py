"""Zone layers that overlap (nested plans: 片区 within 园区): the headline is their union.

The bundled pack's nine zone layers overlap (its 26 zone rows add up to ~37 000 公顷 of
available land, its headline says ~23 000). Neither the printed line nor report.json said
which figure was which; a planner adding up zone_summary.csv got another number. Here a
second zone layer repeats the minipack's two zones exactly, so the hand-known answer is: the
union is the minipack's 140.0 公顷 (tests/test_pipeline.py), each layer's rows add up to
140.0, all rows to 280.0.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from qzgeo.cli.main import cli

COPY = """
[[layers]]
id = "zones_again"
title = "规划分区（重复）"
role = "zone"
path = "mini.gpkg"
layer = "zones"
sensitivity = "public"
name_field = "名称"
publish_fields = ["名称"]
source = "hand-made test squares"
licence = "CC0-1.0"
precision = "schematic"
"""


def test_the_headline_is_the_union_and_says_so(minipack: Path, tmp_path: Path) -> None:
    catalog = minipack / "layers" / "catalog.toml"
    catalog.write_text(catalog.read_text("utf-8") + COPY, encoding="utf-8")
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["publish", "--pack", str(minipack), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "4 zones, 140.0 公顷 available (their union; the zone rows add up to 280.0)" in (
        res.output
    )
    summary = json.loads((out / "internal" / "report.json").read_text("utf-8"))["summary"]
    assert round(summary["available_ha"], 1) == 140.0
    by_layer = summary["available_ha_by_layer"]
    assert by_layer.keys() == {"zones", "zones_again"}
    assert round(by_layer["zones"], 1) == round(by_layer["zones_again"], 1) == 140.0
    assert "union" in summary["available_ha_is"]


def test_one_zone_layer_says_nothing_more(minipack: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["publish", "--pack", str(minipack), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "2 zones, 140.0 公顷 available, 3 conflict patches" in res.output
    summary = json.loads((out / "internal" / "report.json").read_text("utf-8"))["summary"]
    assert summary["available_ha_by_layer"] == {"zones": summary["available_ha"]}
