"""A GeoDataFrame through bytes and back is the same frame: dtypes, index, geometry, CRS, attrs."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from qzgeo.io.frame_codec import frame_from_bytes, frame_to_bytes, same_frame


def _odd_frame() -> gpd.GeoDataFrame:
    geoms = [
        shapely.box(108.0, 21.0, 108.1, 21.1),
        shapely.Point(108.5, 21.5, 7.25),
        None,
        shapely.Polygon(),
        shapely.from_wkt("MULTILINESTRING M ((108 22 1, 108.1 22.1 2))"),
    ]
    g = gpd.GeoDataFrame(
        {
            "名称": pd.array(["甲", None, "丙", "", "戊"], dtype="str"),
            "n": np.array([1, -2, 3, 4, 5], dtype=np.int32),
            "x": [0.1, np.nan, -0.0, 1e300, 5.0],
            "nullable": pd.array([1, None, 3, 4, 5], dtype="Int64"),
            "flag": [True, False, True, True, False],
            "when": pd.to_datetime(
                ["2024-01-01", None, "2024-03-01", "2024-04-01", "2024-05-01"]
            ).tz_localize("Asia/Shanghai"),
            "cat": pd.Categorical(["a", "b", "a", None, "b"]),
        },
        geometry=geoms,
        crs="EPSG:4545",
        index=pd.Index([7, 3, 9, 1, 5], name="fid"),
    ).rename_geometry("shape")
    g = g[["名称", "shape", "n", "x", "nullable", "flag", "when", "cat"]]  # geometry not last
    g.attrs = {"notices": [{"kind": "note", "message": "read as GBK", "source": "a.shp"}]}
    return g


def test_an_odd_frame_round_trips_exactly() -> None:
    g = _odd_frame()
    back = frame_from_bytes(frame_to_bytes(g))
    assert same_frame(g, back)
    assert list(back.columns) == list(g.columns) and back.geometry.name == "shape"
    assert back.crs.srs == "EPSG:4545" and back.attrs == g.attrs
    assert list(back.dtypes) == list(g.dtypes) and back.index.equals(g.index)
    assert shapely.has_m(back.geometry.values[4]) and back.geometry.values[1].has_z
    assert np.signbit(back["x"].iloc[2])  # -0.0 stays negative


def test_a_range_index_stays_a_range_index() -> None:
    g = gpd.GeoDataFrame({"a": [1, 2]}, geometry=[shapely.Point(0, 0)] * 2, crs="EPSG:4490")
    back = frame_from_bytes(frame_to_bytes(g))
    assert isinstance(back.index, pd.RangeIndex) and same_frame(g, back)


@pytest.mark.parametrize(
    "change",
    ["value", "dtype", "index", "geometry", "crs", "attrs", "column order", "geometry type"],
)
def test_same_frame_sees_every_difference(change: str) -> None:
    g, h = _odd_frame(), _odd_frame()
    if change == "value":
        h.loc[3, "x"] = 0.1000000001
    elif change == "dtype":
        h["n"] = h["n"].astype(np.int64)
    elif change == "index":
        h.index = pd.Index([7, 3, 9, 1, 6], name="fid")
    elif change == "geometry":
        h.loc[7, "shape"] = shapely.box(108.0, 21.0, 108.1, 21.1 + 1e-12)
    elif change == "crs":
        h = h.set_crs(h.crs.to_wkt(), allow_override=True)  # the same CRS, spelled otherwise
    elif change == "attrs":
        h.attrs = {"notices": []}
    elif change == "column order":
        h = h[["shape", "名称", "n", "x", "nullable", "flag", "when", "cat"]]
    else:  # a ring written as a line has the same WKB but another type
        g = gpd.GeoDataFrame(geometry=[shapely.LinearRing([(0, 0), (1, 0), (1, 1)])])
        h = gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 0), (1, 0), (1, 1), (0, 0)])])
    assert same_frame(g, g.copy())
    assert not same_frame(g, h)


@settings(max_examples=40, deadline=None)
@given(
    xs=st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=1, max_size=20),
    texts=st.lists(st.text(max_size=8) | st.none(), min_size=1, max_size=20),
)
def test_values_round_trip_bit_for_bit(xs: list[float], texts: list[str | None]) -> None:
    n = min(len(xs), len(texts))
    g = gpd.GeoDataFrame(
        {"x": xs[:n], "t": pd.array(texts[:n], dtype="str")},
        geometry=[shapely.Point(float(i), float(i)) for i in range(n)],
        crs="EPSG:4490",
    )
    back = frame_from_bytes(frame_to_bytes(g))
    assert same_frame(g, back)
    a, b = np.asarray(g["x"]), np.asarray(back["x"])
    # every number to the bit (-0.0 too); a NaN stays a NaN (its payload bits mean nothing)
    assert np.array_equal(np.isnan(a), np.isnan(b))
    assert np.array_equal(a[~np.isnan(a)].view(np.uint64), b[~np.isnan(b)].view(np.uint64))
