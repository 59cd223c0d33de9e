"""The lines a user reads say "1 parcel", "1 chunk", "1 map", not "1 parcels" or "1 chunk(s)".

Before, ``analyze`` on one parcel ended "1 parcels, ...; threads (2), 1 chunk(s) of 1
parcels" and ``validate`` said "(2 layers, 4 styles, 1 maps)".
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import shapely
from packs import all_output, run_cli

from qzgeo.notices import counted


def test_counted_follows_the_number() -> None:
    # hand-written expectations, not the helper's own rule
    assert [counted(n, "parcel") for n in (0, 1, 2)] == ["0 parcels", "1 parcel", "2 parcels"]
    assert counted(1, "overlay retry") == "1 overlay retry"
    assert counted(5, "overlay retry") == "5 overlay retries"
    assert counted(2, "conflict patch") == "2 conflict patches"
    assert counted(2, "analysis", "analyses") == "2 analyses"


def test_analyze_of_one_parcel_says_one_parcel(tmp_path: Path) -> None:
    parcels = tmp_path / "one.gpkg"
    site = shapely.box(108.600, 21.700, 108.605, 21.705)  # on the bundled pack's shore
    gpd.GeoDataFrame({"名称": ["甲"]}, geometry=[site], crs=4490).to_file(parcels)
    result = run_cli(
        "analyze", "--parcels", parcels, "--out", tmp_path / "out", "--chunk-rows", "1"
    )
    text = all_output(result)
    assert result.exit_code == 0, text
    last = text.strip().splitlines()[-1]
    assert last.startswith("1 parcel, no conflicts"), last
    assert "0 overlay retries" in last and "1 chunk of 1 parcel [" in last, last
    assert not re.search(r"\b1 [a-z ]*(s|\(s\))\b[ ,;]", last), last


def test_validate_of_a_pack_with_one_map_says_one_map(mini: Path) -> None:
    (mini / "maps" / "conflicts.toml").unlink()
    result = run_cli("validate", "--pack", mini)
    assert result.exit_code == 0, all_output(result)
    assert re.search(r"OK \(2 layers, \d+ styles, 1 map\)", result.output), result.output
