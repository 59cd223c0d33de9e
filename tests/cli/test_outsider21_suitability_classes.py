"""Round 21, outsider: the public suitability map embeds only the fields a layer publishes.

A 双评价 model whose hard limits come from a public control-line layer that does not publish
its ``类别`` (publish_fields = ["名称"]) went to ``OUT/public/suitability/<model>/map.html``
with every feature's ``类别`` in the page ("SECRETCLS", a value no catalog, style or model
names), because the map drew the layer by its style's classes. ``qzgeo publish`` refuses a
public map styled by an unpublished field; the suitability map now draws such a layer with
its default symbol. The oracle is a byte search of every file under OUT/public.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from packs import all_output, assert_no_traceback, edit_catalog, grep_tree, layer, new_pack, run_cli

MODEL = """
title = "适宜性"
resolution_m = 100
area = ["zones"]
zones = ["zones"]
basemap = "none"
[combine]
method = "weighted_sum"
[[factors]]
id = "near"
title = "距走廊"
kind = "distance"
layers = ["corridor"]
breaks = [300, 800, 1500, 3000]
grades = [5, 4, 3, 2, 1]
weight = 1.0
[[hard_limits]]
layer = "control_lines"
{classes}
[result]
breaks = [2.5, 3.5]
classes = [
  { name = "不适宜", color = "#d7301f" },
  { name = "一般适宜", color = "#fdcc8a" },
  { name = "适宜", color = "#31a354" },
]
"""


def _pack(tmp_path: Path, *, publish_class: bool, by_class: bool = True) -> Path:
    pack = new_pack(tmp_path / "pack", "121.1,41.1")

    def fn(doc: dict) -> None:
        lines = layer(doc, "control_lines")
        lines["sensitivity"] = "public"
        lines["publish_fields"] = ["名称", "类别"] if publish_class else ["名称"]

    edit_catalog(pack, fn)
    path = pack / "layers" / "control_lines.geojson"
    lines = gpd.read_file(path)
    extra = gpd.GeoDataFrame(
        {"名称": ["某地"], "类别": ["SECRETCLS"]},
        geometry=[shapely.segmentize(shapely.box(121.12, 41.12, 121.13, 41.13), 0.0018)],
        crs=lines.crs,
    )
    both = gpd.GeoDataFrame(pd.concat([lines, extra], ignore_index=True), crs=lines.crs)
    path.unlink()
    both.to_file(path, driver="GeoJSON")
    (pack / "suitability").mkdir(exist_ok=True)  # new-pack writes a model of its own: replaced
    classes = 'classes = ["生态保护红线"]' if by_class else ""  # else the whole layer
    model = MODEL.replace("{classes}", classes)
    (pack / "suitability" / "urban.toml").write_text(model, encoding="utf-8")
    return pack


def _public_map(pack: Path, out: Path) -> Path:
    result = run_cli("suitability", "--pack", pack, "--out", out)
    assert_no_traceback(result)
    assert result.exit_code == 0, all_output(result)
    page = out / "public" / "suitability" / "urban" / "map.html"
    assert page.is_file(), sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    return page


def test_unpublished_class_field_stays_off_the_public_suitability_map(tmp_path: Path) -> None:
    pack = _pack(tmp_path, publish_class=False, by_class=False)
    out = tmp_path / "out"
    page = _public_map(pack, out)
    assert grep_tree(out / "public", "SECRETCLS") == []
    assert grep_tree(out / "public", "城镇开发边界") == []  # a class value, in no model either
    assert "某地" in page.read_text(encoding="utf-8")  # the published 名称 is there


def test_published_class_field_still_draws_the_classes(tmp_path: Path) -> None:
    pack = _pack(tmp_path, publish_class=True)
    out = tmp_path / "out"
    page = _public_map(pack, out)
    assert "SECRETCLS" in page.read_text(encoding="utf-8")


def test_a_model_whose_layer_became_internal_leaves_nothing_in_public(tmp_path: Path) -> None:
    # The author marks the control lines internal and runs the model again: the results went
    # to OUT/internal, and the earlier public copy (its map drawing every control line) stayed
    # in OUT/public, the folder that is posted.
    pack = _pack(tmp_path, publish_class=True)
    out = tmp_path / "out"
    _public_map(pack, out)
    edit_catalog(pack, lambda doc: layer(doc, "control_lines").update(sensitivity="internal"))
    result = run_cli("suitability", "--pack", pack, "--out", out)
    assert_no_traceback(result)
    assert result.exit_code == 0, all_output(result)
    assert (out / "internal" / "suitability" / "urban" / "map.html").is_file()
    left = sorted(p.name for p in (out / "public").rglob("*") if p.is_file())
    assert left == [], left
    assert grep_tree(out / "public", "SECRETCLS") == []
    # and back: the internal copy goes when the outputs are public again
    edit_catalog(pack, lambda doc: layer(doc, "control_lines").update(sensitivity="public"))
    assert run_cli("suitability", "--pack", pack, "--out", out).exit_code == 0
    assert not list((out / "internal").rglob("*.html"))


def test_hard_limits_by_unpublished_classes_keep_the_outputs_internal(tmp_path: Path) -> None:
    # The result is 不适宜 exactly where the named classes lie: it shows which of the public
    # control lines are 生态保护红线, an attribute the layer does not publish. analyze --public
    # and a public check refuse such a pack; suitability put its outputs in OUT/public.
    pack = _pack(tmp_path, publish_class=False, by_class=True)
    out = tmp_path / "out"
    result = run_cli("suitability", "--pack", pack, "--out", out)
    assert_no_traceback(result)
    assert result.exit_code == 0, all_output(result)
    assert not (out / "public").exists() or not list((out / "public").rglob("*.*"))
    assert (out / "internal" / "suitability" / "urban" / "map.html").is_file()
    said = all_output(result)
    assert "control_lines" in said and "publish_fields" in said, said


def test_the_packs_load_warnings_travel_with_the_result_and_stay_out_of_public(
    tmp_path: Path,
) -> None:
    # SECRETCLS is in no constraint class: loading the pack says so. The warning reached
    # neither suitability's report.json nor its stderr; in a public report it would quote a
    # field the layer does not publish, so public files get the count and stderr the text.
    pack = _pack(tmp_path, publish_class=False, by_class=False)
    out = tmp_path / "out"
    result = run_cli("suitability", "--pack", pack, "--out", out)
    assert result.exit_code == 0, all_output(result)
    said = [ln for ln in all_output(result).splitlines() if "'SECRETCLS'" in ln]
    assert said and "in no constraint class" in said[0], all_output(result)
    report = (out / "public" / "suitability" / "urban" / "report.json").read_text("utf-8")
    assert "loading the pack's layers gave" in report and "qzgeo validate" in report, report
    assert grep_tree(out / "public", "SECRETCLS") == []
    # internal outputs carry the warning itself
    result = run_cli("suitability", "--pack", pack, "--out", out, "--internal")
    assert result.exit_code == 0, all_output(result)
    report = (out / "internal" / "suitability" / "urban" / "report.json").read_text("utf-8")
    assert "'SECRETCLS'" in report and "in no constraint class" in report, report
