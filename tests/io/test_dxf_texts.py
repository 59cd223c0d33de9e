"""A CAD drawing names its parcels with text written inside them (a CASS 宗地图's 宗地号 and
area, a 地块编号): DXF has no attributes for a polyline, so each site was labelled by its
position (``cass.dxf:0``) and the text reported as "not read". Each polygon now carries the
text inside it (:data:`qzgeo.io.dxf.TEXT_COLUMN`), which names the site."""

from __future__ import annotations

from pathlib import Path

import ezdxf
from ezdxf.enums import TextEntityAlignment

from qzgeo.io.dxf import TEXT_COLUMN, read_dxf
from qzgeo.notices import notices_of
from tests.cli._cli import check_json

X0, Y0 = 564_148.36, 2_402_924.97  # EPSG:4545


def _drawing(path: Path) -> Path:
    doc = ezdxf.new("R2010")
    msp = doc.modelspace()
    west = [(X0, Y0), (X0 + 100, Y0), (X0 + 100, Y0 + 150), (X0, Y0 + 150)]
    msp.add_lwpolyline(west, close=True, dxfattribs={"layer": "JZX"})
    east = [(x + 100, y) for x, y in west]
    msp.add_lwpolyline(east, close=True, dxfattribs={"layer": "JZX"})
    pond = [(X0 + 120, Y0 + 10), (X0 + 150, Y0 + 10), (X0 + 150, Y0 + 40), (X0 + 120, Y0 + 40)]
    msp.add_lwpolyline(pond, close=True)  # inside the east parcel
    msp.add_text("1500.00", dxfattribs={"insert": (X0 + 40, Y0 + 70), "height": 2})
    zdh = msp.add_text("0102003", dxfattribs={"insert": (X0 + 40, Y0 + 80), "height": 3})
    # centred on (X0 + 50, Y0 + 80) as CASS places a 宗地号; its insertion point left stale
    # in the next parcel, where the text is not
    zdh.set_placement((X0 + 50, Y0 + 80), align=TextEntityAlignment.MIDDLE_CENTER)
    zdh.dxf.insert = (X0 + 140, Y0 + 60)
    msp.add_mtext("工业\\P用地", dxfattribs={"insert": (X0 + 140, Y0 + 80), "char_height": 3})
    msp.add_text("坑塘", dxfattribs={"insert": (X0 + 130, Y0 + 20)})  # the pond's, not east's
    msp.add_text("图名：港区宗地图", dxfattribs={"insert": (X0, Y0 + 200)})  # outside all
    doc.saveas(path)
    return path


def test_each_polygon_carries_the_text_inside_it(tmp_path: Path) -> None:
    gdf = read_dxf(_drawing(tmp_path / "cass.dxf"), crs="EPSG:4545")
    assert gdf[TEXT_COLUMN].tolist() == ["0102003 1500.00", "工业 用地", "坑塘"]
    said = " ".join(notices_of(gdf).messages())
    assert "1 TEXT/MTEXT entity outside every closed polyline not read" in said


def test_check_names_the_sites_by_their_text(tmp_path: Path) -> None:
    _, sites = check_json(_drawing(tmp_path / "cass.dxf"), "--crs", "EPSG:4545")
    assert [(s["site"], s["site_field"]) for s in sites] == [
        ("0102003 1500.00", TEXT_COLUMN),
        ("工业 用地", TEXT_COLUMN),
        ("坑塘", TEXT_COLUMN),
    ]


def test_a_drawing_without_text_has_an_empty_column(tmp_path: Path) -> None:
    doc = ezdxf.new("R2010")
    doc.modelspace().add_lwpolyline([(0, 0), (10, 0), (10, 10)], close=True)
    doc.saveas(tmp_path / "bare.dxf")
    gdf = read_dxf(tmp_path / "bare.dxf")
    assert gdf[TEXT_COLUMN].tolist() == [None]
