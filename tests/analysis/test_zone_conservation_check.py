"""The zone analysis' conservation check fires: available + constrained must add up to the
zone (1e-6 relative). A mutant switching the check off passed the rest of the suite; here the
available and constrained land are shrunk by 1 % behind the analysis' back."""

from __future__ import annotations

import pytest
import shapely
import shapely.affinity
from support import get_path

from qzgeo._errors import GeometryError
from qzgeo.analysis import zones
from qzgeo.pack.catalog import load_pack
from qzgeo.pack.load import load_pack_layers


def test_a_lost_percent_of_a_zone_is_an_error_naming_the_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loaded = load_pack_layers(load_pack(get_path("minipack")))
    real = zones.polygonal_part

    def shrunk(geom: shapely.Geometry) -> shapely.Geometry:
        part = real(geom)
        return shapely.affinity.scale(part, 0.995, 0.995) if not part.is_empty else part

    monkeypatch.setattr(zones, "polygonal_part", shrunk)
    with pytest.raises(GeometryError, match=r"area not conserved for zone zones#\d+"):
        zones.analyze_pack(loaded)


def test_a_nan_area_is_not_taken_as_conserved() -> None:
    # `residual > tolerance` is False for NaN: a zone whose pieces measured NaN passed.
    with pytest.raises(GeometryError, match="area not conserved for zone z#1"):
        zones._check_conservation("zone z#1", 1e6, float("nan"), 4e5)
    assert zones._check_conservation("zone z#1", 1e6, 6e5, 4e5) == 0.0
