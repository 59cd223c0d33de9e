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


def test_a_file_holding_an_internal_layer_has_no_hash_in_the_public_manifest() -> None:
    # the minipack's mini.gpkg holds the public zones and the internal control lines
    from support import get_path

    from qzgeo.pack.load import load_pack_layers
    from qzgeo.publish.bundle import public_input_hashes

    loaded = load_pack_layers(load_pack(get_path("minipack")))
    sens = {s.sensitivity for s in loaded.pack.layers.values() if s.path == "mini.gpkg"}
    assert sens == {"public", "internal"}
    (gpkg,) = [k for k in loaded.input_hashes if k.endswith("mini.gpkg")]
    assert gpkg not in public_input_hashes(loaded)
