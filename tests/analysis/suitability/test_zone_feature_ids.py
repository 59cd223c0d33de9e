"""zones.csv's 要素编号 is the zone's feature id, the one zone_summary.csv, analysis.gpkg and
the conflict patch ids give it, not its position in the layer (a GeoPackage numbers its
features from 1, and keeps the gaps of deleted ones).

Oracle: the fids as pyogrio reads them from the file (no qzgeo code).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pyogrio
from click.testing import CliRunner

from qzgeo.cli.main import cli


def test_zone_ids_are_the_feature_ids(make_pack, h, tmp_path: Path) -> None:
    pack = make_pack(
        {
            "near": h.one_factor_model(
                kind="distance", breaks=[1000, 2000, 3000, 4000], layers=["hubs"]
            )
        }
    )
    gpkg = pack / "layers" / "synthetic.gpkg"
    with sqlite3.connect(gpkg) as db:  # feature 2 deleted in an editor; A and T keep 1 and 3
        db.execute("DELETE FROM zones WHERE 名称 = 'B'")
    db.close()
    fids = pyogrio.read_dataframe(gpkg, layer="zones", fid_as_index=True)["名称"]
    want = {name: int(fid) for fid, name in fids.items()}
    assert want == {"A": 1, "T": 3}
    args = ["suitability", "--pack", str(pack), "--out", str(tmp_path / "out"), "--no-progress"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    table = pd.read_csv(
        tmp_path / "out" / "public" / "suitability" / "near" / "zones.csv", encoding="utf-8-sig"
    )
    zones = table[table["图层"] == "zones"]
    got = dict(zip(zones["名称"], zones["要素编号"], strict=True))
    assert got == want
    assert set(table.loc[table["图层"] != "zones", "要素编号"]) == {-1}
