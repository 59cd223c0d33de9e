"""Renames that must all happen or none are not cut by Ctrl-C (or SIGTERM).

A shapefile is several files, and a publish build two folders: each is put in place by a few
renames. A Ctrl-C landing between two of them left the new ``.dbf`` beside the old ``.shp``
(records that do not match their shapes), or a new ``public/`` beside the previous
``internal/``. The signal is held back until the renames are done, then raised. The test
sends SIGINT to this process at the first rename.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely

from qzgeo.io import outdir, shapefile_write
from qzgeo.io.atomic import signals_held
from qzgeo.io.outdir import output_build


def _layer(n: int) -> gpd.GeoDataFrame:
    x = 36_564_000 + 20.0 * np.arange(n)
    boxes = shapely.box(x, 2_399_000, x + 10, 2_399_010)
    codes = [f"p{i}" for i in range(n)]
    return gpd.GeoDataFrame({"code": codes}, geometry=list(boxes), crs="EPSG:4524")


def test_ctrl_c_during_a_shapefile_replace_lands_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "zones.shp"
    shapefile_write.write_shapefile(_layer(3), target)
    real = os.replace
    calls = []

    def replace_then_ctrl_c(src: object, dst: object) -> None:
        real(src, dst)  # type: ignore[arg-type]
        calls.append(dst)
        if len(calls) == 1:
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(shapefile_write.os, "replace", replace_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        shapefile_write.write_shapefile(_layer(5), target)
    assert len(calls) >= 4  # every file was moved before the interrupt
    monkeypatch.undo()
    got = pyogrio.read_dataframe(target)
    assert list(got["code"]) == [f"p{i}" for i in range(5)]  # .shp and .dbf of one write


def test_ctrl_c_during_a_publish_swap_lands_after_both_parts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"

    def build(text: str) -> None:
        with output_build(out) as b:
            (b.public / "map.html").write_text(text, encoding="utf-8")
            (b.internal / "report.json").write_text(text, encoding="utf-8")

    build("old")
    real = outdir._exchange

    def exchange_then_ctrl_c(a: Path, b: Path) -> bool:
        done = real(a, b)
        signal.raise_signal(signal.SIGINT)
        return done

    monkeypatch.setattr(outdir, "_exchange", exchange_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        build("new")
    public = (out / "public" / "map.html").read_text(encoding="utf-8")
    internal = (out / "internal" / "report.json").read_text(encoding="utf-8")
    assert public == internal == "new"


def test_held_signals_are_delivered_afterwards_and_ignored_ones_stay_ignored() -> None:
    with pytest.raises(KeyboardInterrupt), signals_held() as got:
        signal.raise_signal(signal.SIGINT)
        assert got == [signal.SIGINT]  # held: nothing raised yet
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with signals_held() as got:
            signal.raise_signal(signal.SIGINT)
        assert got == []
    finally:
        signal.signal(signal.SIGINT, previous)
