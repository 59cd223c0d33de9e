"""A map page has no default extent: the one it had was the bundled city's box (108.0-109.2°E,
21.5-22.3°N), which a page built without its own bounds would have opened on in any city."""

from __future__ import annotations

import dataclasses

from qzgeo.publish.render import MapPage


def test_map_page_bounds_are_required() -> None:
    bounds = {f.name: f for f in dataclasses.fields(MapPage)}["bounds"]
    assert bounds.default is dataclasses.MISSING and bounds.default_factory is dataclasses.MISSING
