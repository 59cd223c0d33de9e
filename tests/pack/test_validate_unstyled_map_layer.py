"""A map that shows a layer no style names draws it with the default symbol (a grey outline,
no fill): `validate` said OK and the map came out with a dark grey line for the corridor. Now a
warning names the map file, the layer and the fix, in validate and in report.json."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from qzgeo.cli.main import cli


def test_map_layer_without_a_style_is_a_warning(tmp_path: Path) -> None:
    pack, out = tmp_path / "urumqi", tmp_path / "out"
    run = CliRunner().invoke
    assert run(cli, ["new-pack", str(pack), "--center", "87.6,43.8"]).exit_code == 0
    styles = pack / "styles" / "layers.toml"
    text = styles.read_text(encoding="utf-8")
    start = text.index("[corridor]")
    end = text.index("[available_land]")
    styles.write_text(text[:start] + text[end:], encoding="utf-8")
    res = run(cli, ["validate", "--pack", str(pack)])
    assert res.exit_code == 0, res.output
    said = [ln for ln in res.stderr.splitlines() if "corridor" in ln and "style" in ln]
    assert len(said) == 1, res.stderr  # one warning naming both maps
    assert "maps/conflicts.toml" in said[0] and "maps/overview.toml" in said[0]
    assert "[corridor]" in said[0] and "maps/maps" not in said[0]
    res = run(cli, ["publish", "--pack", str(pack), "--out", str(out), "--no-maps"])
    assert res.exit_code == 0, res.output
    report = json.loads((out / "internal" / "report.json").read_text(encoding="utf-8"))
    assert any("corridor" in w and "style" in w for w in report["warnings"])
