"""Outsider audit a17: analysis outputs on a public map carry only what their sources publish.

可用地 and 冲突图斑 carry columns taken from the pack's layers: 名称 from the zone layers'
``name_field`` and 类别 from the constraint layers' ``class_field``. A public page may embed a
layer's attribute only if the layer lists it in ``publish_fields``, analysis or not.

The oracle is the minipack's own data (zones 甲区 and 乙区; control lines of the classes
生态保护红线, 永久基本农田, 城镇开发边界) and a byte search of every file under OUT/public.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))

from packs import (
    all_output,
    assert_no_traceback,
    copy_minipack,
    edit_catalog,
    grep_tree,
    layer,
    run_cli,
    write_map,
)

CLASSES = ("生态保护红线", "永久基本农田", "城镇开发边界")
NAMES = ("甲区", "乙区")


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    return copy_minipack(tmp_path / "pack")


def _all_public(mini: Path, *, zone_fields: list[str], class_fields: list[str]) -> None:
    """Every layer public, the zones and control lines publishing the fields given; a public
    map of the zones with both analysis outputs."""

    def fn(doc: dict) -> None:
        layer(doc, "zones")["publish_fields"] = zone_fields
        lines = layer(doc, "control_lines")
        lines["sensitivity"] = "public"
        lines["publish_fields"] = class_fields

    edit_catalog(mini, fn)
    style = mini / "styles" / "mini.toml"
    text = style.read_text(encoding="utf-8")
    style.write_text(text.replace('label_field = "名称"\n', ""), encoding="utf-8")
    write_map(
        mini,
        "zones",
        title="公开分区与冲突",
        audience="public",
        layers=["zones"],
        analysis=["available_land", "conflicts"],
        basemap="none",
    )


def test_unpublished_constraint_classes_stay_off_public_conflicts(
    mini: Path, tmp_path: Path
) -> None:
    # Before the fix the public page's 冲突图斑 carried 类别 = 永久基本农田 / 城镇开发边界外
    # (and qz_class): values of the control lines' class_field, which they do not publish.
    _all_public(mini, zone_fields=["名称", "主导产业"], class_fields=[])
    out = tmp_path / "out"
    result = run_cli("publish", "--pack", mini, "--out", out)
    assert_no_traceback(result)
    assert result.exit_code == 0, all_output(result)
    page = out / "public" / "zones.html"
    assert page.is_file()
    assert "冲突图斑" in page.read_text(encoding="utf-8")  # the conflicts are there
    for cls in CLASSES:
        assert grep_tree(out / "public", cls) == [], cls
    assert grep_tree(out / "public", "甲区")  # the published zone names still are
    assert grep_tree(out / "internal", "永久基本农田")  # staff still see the classes


def test_published_constraint_classes_reach_public_conflicts(mini: Path, tmp_path: Path) -> None:
    _all_public(mini, zone_fields=["名称", "主导产业"], class_fields=["类别"])
    out = tmp_path / "out"
    result = run_cli("publish", "--pack", mini, "--out", out)
    assert result.exit_code == 0, all_output(result)
    assert grep_tree(out / "public", "永久基本农田")


@pytest.mark.parametrize(
    ("old", "new", "published", "field"),
    [
        # conflicts styled by class: the classes are the control lines' unpublished 类别
        (
            'stroke = "#B35900"\n',
            'stroke = "#B35900"\n[conflicts.classes."永久基本农田"]\nfill = "#FF0000"\n',
            {"zone_fields": ["名称"], "class_fields": []},
            "类别",
        ),
        # 可用地 labelled by zone names the zone layer does not publish
        (
            'legend = "可用地"\n',
            'legend = "可用地"\nlabel_field = "名称"\n',
            {"zone_fields": ["主导产业"], "class_fields": ["类别"]},
            "名称",
        ),
    ],
    ids=["conflicts-by-class", "available-land-labels"],
)
def test_public_analysis_styled_by_an_unpublished_source_field_is_refused(
    mini: Path, tmp_path: Path, old: str, new: str, published: dict, field: str
) -> None:
    # Before the fix both validated OK and published (exit 0) with 类别 / 名称 on the page.
    _all_public(mini, **published)
    style = mini / "styles" / "mini.toml"
    text = style.read_text(encoding="utf-8")
    assert old in text
    style.write_text(text.replace(old, new), encoding="utf-8")
    for cmd in (("validate",), ("publish", "--out", tmp_path / "out")):
        result = run_cli(*cmd, "--pack", mini)
        assert_no_traceback(result)
        assert result.exit_code == 2, (cmd, all_output(result))
        text = all_output(result)
        assert "maps/zones.toml" in text and repr(field) in text, text
        assert "publish_fields" in text, text
    assert not (tmp_path / "out" / "public").exists()


def _site(path: Path) -> Path:
    """One site over both zones, crossing every control line of the minipack."""
    import geopandas as gpd
    from shapely.geometry import box

    x0, y0 = 36_564_000.0, 2_399_000.0
    gdf = gpd.GeoDataFrame(
        {"名称": ["试验地块"]},
        geometry=[box(x0 + 50, y0 + 50, x0 + 1950, y0 + 950)],
        crs="EPSG:4524",
    )
    gdf.to_file(path, driver="GeoJSON")
    return path


@pytest.mark.parametrize(
    "cmd",
    [("check", "--format", "html"), ("analyze", "--parcels")],
    ids=["check-html", "analyze"],
)
def test_site_and_parcel_results_name_no_unpublished_class(
    mini: Path, tmp_path: Path, cmd: tuple[str, ...]
) -> None:
    # Before the fix check.html and parcels.gpkg/parcels_summary.* of this all-public pack
    # went to OUT/public naming the classes (control_lines / 永久基本农田: … 公顷, columns
    # control_lines:永久基本农田_m2), which the control lines do not publish.
    _all_public(mini, zone_fields=["名称", "主导产业"], class_fields=[])
    site = _site(tmp_path / "site.geojson")
    out = tmp_path / "out"
    result = run_cli(*cmd, site, "--pack", mini, "--out", out)
    assert_no_traceback(result)
    assert result.exit_code in (0, 1), all_output(result)
    if (out / "public").exists():
        for cls in CLASSES:
            assert grep_tree(out / "public", cls) == [], cls
    assert grep_tree(out / "internal", "永久基本农田")  # the result names them, for staff
