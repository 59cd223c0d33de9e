"""The per-parcel conservation check (available + constrained = parcel) at 0.01 m² + 1e-9 of
the parcel (at most 1e-6 of it, as before): at 1e-6 alone it let 1 000 m² through on a
county-size parcel of 1e9 m², where the engine's own residual is below 0.1 m² (measured: see
``overlay.CONSERVATION_RTOL``).

A piece off by less than its agreement with Green's area (``green_area.AGREE_REL``, 1 m² on
this parcel) is not seen by this check: the parcel is not remeasured, its remainder is the
parcel less its pieces."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from qzgeo.analysis import overlay_kernel
from qzgeo.analysis.overlay import overlay_areas
from qzgeo.analysis.overlay_plan import ConstraintClass

SIDE = 31_623.0  # a 1e9 m² square in a CGCS2000 3-degree zone (CM 108°E, ~22°N)
X0, Y0 = 600_000.0 - SIDE / 2, 2_450_000.0


def _parcel_and_cut() -> tuple[gpd.GeoDataFrame, ConstraintClass]:
    parcel = shapely.box(X0, Y0, X0 + SIDE, Y0 + SIDE)
    cut = shapely.box(X0 - 1000.0, Y0 + 0.3 * SIDE, X0 + 0.6 * SIDE, Y0 + SIDE + 1000.0)
    parcels = gpd.GeoDataFrame(geometry=[parcel], crs="EPSG:4545")
    return parcels, ConstraintClass("red", "cut", "exclusion", "internal", cut)


def _broken_by(monkeypatch: pytest.MonkeyPatch, delta: float) -> None:
    """The first piece of the parcel measured ``delta`` m² too large (its planar area too:
    the remainder is then remeasured, as for any piece that disagrees with Green's area)."""
    real = overlay_kernel.ChunkRunner._pieces

    def grown(self, *args, **kw):  # type: ignore[no-untyped-def]
        out = real(self, *args, **kw)
        if len(out.m2):
            out.m2[0] += delta
            out.planar[0] += delta
        return out

    monkeypatch.setattr(overlay_kernel.ChunkRunner, "_pieces", grown)


def test_the_sound_parcel_passes() -> None:
    parcels, cut = _parcel_and_cut()
    df, rep = overlay_areas(parcels, [cut])
    assert df["area_m2"].iloc[0] == pytest.approx(1e9, rel=2e-3)  # the case: 1e9 m²
    assert rep.conservation_failures == []


@pytest.mark.parametrize("delta", [5.0, -5.0, 1.5])
def test_a_piece_off_by_a_few_square_metres_is_caught(
    monkeypatch: pytest.MonkeyPatch, delta: float
) -> None:
    parcels, cut = _parcel_and_cut()
    _broken_by(monkeypatch, delta)
    _, rep = overlay_areas(parcels, [cut])
    assert [f["parcel"] for f in rep.conservation_failures] == [0], rep.conservation_failures
    assert rep.conservation_failures[0]["error_m2"] == pytest.approx(abs(delta), abs=0.1)
