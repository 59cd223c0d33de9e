"""A sheet's date (编制日期, the PDF's CreationDate) comes from its own inputs, by the day."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pyogrio
import pytest

from qzgeo.pack.catalog import load_pack
from qzgeo.publish.sheet import sheet_date


def _at(path: Path, when: dt.datetime) -> None:
    stamp = when.timestamp()
    os.utime(path, (stamp, stamp))


def test_a_public_sheet_says_nothing_of_when_an_internal_layer_changed(
    minipack: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The red lines edited at 15:33 must not date the public zones map: neither the day nor
    the minute of an internal edit may reach the public folder."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    layers = minipack / "layers"
    red = pyogrio.read_dataframe(layers / "mini.gpkg", layer="control_lines")
    pyogrio.write_dataframe(red, layers / "red.gpkg", layer="control_lines")
    catalog = layers / "catalog.toml"
    text = catalog.read_text(encoding="utf-8")
    old = 'path = "mini.gpkg"\nlayer = "control_lines"'
    assert old in text
    catalog.write_text(text.replace(old, 'path = "red.gpkg"\nlayer = "control_lines"'), "utf-8")
    before = dt.datetime(2024, 3, 1, 10, 0, tzinfo=dt.UTC)
    for f in minipack.rglob("*"):
        if f.is_file():
            _at(f, before)
    _at(layers / "red.gpkg", dt.datetime(2025, 6, 7, 15, 33, tzinfo=dt.UTC))
    pack = load_pack(minipack)
    assert pack.maps["zones"].sensitivity == "public"
    assert sheet_date(pack, pack.maps["zones"]) == dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
    # the internal map is dated by every input, the red lines included, to the day
    assert sheet_date(pack, pack.maps["conflicts"]) == dt.datetime(2025, 6, 7, tzinfo=dt.UTC)


def test_the_epoch_wins(minipack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    pack = load_pack(minipack)
    got = sheet_date(pack, pack.maps["zones"])
    assert got == dt.datetime.fromtimestamp(1700000000, tz=dt.UTC)


def test_a_file_shared_with_an_internal_layer_does_not_date_a_public_sheet(
    minipack: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outsider a21: the minipack keeps its public zones and its internal red lines in one
    GeoPackage, as many packs do. Editing the red lines (15:33 on 7 June 2025) dated the
    public zones sheet 2025-06-07: the day of an internal edit reached OUT/public."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    before = dt.datetime(2024, 3, 1, 10, 0, tzinfo=dt.UTC)
    for f in minipack.rglob("*"):
        if f.is_file():
            _at(f, before)
    _at(minipack / "layers" / "mini.gpkg", dt.datetime(2025, 6, 7, 15, 33, tzinfo=dt.UTC))
    pack = load_pack(minipack)
    zones, red = pack.layers["zones"], pack.layers["control_lines"]
    assert pack.layer_path(zones) == pack.layer_path(red) and not red.is_public  # the case
    assert sheet_date(pack, pack.maps["zones"]) == dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
    assert sheet_date(pack, pack.maps["conflicts"]) == dt.datetime(2025, 6, 7, tzinfo=dt.UTC)
