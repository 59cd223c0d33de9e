"""Outsider audit a17: nothing of an internal map reaches OUT/public, not even its id.

``publish_maps(only=[...])`` recorded the ids asked for in both manifests' ``build.only``, so
the public ``manifest.json`` named the internal map ``internal_map`` (an id is the page's
file name, and often says what the map is). The oracle is a byte search of OUT/public.
"""

from __future__ import annotations

import json
from pathlib import Path

from _publish_helpers import SENS, Built

from qzgeo.publish.maps import publish_maps


def test_public_manifest_names_no_internal_map(built: Built, tmp_path: Path) -> None:
    out = tmp_path / "out"
    publish_maps(
        built.pack,
        built.layers,
        built.analysis,
        out,
        analysis_sensitivity=SENS,
        only=["internal_map", "public_map"],
    )
    assert (out / "internal" / "internal_map.html").is_file()
    public = json.loads((out / "public" / "manifest.json").read_text(encoding="utf-8"))
    assert public["build"]["only"] == ["public_map"]
    for path in (out / "public").rglob("*"):
        assert b"internal_map" not in path.read_bytes(), path
    internal = json.loads((out / "internal" / "manifest.json").read_text(encoding="utf-8"))
    assert internal["build"]["only"] == ["internal_map", "public_map"]
