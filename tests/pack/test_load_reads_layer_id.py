"""Two catalog layers reading one source each get their own notices: the in-process memo of
reads must not hand the second layer the first one's notice (which names the first id)."""

from __future__ import annotations

import shutil
from pathlib import Path

from support import MINIPACK

from qzgeo.pack import load
from qzgeo.pack.catalog import load_pack
from qzgeo.pack.load import load_pack_layers

TWIN = """
[[layers]]
id = "zones_copy"
title = "规划分区（副本）"
role = "base"
path = "mini.gpkg"
layer = "zones"
crs = "EPSG:4326"
sensitivity = "public"
source = "hand-made test squares"
licence = "CC0-1.0"
precision = "schematic"
"""


def test_each_layer_reading_one_source_gets_its_own_notice(tmp_path: Path, monkeypatch) -> None:
    pack_dir = tmp_path / "pack"
    shutil.copytree(MINIPACK, pack_dir)
    catalog = pack_dir / "layers" / "catalog.toml"
    text = catalog.read_text(encoding="utf-8")
    text = text.replace('layer = "zones"\n', 'layer = "zones"\ncrs = "EPSG:4326"\n', 1)
    catalog.write_text(text + TWIN, encoding="utf-8")
    monkeypatch.setattr(load, "_READS", type(load._READS)())
    loaded = load_pack_layers(load_pack(pack_dir))
    said = [w for w in loaded.report.warnings if "(remove it)" in w]
    assert any("layer 'zones'" in w for w in said), said
    assert any("layer 'zones_copy'" in w for w in said), said
