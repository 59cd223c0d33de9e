"""Per-zone totals of a chunk (qzgeo.analysis.parcels.zone_totals): grouped by the zone
index (the chunk path) or by the zone columns, against sums made in the test with
fractions (exact), chunk by chunk and whole."""

from __future__ import annotations

import itertools
from fractions import Fraction
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import pandas as pd
import pytest

from qzgeo.analysis.parcels import ParcelPlan, summary_from_totals, zone_totals

COLS = ("a:x", "b:y")
PLAN = cast(ParcelPlan, SimpleNamespace(overlay=SimpleNamespace(columns=COLS)))
NAMES = {-1: ("", -1, ""), 0: ("L0", 0, "甲"), 1: ("L1", 0, "乙"), 2: ("L0", 2, "丙")}


def _table(zone: np.ndarray, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = len(zone)
    data: dict[str, Any] = {
        "zone_layer": pd.array([NAMES[z][0] for z in zone], dtype="str"),
        "zone_fid": np.asarray([NAMES[z][1] for z in zone], dtype=np.int64),
        "zone_name": pd.array([NAMES[z][2] for z in zone], dtype="str"),
    }
    for c in ("area_m2", "constrained_m2", "available_m2", "unchecked_m2", *COLS):
        data[c] = rng.uniform(0, 1e5, n) * (rng.random(n) < 0.8)
    data["conflict"] = rng.random(n) < 0.3
    return pd.DataFrame(data)


def _exact(df: pd.DataFrame) -> dict[tuple[str, int, str], dict[str, Any]]:
    """Totals per zone keys, summed in fractions by a plain loop."""
    out: dict[tuple[str, int, str], dict[str, Any]] = {}
    for rec in df.to_dict("records"):
        key = (rec["zone_layer"], rec["zone_fid"], rec["zone_name"])
        t = out.setdefault(key, {"n": 0, "conflict": 0})
        t["n"] += 1
        t["conflict"] += int(rec["conflict"])
        for c in ("area_m2", "available_m2", *COLS):
            t[c] = t.get(c, Fraction(0)) + Fraction(rec[c])
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_totals_by_zone_index_agree_with_the_zone_columns_and_exact_sums(seed: int) -> None:
    rng = np.random.default_rng(seed)
    zone = rng.choice([-1, 0, 1, 2], size=997)
    df = _table(zone, seed)
    by_index = zone_totals(df, PLAN, zone=zone)
    by_columns = zone_totals(df, PLAN)
    pd.testing.assert_frame_equal(by_index, by_columns)
    # groups in the order they first appear, one per zone
    first = pd.unique(pd.Series(zone)).tolist()
    assert by_index["zone_name"].tolist() == [NAMES[z][2] for z in first]
    # chunk by chunk (uneven chunks, one empty) or whole: the same summary
    cuts = [0, 0, 13, 400, 401, len(zone)]
    parts = [zone_totals(df.iloc[a:b], PLAN, zone=zone[a:b]) for a, b in itertools.pairwise(cuts)]
    whole = summary_from_totals(by_index, PLAN)
    pd.testing.assert_frame_equal(summary_from_totals(pd.concat(parts), PLAN), whole)
    exact = _exact(df)
    for _, row in whole.iloc[:-1].iterrows():
        key = next(k for k in exact if (k[2] or "(不在分区内)") == row["分区"])
        t = exact[key]
        assert row["地块数"] == t["n"] and row["冲突地块数"] == t["conflict"]
        assert row["面积_公顷"] == pytest.approx(float(t["area_m2"]) / 1e4, rel=1e-14)
        assert row["可用_公顷"] == pytest.approx(float(t["available_m2"]) / 1e4, rel=1e-14)
        assert row["a:x_公顷"] == pytest.approx(float(t["a:x"]) / 1e4, rel=1e-14)


def test_zones_sharing_their_columns_add_up_in_the_summary() -> None:
    # a rename may give two zones the same columns: their totals are one row of the summary
    zone = np.asarray([0, 2, 0, 2, -1])
    df = _table(zone, 5)
    df["zone_fid"] = 0
    df["zone_name"] = pd.array(["甲"] * 4 + [""], dtype="str")
    by_index = zone_totals(df, PLAN, zone=zone)
    assert len(by_index) == 3
    pd.testing.assert_frame_equal(
        summary_from_totals(by_index, PLAN), summary_from_totals(zone_totals(df, PLAN), PLAN)
    )


def test_an_empty_chunk_has_no_totals() -> None:
    df = _table(np.zeros(0, dtype=np.int64), 0)
    assert zone_totals(df, PLAN, zone=np.zeros(0, dtype=np.int64)).empty
    assert list(zone_totals(df, PLAN).columns) == list(
        zone_totals(df, PLAN, zone=np.zeros(0, dtype=np.int64)).columns
    )
