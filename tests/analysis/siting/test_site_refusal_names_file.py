"""A site nothing polygonal is left of is refused naming its file, feature and the fix.

Found by out13: a GeoJSON site of two points (a half-typed ring) stopped the check with
"site '两点' is invalid (Too few points ...) and nothing polygonal remains": no file, no
feature, no fix, where the contract is file + value + fix.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from qzgeo.cli.main import cli


def test_a_degenerate_site_is_refused_with_file_feature_and_fix(
    tmp_path: Path, minipack: Path
) -> None:
    ring = [[108.63, 21.95], [108.635, 21.95]]
    features = [
        {"type": "Feature", "properties": {"名称": "两点"},
         "geometry": {"type": "Polygon", "coordinates": [ring]}},
    ]  # fmt: skip
    src = tmp_path / "选址.geojson"
    src.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    res = CliRunner().invoke(cli, ["check", str(src), "--pack", str(minipack)])
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert "选址.geojson: feature 0" in res.output and "'两点'" in res.output
    assert "3 or more distinct points" in res.output
