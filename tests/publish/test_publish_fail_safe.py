"""Fail-safe defaults of the publish checks: what nobody declared public is internal. Each
test here failed on a mutant the rest of the suite let through."""

from __future__ import annotations

from pathlib import Path

import pytest
from _publish_helpers import Built

from qzgeo._errors import PublishError
from qzgeo.pack.catalog import load_pack
from qzgeo.publish.checks import shown_name_field
from qzgeo.publish.maps import publish_maps


def test_an_analysis_output_without_a_declared_sensitivity_is_internal(
    built: Built, tmp_path: Path
) -> None:
    built.write_map(
        "undeclared",
        """
        title = "未声明"
        audience = "public"
        layers = ["zones"]
        analysis = ["available_land"]
        """,
    )
    out = tmp_path / "out"
    with pytest.raises(PublishError, match=r"undeclared.toml.*'available_land'.*internal"):
        publish_maps(
            built.pack, built.layers, built.analysis, out,
            analysis_sensitivity={"conflicts": "public"},  # available_land: not declared
        )  # fmt: skip
    assert not out.exists()


def test_a_zone_name_field_outside_publish_fields_is_shown_internally_only(built: Built) -> None:
    cat = built.root / "layers" / "catalog.toml"
    text = cat.read_text(encoding="utf-8")
    old = 'publish_fields = ["名称", "类型", "面积_ha"]'
    assert old in text
    cat.write_text(text.replace(old, 'publish_fields = ["类型", "面积_ha"]'), encoding="utf-8")
    pack = load_pack(built.root)
    assert pack.layers["zones"].name_field == "名称"
    assert shown_name_field(pack, "zones", public=True) is None
    assert shown_name_field(pack, "zones", public=False) == "名称"
