"""界址点 files that give their zone by 中央子午线 instead of (or beside) 带号.

Found in round 13's audit: a file with ``中央子午线=108`` and eastings without the zone prefix
was refused ("no 带号 ... the zone is unknown"), though the line names the zone exactly.
Expected CRSs are named by pyproj (the EPSG database), not computed by qzgeo's own table.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pyproj import CRS, Geod, Transformer

from qzgeo._errors import CRSError, InputError
from qzgeo.geo.area import ellipsoidal_area
from qzgeo.io.jzd_read import read_jzd

SQUARE = ["J1,1,2399000,564000", "J2,1,2399000,564300", "J3,1,2399300,564300"]
SQUARE += ["J4,1,2399300,564000", "J1,1,2399000,564000"]


def _file(tmp_path: Path, *meta: str) -> Path:
    text = "[属性描述]\n" + "\n".join(meta) + "\n[地块坐标]\n4,,P1,,面,,,,@\n"
    p = tmp_path / "宗地.txt"
    p.write_text(text + "\n".join(SQUARE) + "\n", encoding="gbk")
    return p


def _geod_m2(crs: CRS) -> float:
    """The square's area on GRS80, its corners taken to lon/lat by pyproj alone."""
    to_ll = Transformer.from_crs(crs, "EPSG:4490", always_xy=True)
    pts = [tuple(map(float, s.split(",")[2:])) for s in SQUARE]  # (X northing, Y easting)
    lon, lat = to_ll.transform([p[1] for p in pts], [p[0] for p in pts])
    return abs(Geod(ellps="GRS80").polygon_area_perimeter(lon, lat)[0])


@pytest.mark.parametrize("meridian", ["108", "108°", "E108度", "108.0"])
def test_the_meridian_gives_the_three_degree_zone(tmp_path: Path, meridian: str) -> None:
    gdf = read_jzd(_file(tmp_path, f"中央子午线={meridian}"))
    assert gdf.crs == CRS.from_epsg(4545)  # CGCS2000 / 3-degree Gauss-Kruger CM 108E
    assert "CM 108E" in CRS.from_epsg(4545).name
    assert gdf.geometry.iloc[0].area == pytest.approx(90_000.0)  # planar, in the zone
    m2 = ellipsoidal_area(gdf.to_crs("EPSG:4490").geometry.values)[0]
    assert m2 == pytest.approx(_geod_m2(CRS.from_epsg(4545)), abs=0.01)


def test_a_six_degree_meridian(tmp_path: Path) -> None:
    gdf = read_jzd(_file(tmp_path, "几度分带=6", "中央子午线=105"))
    assert "CM 105E" in gdf.crs.name and "3-degree" not in gdf.crs.name


def test_meridian_and_zone_that_agree(tmp_path: Path) -> None:
    assert read_jzd(_file(tmp_path, "带号=36", "中央子午线=108")).crs == CRS.from_epsg(4545)


def test_meridian_and_zone_that_disagree_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CRSError, match=r"带号=37 but 中央子午线 '108' is zone 36"):
        read_jzd(_file(tmp_path, "带号=37", "中央子午线=108"))


@pytest.mark.parametrize("bad", ["109", "东经"])
def test_a_meridian_that_is_no_zone_is_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(InputError, match=rf"中央子午线 '{bad}' is not the central meridian"):
        read_jzd(_file(tmp_path, f"中央子午线={bad}"))


def test_a_six_degree_file_with_a_three_degree_meridian_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="6-degree"):
        read_jzd(_file(tmp_path, "几度分带=6", "中央子午线=108"))
