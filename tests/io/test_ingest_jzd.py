"""界址点 text files: the worked example, multi-parcel files, writing, and a parser fuzz."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely import box
from support import BADINPUTS

from qzgeo._errors import CRSError, InputError
from qzgeo.geo.area import ellipsoidal_area
from qzgeo.io.jzd_read import DECLARED_AREA, read_jzd
from qzgeo.io.jzd_write import write_jzd
from qzgeo.notices import notices_of

DATA = BADINPUTS
EXAMPLE = DATA / "18_jzd_prefix_holes.txt"


def test_worked_example_areas() -> None:
    gdf = read_jzd(EXAMPLE)
    poly = gdf.geometry.iloc[0]
    # README: 34.38 公顷 square with a 4.58 公顷 hole, net 29.79 公顷, planar and ellipsoidal.
    assert shapely.Polygon(poly.exterior).area / 1e4 == pytest.approx(34.38, abs=0.005)
    assert shapely.Polygon(poly.interiors[0]).area / 1e4 == pytest.approx(4.58, abs=0.005)
    assert poly.area / 1e4 == pytest.approx(29.79, abs=0.005)
    ell = ellipsoidal_area(gdf.to_crs("EPSG:4490").geometry.values)[0] / 1e4
    assert ell == pytest.approx(29.79, abs=0.005)
    assert gdf.loc[0, DECLARED_AREA] == 5.1723
    assert gdf.loc[0, "地块编号"] == "QZ-001" and gdf.loc[0, "地块用途"] == "工业用地"
    assert gdf.attrs["encoding"] == "gbk" and gdf.attrs["metadata"]["带号"] == "36"
    [area_warning] = [w for w in notices_of(gdf).messages() if "公顷" in w]
    assert "line 13" in area_warning and "5.1723" in area_warning and "29.79" in area_warning
    assert "亩" not in area_warning and "m²" not in area_warning


def test_notices_travel_with_the_data() -> None:
    # One channel: every notice is attached to the data (attrs["notices"]), tagged with the
    # parcel's row where it is about one parcel, and JSON-ready (GeoParquet keeps attrs).
    import json

    gdf = read_jzd(EXAMPLE)
    notes = notices_of(gdf)
    [area] = [n for n in notes if "公顷" in n.message]
    assert area.kind == "warning" and area.feature == 0 and area.line == 13
    assert area.source == EXAMPLE.name
    json.dumps(gdf.attrs, ensure_ascii=False)


def test_holes_and_parts_by_containment(tmp_path: Path) -> None:
    text = (
        "[属性描述]\n带号=36\n[地块坐标]\n"
        "15,,P,,面,,,,@\n"
        "J1,1,2399000,36564000\nJ2,1,2399000,36564300\nJ3,1,2399300,36564300\n"
        "J4,1,2399300,36564000\nJ1,1,2399000,36564000\n"
        "J5,2,2399100,36564100\nJ6,2,2399100,36564200\nJ7,2,2399200,36564200\n"
        "J8,2,2399200,36564100\nJ5,2,2399100,36564100\n"
        "J9,3,2399000,36565000\nJ10,3,2399000,36565100\nJ11,3,2399100,36565100\n"
        "J12,3,2399100,36565000\nJ9,3,2399000,36565000\n"
    )
    p = tmp_path / "p.txt"
    p.write_text(text, encoding="gbk")
    geom = read_jzd(p).geometry.iloc[0]
    assert geom.geom_type == "MultiPolygon"
    assert geom.area == pytest.approx(300 * 300 - 100 * 100 + 100 * 100)
    assert [len(g.interiors) for g in geom.geoms] == [1, 0]


def test_write_read_round_trip(tmp_path: Path) -> None:
    src = read_jzd(EXAMPLE)
    out = write_jzd(src, tmp_path / "out.txt")
    back = read_jzd(out)
    assert (
        notices_of(back).messages(kind="warning") == []
    )  # declared area and point count are now right
    assert back.crs.to_epsg() == 4524
    assert back.geometry.iloc[0].equals_exact(src.geometry.iloc[0], tolerance=1e-3)
    assert back.loc[0, DECLARED_AREA] == pytest.approx(29.7916, abs=1e-4)
    # Written as GBK with CRLF, like the 报批 tools expect; re-runs are byte-identical.
    raw = out.read_bytes()
    assert "示例地块".encode("gbk") in raw and b"\r\n" in raw
    assert write_jzd(src, tmp_path / "again.txt").read_bytes() == raw


def test_write_without_prefix_and_from_lonlat(tmp_path: Path) -> None:
    g = gpd.GeoDataFrame(
        {"地块编号": ["A", "B"], "地块名称": ["甲", "乙"]},
        geometry=[box(108.60, 21.70, 108.61, 21.71), box(108.62, 21.70, 108.63, 21.71)],
        crs="EPSG:4490",
    )
    out = write_jzd(g, tmp_path / "np.txt", prefix=False)
    back = read_jzd(out)
    assert back.crs.to_epsg() == 4545
    assert list(back["地块名称"]) == ["甲", "乙"]
    areas = ellipsoidal_area(g.geometry.values) / 1e4
    assert list(back[DECLARED_AREA]) == pytest.approx(areas, abs=1e-4)


def test_write_refuses_what_the_format_cannot_hold(tmp_path: Path) -> None:
    line = gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 0), (1, 1)])], crs="EPSG:4545")
    with pytest.raises(InputError, match="polygons only"):
        write_jzd(line, tmp_path / "l.txt")
    comma = gpd.GeoDataFrame(
        {"地块名称": ["a,b"]}, geometry=[box(5e5, 2.4e6, 5e5 + 9, 2.4e6 + 9)], crs="EPSG:4545"
    )
    with pytest.raises(InputError, match="comma"):
        write_jzd(comma, tmp_path / "c.txt")
    assert not list(tmp_path.iterdir())


def test_zone_conflict_and_fallback_crs(tmp_path: Path) -> None:
    text = EXAMPLE.read_bytes().decode("gbk").replace("带号=36", "带号=37")
    p = tmp_path / "z.txt"
    p.write_text(text, encoding="gbk")
    with pytest.raises(CRSError, match="带号=37 but the eastings carry zone prefix 36"):
        read_jzd(p)
    nozone = DATA / "18_jzd_no_zone.txt"
    assert read_jzd(nozone, crs="EPSG:4545").crs.to_epsg() == 4545


def test_errors_carry_line_numbers(tmp_path: Path) -> None:
    p = tmp_path / "e.txt"
    p.write_text("[地块坐标]\nJ1,1,2399000,36564000\n", encoding="gbk")
    with pytest.raises(InputError, match=r"e\.txt line 2: vertex row before any parcel header"):
        read_jzd(p)
    p.write_text("[地块坐标]\n5,1,A,,面,,,,@\nJ1,x,2399000,36564000\n", encoding="gbk")
    with pytest.raises(InputError, match=r"line 3: 圈号 'x' is not an integer"):
        read_jzd(p)
    p.write_text(
        "[地块坐标]\n3,1,A,,面,,,,@\nJ1,1,2399000,36564000\nJ2,1,2399000,36564000\n", encoding="gbk"
    )
    with pytest.raises(InputError, match=r"line 3: ring 1 of parcel 'A' has 1 distinct"):
        read_jzd(p)


# --- fuzz: random or mutated text -> a GeoDataFrame or a clear error --------------------------

_SEED = EXAMPLE.read_bytes().decode("gbk")
_TOKENS = [
    "[属性描述]",
    "[地块坐标]",
    "带号=36",
    "带号=x",
    ",",
    "@",
    "\n",
    "J1",
    "1",
    "2",
    "2399603.043",
    "36564161.661",
    "564161.661",
    "nan",
    "inf",
    "-1e309",
    "面",
    "线",
    "",
    "，",
]


@st.composite
def _mutated(draw: st.DrawFn) -> str:
    lines = _SEED.splitlines()
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.sampled_from(["drop", "dup", "edit", "insert"]))
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        if op == "drop":
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "edit":
            pos = draw(st.integers(0, len(lines[i])))
            tok = draw(st.sampled_from(_TOKENS))
            lines[i] = lines[i][:pos] + tok + lines[i][pos + draw(st.integers(0, 5)) :]
        else:
            lines.insert(i, "".join(draw(st.lists(st.sampled_from(_TOKENS), max_size=8))))
    return "\n".join(lines)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.one_of(_mutated(), st.text(max_size=300)), enc=st.sampled_from(["gbk", "utf-8"]))
def test_fuzz_parser(tmp_path: Path, text: str, enc: str) -> None:
    p = tmp_path / "fuzz.txt"
    p.write_bytes(text.encode(enc, errors="replace"))
    try:
        gdf = read_jzd(p)
    except (InputError, CRSError):
        return
    assert isinstance(gdf, gpd.GeoDataFrame) and len(gdf) >= 1
    assert gdf.crs is not None


def test_convert_names_columns_a_jzd_file_cannot_hold(tmp_path: Path) -> None:
    """The 界址点 writer's notice reaches the user through convert, not a log they never see."""
    from click.testing import CliRunner
    from shapely import box

    from qzgeo.cli.main import cli

    src = tmp_path / "a.geojson"
    gpd.GeoDataFrame(
        {"地块编号": ["A"], "备注字段": ["x"]},
        geometry=[box(108.60, 21.70, 108.61, 21.71)],
        crs="EPSG:4490",
    ).to_file(src)
    res = CliRunner().invoke(cli, ["convert", str(src), str(tmp_path / "a.txt")])
    assert res.exit_code == 0, res.output
    assert "备注字段" in res.output and "not written" in res.output


