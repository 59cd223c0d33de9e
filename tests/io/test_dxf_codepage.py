"""A DXF R12 whose header says ANSI_1252 but whose names are GBK (Chinese CAD set up wrongly).

ezdxf reads such a file as cp1252: the layer 宗地 came out as '×ÚµØ', without a word. The
drawing's names, turned back into their bytes, are GBK Chinese: it is read as GBK, with a
warning naming the file, the declared code page and the fix. ``--encoding`` applies to DXF
R12–R2004 (it was not passed to the DXF reader). The oracle is the file's own bytes: the
names were written as GBK (``"宗地".encode("gbk")`` is in the file), the header edited.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from packs import all_output, assert_no_traceback, run_cli

from qzgeo.io.dxf import read_dxf
from qzgeo.notices import notices_of

ezdxf = pytest.importorskip("ezdxf")

E0, N0 = 36_566_227.0, 2_400_719.0  # zone-prefixed GK metres (zone 36), as CAD drawings hold
LAYERS = ("宗地", "工业用地")


def _drawing(tmp_path: Path, codepage: str, layers: tuple[str, ...] = LAYERS) -> Path:
    """An R12 drawing written in GBK (ANSI_936), then its header's code page set to
    ``codepage`` byte for byte, as a wrongly set-up CAD writes it."""
    doc = ezdxf.new("R12")
    doc.encoding = "gbk"  # writes $DWGCODEPAGE = ANSI_936 and the text in GBK
    msp = doc.modelspace()
    for i, name in enumerate(layers):
        doc.layers.add(name)
        x = E0 + 200 * i
        pts = [(x, N0), (x + 100, N0), (x + 100, N0 + 100), (x, N0 + 100)]
        msp.add_polyline2d(pts, close=True, dxfattribs={"layer": name})
    msp.add_text("一号地块", dxfattribs={"layer": layers[0]})
    written = tmp_path / "written.dxf"
    doc.saveas(written)
    data = written.read_bytes()
    assert data.count(b"ANSI_936") == 1 and all(n.encode("gbk") in data for n in layers)
    path = tmp_path / "宗地图.dxf"
    path.write_bytes(data.replace(b"ANSI_936", codepage.encode("ascii")))
    return path


def _codepage_notices(gdf: object) -> list[str]:
    return [m for m in notices_of(gdf).messages() if "DWGCODEPAGE" in m]


def test_gbk_names_under_ansi_1252_are_read_as_gbk_and_said(tmp_path: Path) -> None:
    src = _drawing(tmp_path, "ANSI_1252")
    gdf = read_dxf(src, crs="EPSG:4524")
    assert sorted(gdf["layer"]) == sorted(LAYERS)
    [said] = _codepage_notices(gdf)
    for needle in (src.name, "ANSI_1252", "GBK", "ANSI_936", "--encoding cp1252"):
        assert needle in said, (needle, said)
    assert gdf.attrs["encoding"] == "gbk"


def test_convert_writes_the_chinese_names_and_says_why(tmp_path: Path) -> None:
    import geopandas as gpd

    out = tmp_path / "o.gpkg"
    res = run_cli("convert", _drawing(tmp_path, "ANSI_1252"), out, "--crs", "EPSG:4524")
    assert_no_traceback(res)
    assert res.exit_code == 0, all_output(res)
    assert "ANSI_1252" in all_output(res) and "ANSI_936" in all_output(res)
    assert sorted(gpd.read_file(out)["layer"]) == sorted(LAYERS)


def test_encoding_given_is_applied_to_a_dxf(tmp_path: Path) -> None:
    """--encoding cp1252 reads the file as declared (the user's word), no guess."""
    src = _drawing(tmp_path, "ANSI_1252")
    gdf = read_dxf(src, crs="EPSG:4524", encoding="cp1252")
    assert sorted(gdf["layer"]) == sorted(n.encode("gbk").decode("cp1252") for n in LAYERS)
    assert not _codepage_notices(gdf)
    out = tmp_path / "o.gpkg"
    res = run_cli("convert", src, out, "--crs", "EPSG:4524", "--encoding", "gbk")
    assert res.exit_code == 0, all_output(res)
    assert "DWGCODEPAGE" not in all_output(res)  # no guess: the user said GBK


def test_an_encoding_the_bytes_do_not_fit_is_refused(tmp_path: Path) -> None:
    res = run_cli(
        "convert", _drawing(tmp_path, "ANSI_936"), tmp_path / "o.gpkg",
        "--crs", "EPSG:4524", "--encoding", "utf-8",
    )  # fmt: skip
    assert_no_traceback(res)
    assert res.exit_code == 2, all_output(res)
    assert "utf-8" in all_output(res) and "ANSI_936" in all_output(res)


def test_a_declared_gbk_file_is_read_without_a_notice(tmp_path: Path) -> None:
    gdf = read_dxf(_drawing(tmp_path, "ANSI_936"), crs="EPSG:4524")
    assert sorted(gdf["layer"]) == sorted(LAYERS) and not _codepage_notices(gdf)


def test_latin_names_under_ansi_1252_stay_latin(tmp_path: Path) -> None:
    """'Straße' turned back into bytes decodes as GBK too (ß + e make one character): not a
    GB2312 one, so it is no evidence of GBK."""
    doc = ezdxf.new("R12")
    doc.layers.add("Straße")
    doc.layers.add("Müller")
    pts = [(E0, N0), (E0 + 100, N0), (E0 + 100, N0 + 100), (E0, N0 + 100)]
    doc.modelspace().add_polyline2d(pts, close=True, dxfattribs={"layer": "Straße"})
    src = tmp_path / "latin.dxf"
    doc.saveas(src)
    assert b"ANSI_1252" in src.read_bytes() and "Straße".encode("cp1252") in src.read_bytes()
    gdf = read_dxf(src, crs="EPSG:4524")
    assert gdf["layer"].tolist() == ["Straße"] and not _codepage_notices(gdf)
