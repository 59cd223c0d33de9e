"""The unit columns of the parcel table against exact fractions (1 公顷 = 10 000 m² = 15 亩):
every ``_ha`` and ``_mu`` column beside its ``_m2`` one. A mutant writing ``available_mu`` in
hectares passed the rest of the suite."""

from __future__ import annotations

from fractions import Fraction

from qzgeo.analysis.parcels import analyze_parcels

from .conftest import X0, Y0, boxes


def test_every_ha_and_mu_column_is_its_m2_column_converted(loaded_minipack) -> None:  # type: ignore[no-untyped-def]
    parcels = boxes(
        (X0 + 300, Y0 + 300, X0 + 400, Y0 + 400),  # free
        (X0 + 200, Y0 + 500, X0 + 300, Y0 + 600),  # half in the red line
        (X0 + 950, Y0 + 500, X0 + 1150, Y0 + 600),  # across two zones
    )
    out = analyze_parcels(parcels, loaded_minipack)
    assert (out["available_m2"] > 0).all()
    for stem in ("area", "available"):
        for m2, ha, mu in zip(out[f"{stem}_m2"], out[f"{stem}_ha"], out[f"{stem}_mu"], strict=True):
            assert ha == float(Fraction(m2) / 10_000)
            assert abs(Fraction(mu) - Fraction(m2) * 15 / 10_000) <= Fraction(mu) * 2**-52