_ZONE_FILE = """[属性描述]
坐标系=2000国家大地坐标系
几度分带=3
投影类型=高斯克吕格
带号={zone}
[地块坐标]
5,5.1723,QZ-001,示例地块,面,,工业用地,1001,@
J1,1,2399603.043,36564161.661
J2,1,2399605.538,36564782.598
J3,1,2400159.193,36564780.362
J4,1,2400156.697,36564159.446
J1,1,2399603.043,36564161.661
"""


@pytest.mark.parametrize("zone", ["inf", "nan", "36.7", "0", "1e9", "-36"])
def test_a_zone_that_is_not_a_whole_zone_number_is_refused(tmp_path: Path, zone: str) -> None:
    """Found by the fuzz test: 带号=inf crashed (OverflowError); 36.7 was read as 36."""
    from qzgeo.io.vector import read_layer

    path = tmp_path / "zone.txt"
    path.write_text(_ZONE_FILE.format(zone=zone), encoding="utf-8")
    with pytest.raises(InputError, match="带号") as err:
        read_layer(path)
    assert repr(zone) in str(err.value) and "line 5" in str(err.value)


def test_a_whole_zone_number_written_as_a_float_is_read(tmp_path: Path) -> None:
    from qzgeo.io.vector import read_layer

    path = tmp_path / "zone.txt"
    path.write_text(_ZONE_FILE.format(zone="36.0"), encoding="utf-8")
    assert read_layer(path).crs.to_epsg() == 4524
