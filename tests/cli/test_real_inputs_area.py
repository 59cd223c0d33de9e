"""Issue 9 (1): the area a planner signs, against oracles that share no code with qzgeo.

Holes wound like their shell (CAD digitising, many exporters) must be subtracted; the ring
order in the file must not matter. Expected numbers: GeographicLib through pyproj on
explicitly oriented rings (oracles.polygon_m2), the closed-form lon/lat rectangle, and a
hypothesis property over random polygons with holes in EPSG:4490 and in GK zones.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from _cli import MINIPACK, check_json, qzgeo
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracles import densified_lonlat_rect, lonlat_rect_m2, polygon_m2, projected_polygon_m2
from real_shaped import (
    GK36,
    JzdParcel,
    from_lonlat,
    geojson_polygons,
    gk_rect,
    hole_parcel,
    jzd_text,
    oriented,
    rect,
    to_lonlat,
    write_text,
)

ABS_M2 = 0.011  # the JSON rounds area_m2 to 0.01 m²

WINDINGS = list(itertools.product([True, False], repeat=3))  # shell, hole 1, hole 2 (CCW?)
ORDERS = [[0, 1, 2], [1, 2, 0], [2, 0, 1], [0, 2, 1]]  # ring rows' order in the file


def _oracle(p: JzdParcel) -> float:
    return projected_polygon_m2(p.rings[0], p.rings[1:], crs=GK36)


@pytest.mark.parametrize("order", ORDERS, ids=lambda o: "order" + "".join(map(str, o)))
@pytest.mark.parametrize("wind", WINDINGS, ids=lambda w: "-".join("ccw" if c else "cw" for c in w))
def test_jzd_two_holes_any_winding_any_order(
    tmp_path: Path, wind: tuple[bool, bool, bool], order: list[int]
) -> None:
    p = hole_parcel(shell_ccw=wind[0], hole_ccw=wind[1:], order=order)
    want = _oracle(p)
    p.declared = f"{want / 1e4:.4f}"  # the file declares the right 公顷
    path = write_text(tmp_path / "孔洞.txt", jzd_text([p]), "gbk")
    _, [site] = check_json(path, "--pack", MINIPACK)
    assert site["area_m2"] == pytest.approx(want, abs=ABS_M2)
    # A right declaration must not be blamed on the file.
    assert not any("declares" in w and "公顷" in w for w in site["warnings"]), site["warnings"]


@pytest.mark.parametrize("hole_ccw", [True, False], ids=["hole-ccw", "hole-cw"])
@pytest.mark.parametrize("shell_ccw", [True, False], ids=["shell-ccw", "shell-cw"])
def test_geojson_site_hole_any_winding(tmp_path: Path, shell_ccw: bool, hole_ccw: bool) -> None:
    shell = to_lonlat(gk_rect(100, 100, 400, 300))
    hole = to_lonlat(gk_rect(150, 150, 250, 250))
    rings = [oriented(shell, ccw=shell_ccw), oriented(hole, ccw=hole_ccw)]
    path = geojson_polygons(tmp_path / "site.geojson", [rings], names=["带孔地块"])
    want = polygon_m2(shell, [hole])
    _, [site] = check_json(path, "--pack", MINIPACK)
    assert site["area_m2"] == pytest.approx(want, abs=ABS_M2)


def test_closed_form_square(tmp_path: Path) -> None:
    """A 0.01° lon/lat square near 钦州港: the authalic-latitude closed form."""
    ring = densified_lonlat_rect(108.62, 21.67, 108.63, 21.68)
    path = geojson_polygons(tmp_path / "square.geojson", [[ring]])
    _, [site] = check_json(path, "--pack", MINIPACK)
    want = lonlat_rect_m2(108.62, 21.67, 108.63, 21.68)
    assert site["area_m2"] == pytest.approx(want, abs=ABS_M2)
    assert site["area_ha"] == pytest.approx(want / 1e4, abs=1e-6)
    assert site["area_mu"] == pytest.approx(want * 15 / 1e4, abs=1e-5)


def _declared_ha(txt: Path) -> list[float]:
    text = txt.read_bytes().decode("gbk")
    return [float(line.split(",")[1]) for line in text.splitlines() if line.endswith(",@")]


@pytest.mark.parametrize("hole_ccw", [True, False], ids=["hole-ccw", "hole-cw"])
def test_convert_writes_the_right_declared_area(tmp_path: Path, hole_ccw: bool) -> None:
    """write_jzd's 面积 and a write → read round trip, for a hole of either winding."""
    shell = to_lonlat(gk_rect(100, 100, 400, 300))
    hole = to_lonlat(gk_rect(150, 150, 250, 250))
    rings = [oriented(shell, ccw=True), oriented(hole, ccw=hole_ccw)]
    src = geojson_polygons(tmp_path / "site.geojson", [rings])
    want = polygon_m2(shell, [hole])
    res = qzgeo("convert", src, tmp_path / "out.txt")
    assert res.exit_code == 0, res.output
    assert _declared_ha(tmp_path / "out.txt") == [pytest.approx(want / 1e4, abs=5e-5)]
    # Read back: the same area, and no declared-area complaint about qzgeo's own file.
    res = qzgeo("convert", tmp_path / "out.txt", tmp_path / "back.gpkg")
    assert res.exit_code == 0, res.output
    assert "declares" not in res.output
    back = gpd.read_file(tmp_path / "back.gpkg").to_crs("EPSG:4490").geometry.iloc[0]
    got = polygon_m2(list(back.exterior.coords), [list(r.coords) for r in back.interiors])
    assert got == pytest.approx(want, abs=0.05)
    assert len(back.interiors) == 1


