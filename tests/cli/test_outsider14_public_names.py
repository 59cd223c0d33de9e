"""Round 14, outsider: zone names a zone layer does not publish stay off OUT/public.

The oracle is the pack's own data (the minipack's zones are named 甲区 and 乙区) and a byte
search of every file under OUT/public; it shares no code with qzgeo.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from packs import (
    all_output,
    assert_no_traceback,
    edit_catalog,
    grep_tree,
    layer,
    minipack_site,
    run_cli,
    write_map,
)

X0, Y0 = 36_564_000.0, 2_399_000.0
NAMES = ("甲区", "乙区")


def _public_pack(mini: Path, *, name_field: bool) -> None:
    """Every layer public; the zones publish 主导产业 only, not their names (名称)."""

    def fn(doc: dict) -> None:
        z = layer(doc, "zones")
        z["publish_fields"] = ["主导产业"]
        if not name_field:
            del z["name_field"]  # the names come from 名称 all the same ("名称 if present")
        layer(doc, "control_lines")["sensitivity"] = "public"

    edit_catalog(mini, fn)
    style = mini / "styles" / "mini.toml"
    text = style.read_text(encoding="utf-8")
    style.write_text(text.replace('label_field = "名称"\n', ""), encoding="utf-8")


def test_zone_names_without_name_field_stay_off_public_analysis(mini: Path, tmp_path: Path) -> None:
    # Before the fix the public map's 可用地 and 冲突图斑 layers carried 名称 = 甲区/乙区:
    # a layer with no name_field was taken as publishing its names.
    _public_pack(mini, name_field=False)
    write_map(
        mini,
        "zones",
        title="公开分区与可用地",
        audience="public",
        layers=["zones"],
        analysis=["available_land", "conflicts"],
        basemap="none",
    )
    out = tmp_path / "out"
    result = run_cli("publish", "--pack", mini, "--out", out)
    assert_no_traceback(result)
    assert result.exit_code == 0, all_output(result)
    assert (out / "public" / "zones.html").is_file()
    for name in NAMES:
        assert grep_tree(out / "public", name) == [], name
    assert grep_tree(out / "public", "电子信息")  # the published field did reach the page
    assert grep_tree(out / "internal", "甲区")  # staff still see the names


@pytest.mark.parametrize("name_field", [True, False])
def test_check_html_of_public_pack_shows_no_unpublished_zone_name(
    mini: Path, tmp_path: Path, name_field: bool
) -> None:
    # Before the fix check.html went to OUT/public with 分区 = 甲区 although the zone layer
    # does not publish 名称.
    _public_pack(mini, name_field=name_field)
    site = minipack_site(tmp_path / "site.geojson")
    out = tmp_path / "out"
    result = run_cli("check", site, "--pack", mini, "--format", "html", "--out", out)
    assert_no_traceback(result)
    assert result.exit_code in (0, 1), all_output(result)
    pages = sorted(out.rglob("check.html"))
    assert len(pages) == 1, pages
    assert "试验地块" in pages[0].read_text(encoding="utf-8")
    for name in NAMES:
        if (out / "public").exists():
            assert grep_tree(out / "public", name) == [], name
