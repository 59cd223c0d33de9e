"""GCJ-02 handling: qzgeo's conversion, checked against the GSHHG coast."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod

from qzgeo.geo.gcj02 import (
    gcj02_to_wgs84,
    geoms_gcj02_to_wgs84,
    geoms_wgs84_to_gcj02,
    wgs84_to_gcj02,
)

GEOD = Geod(ellps="GRS80")


def _coast_misfit_m(
    districts: np.ndarray, coast_lines: shapely.Geometry, *, only: np.ndarray | None = None
) -> float:
    """Median distance (EPSG:4545) of the districts' coast vertices to the GSHHG coast.

    The districts' outline vertices within 2 km of the GSHHG coast stand for their coastline
    (the rest are land borders with Fangchenggang, Beihai, Nanning, Yulin). ``only``: lon/lat
    vertices to keep (the source's): the vertices the build adds on the generalised AMap edges,
    which cut across bays, would measure the generalisation, not the datum.
    """
    xy = shapely.get_coordinates(shapely.union_all(districts).boundary)
    if only is not None:
        xy = xy[_rows_in(xy, only)]
    pts = gpd.GeoSeries(shapely.points(xy), crs=4490).to_crs(4545).values
    coast = gpd.GeoSeries([coast_lines], crs=4490).to_crs(4545).iloc[0]
    d = shapely.distance(pts, coast)
    return float(np.median(d[d < 2000.0]))


def _rows_in(xy: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Which rows of ``xy`` are (exactly) rows of ``ref``."""
    view = np.dtype((np.void, 16))
    a = np.ascontiguousarray(xy, dtype=np.float64).view(view).ravel()
    b = np.ascontiguousarray(ref, dtype=np.float64).view(view).ravel()
    return np.isin(a, b)


def test_coast_misfit_drops_after_conversion(raw_districts, coast_lines):
    before = _coast_misfit_m(raw_districts.geometry.values, coast_lines)
    after = _coast_misfit_m(geoms_gcj02_to_wgs84(raw_districts.geometry.values), coast_lines)
    assert 300.0 < before < 450.0  # about 365 m as stored (GCJ-02 read as WGS84)
    assert after < 250.0  # about 185 m; the rest is GSHHG's own age and accuracy
    assert after < before - 100.0


def test_pack_districts_are_the_converted_source(pack_layers, raw_districts):
    converted = geoms_gcj02_to_wgs84(raw_districts.geometry.values)
    stored = pack_layers["districts"].set_index("adcode")
    for adcode, geom in zip(raw_districts["adcode"].astype(str), converted, strict=True):
        assert stored.geometry[adcode].hausdorff_distance(geom) < 1e-7, adcode


def test_pack_districts_fit_the_coast(pack_layers, raw_districts, coast_lines):
    stored = pack_layers["districts"].geometry.values
    source = shapely.get_coordinates(geoms_gcj02_to_wgs84(raw_districts.geometry.values))
    # the build densifies the outline (edges ≤ 200 m) but keeps every converted vertex
    assert _rows_in(source, shapely.get_coordinates(stored)).all()
    assert _coast_misfit_m(stored, coast_lines, only=source) < 250.0


def test_gcj02_offset_in_qinzhou_matches_published_range():
    # the canal, city and port, 108.4–109.0E, 21.6–22.4N
    lon, lat = np.meshgrid(np.linspace(108.4, 109.0, 7), np.linspace(21.6, 22.4, 9))
    glon, glat = wgs84_to_gcj02(lon.ravel(), lat.ravel())
    dlon, dlat = glon - lon.ravel(), glat - lat.ravel()
    # reference notes: +0.0037..0.0041° lon and -0.0026..-0.0031° lat, ~500 m to the south-east
    assert np.all((dlon > 0.0036) & (dlon < 0.0042))
    assert np.all((dlat < -0.0024) & (dlat > -0.0032))


def test_gcj02_round_trip_within_half_a_metre():
    rng = np.random.default_rng(4490)
    lon = rng.uniform(107.9, 109.9, 2000)
    lat = rng.uniform(21.3, 23.0, 2000)
    back_lon, back_lat = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    _, _, dist = GEOD.inv(lon, lat, back_lon, back_lat)
    assert np.max(dist) < 0.5


def test_geometry_round_trip_within_half_a_metre(pack_layers):
    geoms = pack_layers["canal_parks"].geometry.values
    back = geoms_gcj02_to_wgs84(geoms_wgs84_to_gcj02(geoms))
    for a, b in zip(geoms, back, strict=True):
        ca, cb = shapely.get_coordinates(a), shapely.get_coordinates(b)
        _, _, dist = GEOD.inv(ca[:, 0], ca[:, 1], cb[:, 0], cb[:, 1])
        assert np.max(dist) < 0.5


def test_gcj02_is_identity_outside_china():
    lon, lat = wgs84_to_gcj02(np.array([2.35]), np.array([48.85]))
    assert lon[0] == pytest.approx(2.35) and lat[0] == pytest.approx(48.85)
