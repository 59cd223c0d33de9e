"""The engine's intersection pieces of convex parcels, clipped in numpy instead of by GEOS.

Oracles: the GEOS path of the same engine (convex clipping turned off), geopandas-free GEOS
intersections, and ``pyproj.Geod`` for the m² (``support.geod_ring_area``).
"""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import shapely.affinity
from pyproj import Transformer
from shapely import Polygon, box
from support import geod_ring_area

from qzgeo.analysis import overlay_kernel
from qzgeo.analysis.overlay import overlay_areas
from qzgeo.analysis.overlay_plan import ConstraintClass
from qzgeo.geo.convex_clip import Windows

GK = "EPSG:4545"  # GK zone 36 without prefix, CM 108E
CM_X, Y = 500_000.0, 2_430_000.0
COL = "cl:生态保护红线"


def _red() -> ConstraintClass:
    """A non-convex red line with a hole, in general position against the parcels."""
    outer = [(0, 0), (130, 7), (160, 95), (90, 60), (70, 150), (-3, 120)]
    hole = [(40, 40), (41, 75), (75, 77), (72, 38)]
    geom = shapely.affinity.translate(Polygon(outer, [hole]), CM_X + 0.37, Y + 0.21)
    shapely.prepare(geom)
    return ConstraintClass("cl", "生态保护红线", "exclusion", "internal", geom)


def _parcels() -> gpd.GeoDataFrame:
    """Convex parcels (Voronoi cells, tilted squares) and two non-convex ones."""
    rng = np.random.default_rng(5)
    pts = shapely.multipoints(rng.uniform(-20, 180, (60, 2)) + np.array([CM_X, Y]))
    cells = list(shapely.get_parts(shapely.voronoi_polygons(pts, extend_to=box(
        CM_X - 20, Y - 20, CM_X + 180, Y + 180))))  # fmt: skip
    cells += [shapely.affinity.rotate(box(CM_X + 50, Y + 50, CM_X + 80, Y + 70), 17)]
    ell = Polygon([(0, 0), (30, 0), (30, 10), (10, 10), (10, 30), (0, 30)])
    cells += [shapely.affinity.translate(ell, CM_X + 101.3, Y + 40.7)]
    cells += [shapely.affinity.translate(ell.reverse(), CM_X + 55.1, Y + 101.9)]
    return gpd.GeoDataFrame({"pid": range(len(cells))}, geometry=cells, crs=GK)


def _no_windows(geoms: np.ndarray) -> Windows:
    n = len(geoms)
    z = np.zeros((0, 2))
    return Windows(np.full(n, -1, dtype=np.int64), z, np.zeros(1, np.int64), z, z, z)


@pytest.mark.parametrize("ellipsoidal", [True, False])
def test_clipped_pieces_give_the_geos_answers(
    monkeypatch: pytest.MonkeyPatch, ellipsoidal: bool
) -> None:
    parcels, red = _parcels(), _red()
    calls: list[int] = []
    real = shapely.intersection

    def counted(a, b, **kw):  # type: ignore[no-untyped-def]
        calls.append(len(np.atleast_1d(a)))
        return real(a, b, **kw)

    monkeypatch.setattr(shapely, "intersection", counted)
    df, rep = overlay_areas(parcels, [red], ellipsoidal=ellipsoidal)
    clipped_calls = sum(calls)
    monkeypatch.setattr(overlay_kernel, "convex_windows", _no_windows)
    calls.clear()
    geos, rep2 = overlay_areas(parcels, [red], ellipsoidal=ellipsoidal)
    assert not rep.conservation_failures and not rep2.conservation_failures
    # Only the two L-shaped parcels went to GEOS for their pieces.
    assert 0 < clipped_calls <= 2 < sum(calls)
    # GEOS rounds its crossing points to the coordinates' ulps (1.2e-10 m at x = 500 000).
    pd.testing.assert_frame_equal(df, geos, rtol=1e-11, atol=1e-7)
    # And against GEOS directly, the parcel by parcel overlap (planar).
    if not ellipsoidal:
        want = shapely.area(shapely.intersection(parcels.geometry.values, red.geometry))
        np.testing.assert_allclose(df[COL], want, rtol=1e-11, atol=1e-7)


def test_clipped_pieces_in_m2_against_geod() -> None:
    """Ellipsoidal overlaps of convex parcels vs pyproj.Geod on the densified pieces."""
    parcels, red = _parcels(), _red()
    df, _ = overlay_areas(parcels, [red])
    to_geo = Transformer.from_crs(GK, "EPSG:4490", always_xy=True)
    pieces = shapely.segmentize(shapely.intersection(parcels.geometry.values, red.geometry), 10.0)
    geo = shapely.transform(pieces, lambda xy: np.column_stack(to_geo.transform(*xy.T)))
    want = np.array([geod_ring_area(g) for g in geo])
    assert (want > 0).sum() > 20
    # Geod sums per-edge areas of the size of (edge x distance to the equator): its own
    # rounding on pieces of a few hundred m² is ~1e-5 m² (it moves that much with the
    # densification).
    np.testing.assert_allclose(df[COL], want, rtol=1e-8, atol=2e-4)


def test_wrong_clipped_piece_is_caught_by_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """One clipped piece 10 % too small: Green disagrees, the parcel goes to the GEOS
    difference and the conservation check reports it, and only it."""
    real = overlay_kernel.clip_areas
    parcels, red = _parcels(), _red()
    shrunk: list[int] = []

    def lossy(runs, part, windows, window, **kw):  # type: ignore[no-untyped-def]
        res = real(runs, part, windows, window, **kw)
        area = res.area.copy()
        k = int(np.flatnonzero(res.sure & (res.area > 100.0))[0])
        area[k] *= 0.9
        shrunk.append(k)
        return dataclasses.replace(res, area=area)

    monkeypatch.setattr(overlay_kernel, "clip_areas", lossy)
    _, rep = overlay_areas(parcels, [red], workers=1)
    assert len(shrunk) == 1
    assert len(rep.conservation_failures) == 1
    assert rep.conservation_failures[0]["relative_error"] > 1e-3
    _, ok = overlay_areas(parcels, [red], workers=1, check_conservation=False)
    assert not ok.conservation_failures  # without the check nothing sees it


def test_touching_convex_parcels_still_report_dropped_lines() -> None:
    """A convex parcel that only touches the red line along an edge: GEOS measures it and the
    line it drops is reported, as before."""
    red = ConstraintClass(
        "cl", "生态保护红线", "exclusion", "internal", box(CM_X, Y, CM_X + 50, Y + 100)
    )
    parcels = gpd.GeoDataFrame(
        geometry=[box(CM_X + 50, Y + 10, CM_X + 80, Y + 40), box(CM_X + 40, Y, CM_X + 60, Y + 9)],
        crs=GK,
    )
    df, rep = overlay_areas(parcels, [red], ellipsoidal=False)
    assert df[COL].tolist() == [0.0, 90.0]
    assert [(d["parcel"], d["dropped"]) for d in rep.dropped_parts] == [(0, ["LineString"])]


def test_clipped_pieces_do_not_depend_on_chunks_or_threads() -> None:
    """Each pair is clipped on its own: any chunking gives bit-identical tables."""
    parcels, red = _parcels(), _red()
    want, _ = overlay_areas(parcels, [red], workers=1)
    for workers, chunk_size in ((1, 7), (2, 5), (2, 1)):
        got, _ = overlay_areas(parcels, [red], workers=workers, chunk_size=chunk_size)
        pd.testing.assert_frame_equal(got, want, check_exact=True)
