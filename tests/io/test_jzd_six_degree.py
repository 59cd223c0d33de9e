"""界址点 files in a 6-degree zone that do not say 几度分带=6.

Found in round 16's audit: 带号=19 (or eastings prefixed 19xxxxxx) without a 几度分带 line was
refused with "3-degree GK zone must be in 25..45, got 19; pass crs", though no 3-degree zone
over China has that number (they are 25..45; 6-degree ones 13..23). The expected CRS is found
by name in the EPSG database, the area by pyproj.Geod, sharing no code with qzgeo.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pyproj import CRS, Geod, Transformer
from pyproj.database import query_crs_info

from qzgeo._errors import CRSError
from qzgeo.geo.area import ellipsoidal_area
from qzgeo.io.jzd_read import read_jzd
from qzgeo.notices import notices_of

LON, LAT = 108.64, 21.70  # 钦州: 6-degree zone 19 (CM 111E)


def _epsg(name: str) -> int:
    (code,) = [i.code for i in query_crs_info(auth_name="EPSG") if i.name == name]
    return int(code)


ZONE19 = _epsg("CGCS2000 / Gauss-Kruger zone 19")  # eastings with the prefix 19
CM111 = _epsg("CGCS2000 / Gauss-Kruger CM 111E")  # without it


def _ring(epsg: int) -> list[tuple[float, float]]:
    e, n = Transformer.from_crs("EPSG:4490", epsg, always_xy=True).transform(LON, LAT)
    e, n = round(e), round(n)
    return [(e, n), (e + 200, n), (e + 200, n + 200), (e, n + 200), (e, n)]


def _file(tmp_path: Path, epsg: int, *meta: str) -> Path:
    rows = [f"J{k},1,{n:.3f},{e:.3f}" for k, (e, n) in enumerate(_ring(epsg), 1)]
    text = "\n".join(["[属性描述]", "坐标系=2000国家大地坐标系", *meta, "[地块坐标]"])
    p = tmp_path / "界址点.txt"
    p.write_text(text + "\n5,,A1,,面,,,,@\n" + "\n".join(rows) + "\n", encoding="gbk")
    return p


def _geod_m2(epsg: int) -> float:
    es, ns = [e for e, _ in _ring(epsg)], [n for _, n in _ring(epsg)]
    lon, lat = Transformer.from_crs(epsg, "EPSG:4490", always_xy=True).transform(es, ns)
    return abs(Geod(ellps="GRS80").polygon_area_perimeter(lon, lat)[0])


@pytest.mark.parametrize(
    ("epsg", "meta"),
    [(ZONE19, ("带号=19",)), (ZONE19, ()), (ZONE19, ("几度分带=",)), (CM111, ("带号=19",))],
)
def test_a_six_degree_zone_number_without_its_width(
    tmp_path: Path, epsg: int, meta: tuple[str, ...]
) -> None:
    gdf = read_jzd(_file(tmp_path, epsg, *meta))
    assert gdf.crs == CRS.from_epsg(epsg)
    said = " ".join(str(n) for n in notices_of(gdf))
    assert "no 几度分带" in said and "zone 19 is a 6-degree zone number" in said
    m2 = ellipsoidal_area(gdf.to_crs("EPSG:4490").geometry.values)[0]
    assert m2 == pytest.approx(_geod_m2(epsg), abs=0.01)


def test_three_degrees_declared_for_a_six_degree_zone_number(tmp_path: Path) -> None:
    with pytest.raises(CRSError, match=r"line 3: 几度分带=3 but zone 19 is a 6-degree zone"):
        read_jzd(_file(tmp_path, ZONE19, "几度分带=3", "带号=19"))


def test_a_three_degree_zone_needs_no_width(tmp_path: Path) -> None:
    gdf = read_jzd(_file(tmp_path, _epsg("CGCS2000 / 3-degree Gauss-Kruger zone 36"), "带号=36"))
    assert "zone 36" in gdf.crs.name
    assert not [n for n in notices_of(gdf) if "几度分带" in str(n)]
