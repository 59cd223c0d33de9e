"""A class value in a styled layer's data with no symbol is named by `qzgeo validate`.

The maps draw such values alike, under 「其他 Other」: a 北海 planner's 公共服务 zone was drawn
as 「其他」 without a word, while a constraint class without a symbol was warned about.
"""

from __future__ import annotations

from pathlib import Path

import pyogrio
from click.testing import CliRunner
from support import copy_bundled_pack

from qzgeo.cli.main import cli


def _validate(pack: Path) -> tuple[int, str]:
    r = CliRunner().invoke(cli, ["validate", "--pack", str(pack)])
    return r.exit_code, r.output


def test_a_zone_value_without_a_symbol_is_warned_about(tmp_path: Path) -> None:
    pack = copy_bundled_pack(tmp_path / "pack")
    gpkg = pack / "layers" / "qinzhou.gpkg"
    gdf = pyogrio.read_dataframe(gpkg, layer="hitech_phases")
    gdf.loc[gdf.index[0], "名称"] = "公共服务"
    pyogrio.write_dataframe(gdf, gpkg, layer="hitech_phases")
    code, out = _validate(pack)
    assert code == 0, out
    [line] = [ln for ln in out.splitlines() if "公共服务" in ln]
    assert "[hitech_phases]" in line and "1 value(s) of '名称'" in line
    assert "「其他 Other」" in line and 'classes."VALUE"' in line


def test_a_styled_pack_gets_no_such_warning(tmp_path: Path) -> None:
    code, out = _validate(copy_bundled_pack(tmp_path / "pack"))
    assert code == 0, out
    assert "have no symbol" not in out


def test_a_constraint_value_outside_its_classes_is_said_to_be_unchecked(tmp_path: Path) -> None:
    """Found by out21: a red line whose 类别 was typed 生态红线 (for 生态保护红线) got only the
    maps' 「其他」 warning, as if it were cosmetic; it is in no constraint class, and no site
    or parcel is checked against it."""
    pack = copy_bundled_pack(tmp_path / "pack")
    gpkg = pack / "layers" / "qinzhou.gpkg"
    gdf = pyogrio.read_dataframe(gpkg, layer="control_lines")
    row = gdf.index[gdf["类别"] == "生态保护红线"][0]
    gdf.loc[row, "类别"] = "生态红线"
    pyogrio.write_dataframe(gdf, gpkg, layer="control_lines")
    code, out = _validate(pack)
    assert code == 0, out
    [line] = [ln for ln in out.splitlines() if "'生态红线'" in ln and "no constraint" in ln]
    assert "in no constraint class" in line and "no site or parcel is checked" in line, line
    assert "constraint_classes of catalog.toml layer 'control_lines'" in line, line
