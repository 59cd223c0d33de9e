"""A pack with no red lines checks nothing: its sites were 合规 CLEAR without a word. Each
site's report now warns that no constraint was checked, naming catalog.toml and the fix."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from qzgeo.cli.main import cli


def test_site_against_a_pack_without_constraints_is_warned(tmp_path: Path) -> None:
    pack, site = tmp_path / "harbin", tmp_path / "site.geojson"
    run = CliRunner().invoke
    assert run(cli, ["new-pack", str(pack), "--center", "126.6,45.8"]).exit_code == 0
    cat = pack / "layers" / "catalog.toml"
    text = cat.read_text(encoding="utf-8")
    start = text.index('[[layers]]\nid = "control_lines"')
    cat.write_text(text[:start] + text[text.index("[[layers]]", start + 1) :], encoding="utf-8")
    for name in ("overview", "conflicts"):
        m = pack / "maps" / f"{name}.toml"
        m.write_text(m.read_text(encoding="utf-8").replace('"control_lines", ', ""), "utf-8")
    site.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, '
        '"geometry": {"type": "Polygon", "coordinates": [[[126.59, 45.79], [126.6, 45.79], '
        "[126.6, 45.8], [126.59, 45.8], [126.59, 45.79]]]}}]}",
        encoding="utf-8",
    )
    res = run(cli, ["check", "--pack", str(pack), "--format", "json", str(site)])
    assert res.exit_code == 0, (res.output, res.exception)
    (report,) = json.loads(res.stdout)
    said = [w for w in report["warnings"] if "constraint" in w]
    assert len(said) == 1 and "catalog.toml" in said[0], report["warnings"]
