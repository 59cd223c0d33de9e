"""界址点 rings are parts or holes by how deep they nest, not by their 圈号 order.

Found by out13: an island drawn inside a parcel's hole (圈号 3 inside hole 2 inside shell 1,
a 回字形 parcel around a pond with an island) was read as a second hole of the shell, and
the repair of the nested holes dropped the island (640 000 m² instead of 680 000); a file
that numbers the hole 1 and its shell 2 read the hole as a part overlapping its shell, and
the repair kept the union (1 000 000 m² instead of 640 000).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from qzgeo.io.jzd_read import read_jzd
from qzgeo.io.jzd_write import write_jzd
from qzgeo.notices import notices_of

E0, N0 = 36_564_000.0, 2_399_000.0  # zone-prefixed easting, northing (GK zone 36)


def _ring(x0: float, y0: float, x1: float, y1: float) -> list[tuple[float, float]]:
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def _file(tmp_path: Path, rings: list[list[tuple[float, float]]]) -> Path:
    rows = []
    for k, ring in enumerate(rings, start=1):
        for j, (dx, dy) in enumerate([*ring, ring[0]]):
            rows.append(f"J{j + 1},{k},{N0 + dy:.3f},{E0 + dx:.3f}")
    text = "[属性描述]\n带号=36\n[地块坐标]\n" + f"{len(rows)},,P,,面,,,,@\n" + "\n".join(rows)
    path = tmp_path / "p.txt"
    path.write_text(text + "\n", encoding="gbk")
    return path


def test_island_inside_a_hole_is_a_part(tmp_path: Path) -> None:
    shell, hole, island = (
        _ring(0, 0, 1000, 1000),
        _ring(200, 200, 800, 800),
        _ring(400, 400, 600, 600),
    )
    gdf = read_jzd(_file(tmp_path, [shell, hole, island]))
    geom = gdf.geometry.iloc[0]
    assert geom.is_valid
    assert geom.area == pytest.approx(1000**2 - 600**2 + 200**2)
    assert any("island" in m for m in notices_of(gdf).messages())


def test_hole_numbered_before_its_shell(tmp_path: Path) -> None:
    shell, hole = _ring(0, 0, 1000, 1000), _ring(200, 200, 800, 800)
    gdf = read_jzd(_file(tmp_path, [hole, shell]))
    geom = gdf.geometry.iloc[0]
    assert geom.geom_type == "Polygon" and geom.is_valid
    assert geom.area == pytest.approx(1000**2 - 600**2)
    [note] = [m for m in notices_of(gdf).messages() if "ring 1" in m]
    assert "inside ring 2" in note and "hole" in note


def test_island_round_trips_through_write(tmp_path: Path) -> None:
    outer = shapely.Polygon(_ring(0, 0, 1000, 1000), [_ring(200, 200, 800, 800)])
    island = shapely.Polygon(_ring(400, 400, 600, 600))
    geom = shapely.affinity.translate(shapely.MultiPolygon([outer, island]), E0, N0)
    src = gpd.GeoDataFrame({"地块编号": ["P"]}, geometry=[geom], crs="EPSG:4524")
    back = read_jzd(write_jzd(src, tmp_path / "out.txt"))
    assert back.geometry.iloc[0].area == pytest.approx(1000**2 - 600**2 + 200**2)


def test_rings_of_one_number_each_closed_are_read_apart(tmp_path: Path) -> None:
    """Every ring numbered 1, each repeating its own first point (a hole, then a part)."""
    shell, hole, part = (
        _ring(0, 0, 1000, 1000),
        _ring(200, 200, 800, 800),
        _ring(2000, 0, 2300, 300),
    )
    rows = [
        f"J{j},1,{N0 + dy:.3f},{E0 + dx:.3f}"
        for j, (dx, dy) in enumerate([p for r in (shell, hole, part) for p in [*r, r[0]]], start=1)
    ]
    text = "[属性描述]\n带号=36\n[地块坐标]\n" + f"{len(rows)},,P,,面,,,,@\n" + "\n".join(rows)
    path = tmp_path / "p.txt"
    path.write_text(text + "\n", encoding="gbk")
    gdf = read_jzd(path)
    geom = gdf.geometry.iloc[0]
    assert geom.is_valid
    assert geom.area == pytest.approx(1000**2 - 600**2 + 300**2)
    assert any("read as 3 rings" in m for m in notices_of(gdf).messages())
