"""Every pack text a page, sheet or gallery shows refuses bidi controls, not only titles.

Outsider audit a17: after the titles (test_bidi_titles.py) a U+202E in the pack's title,
notice or attribution, a layer's source, a legend, a [[distances]] label or a map id (the file
name of the page in OUT/public) still validated OK and was published: the gallery read
'某市划规' for '某市\u202e规划', a file listing showed 'ovlmth.html' for 'ov\u202elmth.html'.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from qzgeo.cli.main import cli

RLO = "\u202e"

CASES = {
    # id: (file in the pack, text to replace, its replacement, where the problem is said)
    "pack-title": (
        "layers/catalog.toml",
        'title = "新规划包"',
        f'title = "某市{RLO}规划"',
        "catalog.toml [pack]: `title`",
    ),
    "notice": ("layers/catalog.toml", 'notice = "示意', f'notice = "示意{RLO}', "`notice`"),
    "attribution": (
        "layers/catalog.toml",
        'attribution = "placeholder"',
        f'attribution = "a{RLO}b"',
        "`attribution`",
    ),
    "layer-source": (
        "layers/catalog.toml",
        'source = "placeholder written by qzgeo new-pack"',
        f'source = "src{RLO}x"',
        "catalog.toml layer 'zones': `source`",
    ),
    "distance-label": (
        "layers/catalog.toml",
        'label = "距交通走廊"',
        f'label = "距{RLO}走廊"',
        "[[distances]]",
    ),
    "legend": (
        "styles/layers.toml",
        'legend = "规划分区"',
        f'legend = "规划{RLO}分区"',
        "layers.toml [zones]: `legend`",
    ),
    "legend-title": (
        "styles/layers.toml",
        'legend_title = "控制线"',
        f'legend_title = "控制{RLO}线"',
        "layers.toml [control_lines]: `legend_title`",
    ),
    "class-legend": (
        "styles/layers.toml",
        'legend = "生态保护红线"',
        f'legend = "生态{RLO}红线"',
        "layers.toml [control_lines] class '生态保护红线': `legend`",
    ),
}


def _new_pack(tmp_path: Path) -> Path:
    pack = tmp_path / "p"
    res = CliRunner().invoke(cli, ["new-pack", str(pack)])
    assert res.exit_code == 0, res.output
    return pack


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_shown_text_with_a_direction_control_is_a_problem(tmp_path: Path, case: str) -> None:
    file, old, new, where = CASES[case]
    pack = _new_pack(tmp_path)
    path = pack / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    for args in (["validate"], ["publish", "--no-maps", "--out", str(tmp_path / "out")]):
        res = CliRunner().invoke(cli, [*args, "--pack", str(pack)])
        assert res.exit_code == 2, (args, res.output)
        assert where in res.output, res.output
        assert "U+202E" in res.output and "invisible direction control" in res.output


def test_a_map_id_with_a_direction_control_is_a_problem(tmp_path: Path) -> None:
    pack = _new_pack(tmp_path)
    (pack / "maps" / "overview.toml").rename(pack / "maps" / f"ov{RLO}lmth.toml")
    res = CliRunner().invoke(cli, ["validate", "--pack", str(pack)])
    assert res.exit_code == 2, res.output
    assert "U+202E" in res.output and "map id" in res.output, res.output
