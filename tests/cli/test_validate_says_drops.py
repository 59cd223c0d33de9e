"""validate says which features publish will drop. A zone with a NaN coordinate: validate
printed "OK" and nothing else, then publish dropped the pack's only zone (0 zones, 0 公顷)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from qzgeo.cli.main import cli


def test_validate_names_a_feature_publish_drops(tmp_path: Path) -> None:
    pack = tmp_path / "p"
    assert CliRunner().invoke(cli, ["new-pack", str(pack)]).exit_code == 0
    zones = pack / "layers" / "zones.geojson"
    fc = json.loads(zones.read_text(encoding="utf-8"))
    fc["features"][0]["geometry"]["coordinates"][0][1][0] = float("nan")
    zones.write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    assert "NaN" in zones.read_text(encoding="utf-8")
    res = CliRunner().invoke(cli, ["validate", "--pack", str(pack)])
    assert res.exit_code == 0, res.output
    assert "warning: layer 'zones' feature 0" in res.output
    assert "leaves it out" in res.output
    pub = CliRunner().invoke(cli, ["publish", "--pack", str(pack), "--out", str(tmp_path / "o")])
    assert pub.exit_code == 0, pub.output
    assert "1 dropped" in pub.output  # what validate foretold
