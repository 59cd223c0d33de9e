"""A title or description holding bidi controls is a problem naming them. A map title
"总图\u202eRTL\u202c" passed validate and publish (exit 0); the PDF sheet read "总图LTR"
(pdftotext), the page showed the same: the controls are invisible and the title read
otherwise than it was written."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from qzgeo.cli.main import cli


@pytest.mark.parametrize("control", ["\u202e", "\u202d", "\u2067"])
def test_a_map_title_with_a_direction_control_is_a_problem(tmp_path: Path, control: str) -> None:
    pack = tmp_path / "p"
    assert CliRunner().invoke(cli, ["new-pack", str(pack)]).exit_code == 0
    page = pack / "maps" / "overview.toml"
    text = page.read_text(encoding="utf-8")
    old = 'title = "新规划包（示意）"'
    assert old in text
    page.write_text(text.replace(old, f'title = "总图{control}RTL"'), encoding="utf-8")
    res = CliRunner().invoke(cli, ["validate", "--pack", str(pack)])
    assert res.exit_code == 2, res.output
    assert "maps/overview.toml: `title` holds the invisible direction control" in res.output
    assert f"U+{ord(control):04X}" in res.output


def test_a_zero_width_joiner_and_a_number_title_are_left_alone(tmp_path: Path) -> None:
    pack = tmp_path / "p"
    assert CliRunner().invoke(cli, ["new-pack", str(pack)]).exit_code == 0
    page = pack / "maps" / "overview.toml"
    text = page.read_text(encoding="utf-8").replace("（示意）", "\u200d（示意）", 1)
    page.write_text(text, encoding="utf-8")
    res = CliRunner().invoke(cli, ["validate", "--pack", str(pack)])
    assert res.exit_code == 0, res.output
