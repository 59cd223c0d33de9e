"""The size cap's message names the size and the cap in bytes, the unit --max-bytes takes:
under a low cap (QZGEO_MAX_BYTES set for a web service, --max-bytes 100) it said "site.geojson
is 0 MB, over the 0 MB cap", and a 1.4 MB file over a 1 MB cap "1 MB, over the 1 MB cap"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli._cli import assert_exit2, qzgeo

RING = [[108.62, 21.96], [108.622, 21.96], [108.622, 21.962], [108.62, 21.96]]


@pytest.mark.parametrize("cap", [100, 1_000_000])
def test_cap_message_names_both_sizes(tmp_path: Path, cap: int) -> None:
    src = tmp_path / "选址.geojson"
    feature = {"type": "Feature", "properties": {"名称": "甲"}, "geometry": None}
    feature["geometry"] = {"type": "Polygon", "coordinates": [RING]}
    n = 1 if cap < 1000 else 9000  # ~1.4 MB of features for the 1 MB cap
    src.write_text(json.dumps({"type": "FeatureCollection", "features": [feature] * n}))
    size = src.stat().st_size
    assert size > cap
    res = qzgeo("check", src, "--max-bytes", str(cap))
    assert_exit2(res, "选址.geojson", f"{size:,} bytes", f"cap of {cap:,} bytes", "--max-bytes")
