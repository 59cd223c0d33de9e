"""Distance grades next to a gentle bend of a line: GEOS buffers round such a corner with fewer
segments than the quadrant resolution suggests, so the circumscribed buffer must allow for it.

Oracle: ``shapely.distance`` from every cell centre (no qzgeo code).
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from click.testing import CliRunner
from shapely import LineString

from qzgeo.cli.main import cli

BREAKS = [4000, 5000, 6000, 7000]


def bent_line(h: object) -> tuple[LineString, tuple[float, float]]:
    """A line bending right by ~1.45 x (90° / 16) and the cell centre 4997 m beyond the bend.

    GEOS gives such a convex corner one fillet segment (it rounds the turn / quantum to the
    nearest whole number), whose chord passes ~6.6 m inside a 5000 m circle around the vertex
    even when buffered to 5000 / cos(quantum / 2).
    """
    turn = 1.45 * math.pi / 32
    cx, cy = h.X0 + 3_050.0, h.Y0 + 5_950.0  # type: ignore[attr-defined]
    bis = math.pi / 2 - turn / 2  # between the two left normals: (0, 1) and (sin t, cos t)
    vx, vy = cx - 4_997.0 * math.cos(bis), cy - 4_997.0 * math.sin(bis)
    line = LineString(
        [(vx - 3_000, vy), (vx, vy), (vx + 3_000 * math.cos(turn), vy - 3_000 * math.sin(turn))]
    )
    return line, (cx, cy)


def test_cells_just_inside_a_break_beyond_a_gentle_bend(make_pack, h, tmp_path: Path) -> None:
    pack = make_pack({"near": h.one_factor_model(kind="distance", breaks=BREAKS, layers=["road"])})
    line, (cx, cy) = bent_line(h)
    gpd.GeoDataFrame(geometry=[line], crs=h.GK).to_file(
        pack / "layers" / "synthetic.gpkg", layer="road", driver="GPKG"
    )
    probe = shapely.distance(shapely.Point(cx, cy), line)
    assert 4_993.5 < probe < 5_000  # the cell the bug graded beyond 5000 m
    res = CliRunner().invoke(
        cli, ["suitability", "--pack", str(pack), "--out", str(tmp_path / "out"), "--no-progress"]
    )
    assert res.exit_code == 0, res.output
    tif = tmp_path / "out" / "public" / "suitability" / "near" / "factor_near.tif"
    with rasterio.open(tif) as src:
        grades, t = src.read(1), src.transform
    rows, cols = np.indices(grades.shape)
    x, y = t.c + t.a * (cols + 0.5), t.f + t.e * (rows + 0.5)
    d = shapely.distance(shapely.points(x, y), line)
    expected = np.array([5, 4, 3, 2, 1])[np.searchsorted(BREAKS, d, "left")]
    inside = shapely.contains_xy(h.STUDY, x, y)
    col, row = ~t @ (cx, cy)
    assert grades[int(row), int(col)] == 4  # within 5000 m
    assert np.array_equal(grades[inside], expected[inside])
