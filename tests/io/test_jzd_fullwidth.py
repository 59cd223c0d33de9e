"""界址点 files typed with a Chinese input method: full-width ，＝＠［］, digits and ．.

Found in round 16's audit. Only the full-width comma was read; a 坐标系＝西安80坐标系 line was
dropped unseen and the file taken for CGCS2000 ("no 坐标系 given; assuming ..."), a parcel of
an old datum placed tens of metres off with no refusal; full-width digits gave '几度分带 must be
3 or 6, got ３', a full-width ＠ 'vertex row before any parcel header'. The oracle is pyproj
alone (the corners to lon/lat, pyproj.Geod), sharing no code with qzgeo.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pyproj import CRS, Geod, Transformer

from qzgeo.io.jzd_read import read_jzd
from qzgeo.notices import notices_of

# A 200 m square in 钦州, zone 36 with the zone prefix (northing, easting), as surveyed.
N0, E0 = 2_400_719.0, 36_566_227.0
RING = [(N0, E0), (N0, E0 + 200), (N0 + 200, E0 + 200), (N0 + 200, E0), (N0, E0)]
WIDE = str.maketrans("0123456789,.@[]=", "０１２３４５６７８９，．＠［］＝")


def _text(*meta: str) -> str:
    rows = [f"J{k},1,{n:.3f},{e:.3f}" for k, (n, e) in enumerate(RING, 1)]
    head = ["[属性描述]", *meta, "[地块坐标]", "5,4.0000,A1,,面,,,,@"]
    return "\n".join(head + rows) + "\n"


def _geod_m2() -> float:
    to_ll = Transformer.from_crs("EPSG:4524", "EPSG:4490", always_xy=True)
    lon, lat = to_ll.transform([e for _, e in RING], [n for n, _ in RING])
    return abs(Geod(ellps="GRS80").polygon_area_perimeter(lon, lat)[0])


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "界址点.txt"
    p.write_bytes(text.replace("\n", "\r\n").encode("gbk"))
    return p


def test_a_file_typed_all_in_full_width_reads_as_its_ascii_twin(tmp_path: Path) -> None:
    meta = ("坐标系=2000国家大地坐标系", "几度分带=3", "带号=36")
    named = _text(*meta).replace("A1,,", "钦州港（一）,地块（一）,")
    gdf = read_jzd(_write(tmp_path, named.translate(WIDE)))
    assert gdf.crs.to_epsg() == 4524
    assert gdf.geometry.iloc[0].area == 40_000.0  # planar, in the zone: 200 m x 200 m
    assert gdf["申报面积ha"].iloc[0] == 4.0 and gdf["申报点数"].iloc[0] == 5
    assert gdf["地块编号"].iloc[0] == "钦州港（一）"  # names keep their full-width （）
    # The declared 4 公顷 matches the ellipsoidal area (pyproj.Geod): no area warning.
    assert _geod_m2() == pytest.approx(40_000.0, rel=1e-3)
    assert not [n for n in notices_of(gdf) if "declares" in str(n)]


def test_a_full_width_equals_sign_still_gives_the_datum(tmp_path: Path) -> None:
    """坐标系＝西安80坐标系 is Xian 1980 (zone 36 with the prefix: EPSG:2360), never CGCS2000."""
    gdf = read_jzd(_write(tmp_path, _text("坐标系＝西安80坐标系", "几度分带＝3", "带号＝36")))
    assert gdf.crs == CRS.from_epsg(2360)
    assert "Xian 1980" in gdf.crs.name and "zone 36" in gdf.crs.name


def test_a_description_line_without_equals_is_said(tmp_path: Path) -> None:
    text = _text("坐标系:2000国家大地坐标系", "带号=36")
    said = [str(n) for n in notices_of(read_jzd(_write(tmp_path, text)))]
    assert any("line 2" in n and "has no '='" in n and "坐标系:2000" in n for n in said), said
