"""Graticule ticks of a sheet whose frame reaches past the North Pole in the pack's
Gauss-Krüger CRS (a nationwide layer in a 3° zone at 1:50 000 000): the top edge's points past
the pole have no real longitude, and 17 labels (0°E, 10°E … 160°W) were stacked on one spot.

The oracle is PROJ's own round trip, point by point: a tick is right when the point of the edge
it marks projects back onto itself and lies on the meridian or parallel of its label.
"""

from __future__ import annotations

import itertools
import re

import pytest
from pyproj import CRS, Transformer

from qzgeo.publish.sheet_layout import graticule_ticks

GK_108 = CRS.from_proj4(  # CGCS2000 3° Gauss-Krüger, CM 108°E, without the zone prefix
    "+proj=tmerc +lat_0=0 +lon_0=108 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m +no_defs"
)


def _degrees(label: str) -> float:
    m = re.fullmatch(r"(\d+)°(?:(\d+)′)?(?:(\d+)″)?([NSEW])", label)
    assert m, label
    value = int(m[1]) + int(m[2] or 0) / 60 + int(m[3] or 0) / 3600
    return -value if m[4] in "SW" else value


@pytest.mark.parametrize(
    "ground",
    [
        # A3 landscape frame at 1:50 000 000 around China: the top is ~1 000 km past the pole
        (-6_200_000.0, 150_000.0, 7_200_000.0, 11_000_000.0),
        # an ordinary frame, 1:200 000 around 钦州港: every tick as before
        (520_000.0, 2_390_000.0, 575_000.0, 2_430_000.0),
    ],
)
def test_every_tick_marks_the_meridian_or_parallel_of_its_label(
    ground: tuple[float, float, float, float],
) -> None:
    to_geo = Transformer.from_crs(GK_108, "EPSG:4490", always_xy=True)
    to_plane = Transformer.from_crs("EPSG:4490", GK_108, always_xy=True)
    minx, miny, maxx, maxy = ground
    ticks = graticule_ticks(ground, GK_108)
    assert ticks
    for t in ticks:
        if t.side in ("bottom", "top"):
            x, y = minx + t.pos * (maxx - minx), miny if t.side == "bottom" else maxy
        else:
            x, y = minx if t.side == "left" else maxx, miny + t.pos * (maxy - miny)
        lon, lat = to_geo.transform(x, y)
        back = to_plane.transform(lon, lat)
        assert abs(back[0] - x) < 1.0 and abs(back[1] - y) < 1.0, (t, (x, y), back)
        got = lon if t.side in ("bottom", "top") else lat
        assert abs(got - _degrees(t.label)) < 0.01, (t, lon, lat)
    for side in ("bottom", "top", "left", "right"):
        pos = sorted(t.pos for t in ticks if t.side == side)
        assert all(b - a > 0.02 for a, b in itertools.pairwise(pos)), (side, pos)
