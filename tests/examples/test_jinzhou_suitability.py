"""双评价 on the 锦州 example pack: its own model (``examples/jinzhou/suitability/``), no DEM.

Oracle: the districts' ellipsoidal areas by ``pyproj.Geod`` on their rings, read with pyogrio
(no qzgeo code): every district's classes plus 未评价 add up to it, and so does the 合计.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from pyproj import Geod

from qzgeo.cli.main import cli

PACK = Path(__file__).resolve().parents[2] / "examples" / "jinzhou"
FORBIDDEN = re.compile(r"钦州|平陆|qinzhou", re.IGNORECASE)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("jz_suit") / "out"
    res = CliRunner().invoke(cli, ["suitability", "--pack", str(PACK), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert not FORBIDDEN.search(res.output)
    return out / "internal" / "suitability" / "urban"  # the red lines are internal


def _district_m2() -> dict[str, float]:
    df = pyogrio.read_dataframe(PACK / "layers" / "jinzhou.gpkg", layer="districts")
    assert str(df.crs) == "EPSG:4490"
    geod = Geod(ellps="GRS80")
    return {
        name: abs(geod.geometry_area_perimeter(shapely.segmentize(g, 0.001))[0])
        for name, g in zip(df["名称"], df.geometry, strict=True)
    }


def test_every_district_is_graded_whole_without_a_dem(run: Path) -> None:
    truth = _district_m2()
    got: dict[str, float] = {}
    total: dict[str, float] = {}
    with (run / "zones.csv").open(encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            if row["图层"] != "districts":
                continue
            m2, name = float(row["面积(m²)"]), row["名称"]
            if row["类别"] == "合计":
                total[name] = m2
            else:
                got[name] = got.get(name, 0.0) + m2
    assert set(got) == set(truth) == set(total)
    for name, m2 in truth.items():
        assert got[name] == pytest.approx(m2, rel=1e-5), name
        assert total[name] == pytest.approx(m2, rel=1e-5), name
    report = json.loads((run / "report.json").read_text(encoding="utf-8"))
    assert report["areas_m2"]["合计"] == pytest.approx(sum(truth.values()), rel=1e-5)
    assert report["areas_m2"]["未评价"] == 0.0
    assert [f["factor"] for f in report["factors_missing"]] == ["slope"]  # no DEM invented


def test_nothing_of_the_bundled_city_in_the_outputs(run: Path) -> None:
    for path in run.rglob("*"):
        if path.suffix in (".html", ".json", ".csv"):
            assert not FORBIDDEN.search(path.read_text(encoding="utf-8")), path.name