# --- the property: random polygons with holes, every ring order and winding ------------------

CENTRES = {  # GK zone -> a lon/lat centre in that zone (China), for the GK files
    36: (108.62, 21.69),
    38: (113.9, 22.6),
    40: (120.15, 30.28),
    41: (123.4, 41.8),
}


@st.composite
def polygons_with_holes(draw: st.DrawFn) -> tuple[list[tuple[float, float]], list, list]:
    """A star-shaped shell (unit radius) with 0-3 square holes; windings and ring order."""
    n = draw(st.integers(6, 14))
    jitter = draw(st.lists(st.floats(-0.3, 0.3), min_size=n, max_size=n))
    radii = draw(st.lists(st.floats(0.6, 1.0), min_size=n, max_size=n))
    ang = (np.arange(n) + np.asarray(jitter)) * 2 * np.pi / n
    shell = [(float(r * np.cos(a)), float(r * np.sin(a))) for r, a in zip(radii, ang, strict=True)]
    cells = draw(
        st.lists(st.sampled_from([(0, 0), (0, 1), (1, 0), (1, 1)]), unique=True, max_size=3)
    )
    holes = []
    for cx, cy in cells:
        size = draw(st.floats(0.03, 0.1))
        ox, oy = draw(st.floats(0, 0.1)), draw(st.floats(0, 0.1))
        x0, y0 = -0.28 + cx * 0.28 + ox, -0.28 + cy * 0.28 + oy
        holes.append([(x0, y0), (x0 + size, y0), (x0 + size, y0 + size), (x0, y0 + size)])
    winds = draw(st.lists(st.booleans(), min_size=1 + len(holes), max_size=1 + len(holes)))
    order = draw(st.permutations(list(range(1 + len(holes)))))
    shell = oriented(shell, ccw=winds[0])
    holes = [oriented(h, ccw=w) for h, w in zip(holes, winds[1:], strict=True)]
    return shell, holes, list(order)


def _near_constraint(tmp: Path, lon: float, lat: float) -> Path:
    """A tiny red line beside the site, so that --no-pack needs no plan pack far away."""
    ring = rect(lon + 0.5, lat + 0.5, lon + 0.51, lat + 0.51)
    return geojson_polygons(tmp / "red.geojson", [[ring]], names=["红线"])


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    poly=polygons_with_holes(),
    scale=st.floats(0.001, 0.02),
    frame=st.sampled_from(["4490", 36, 38, 40, 41]),
)
def test_property_area_equals_oracle(tmp_path_factory, poly, scale, frame) -> None:  # type: ignore[no-untyped-def]
    shell, holes, order = poly
    tmp = tmp_path_factory.mktemp("prop")
    if frame == "4490":
        lon0, lat0 = 108.62, 21.69
        ll = [[(lon0 + x * scale, lat0 + y * scale) for x, y in r] for r in [shell, *holes]]
        # GeoPackage in EPSG:4490, rings exactly as drawn (hole order permuted too).
        gdf = gpd.GeoDataFrame(
            geometry=[shapely.Polygon(ll[0], [ll[k] for k in order if k != 0])], crs="EPSG:4490"
        )
        path = tmp / "site.gpkg"
        gdf.to_file(path, engine="pyogrio")
        want = polygon_m2(ll[0], ll[1:])
    else:
        zone = int(frame)
        lon0, lat0 = CENTRES[zone]
        crs = f"EPSG:{4513 + zone - 25}"  # CGCS2000 3-degree GK, zone-prefixed
        ll = [[(lon0 + x * scale, lat0 + y * scale) for x, y in r] for r in [shell, *holes]]
        # GK keeps the windings drawn; rounded to the file's 0.001 m so the oracle measures
        # the coordinates the file holds (half a millimetre on a 10 km perimeter is ~1 m²).
        gk = [[(round(x, 3), round(y, 3)) for x, y in from_lonlat(r, crs)] for r in ll]
        p = JzdParcel(rings=gk, order=order)
        path = write_text(tmp / "site.txt", jzd_text([p], zone=str(zone)), "gbk")
        want = projected_polygon_m2(gk[0], gk[1:], crs=crs)
    red = _near_constraint(tmp, lon0, lat0)
    _, [site] = check_json(path, "--no-pack", "--constraint", red)
    assert site["area_m2"] == pytest.approx(want, abs=ABS_M2, rel=1e-9)


def test_hole_warning_names_the_right_area(tmp_path: Path) -> None:
    """The issue's 'declares … 公顷 but its computed area is …' must not blame a good file."""
    p = hole_parcel(shell_ccw=False, hole_ccw=[False], order=[0, 1])
    p.declared = f"{_oracle(p) / 1e4:.4f}"
    path = write_text(tmp_path / "cad.txt", jzd_text([p]), "gbk")
    res = qzgeo("check", path, "--pack", MINIPACK, "--format", "json")
    assert not re.search(r"declares [\d.]+ 公顷 but", res.output), res.output
