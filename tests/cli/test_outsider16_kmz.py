"""A KMZ from Google Earth or 奥维地图 (round 16's audit).

It was refused with "Convert the data to GeoPackage", with no word of how; a KMZ is a zip
holding a KML, which qzgeo reads. The message now says so, and the KML inside reads, holes
included (area: pyproj.Geod on the rings, shell minus hole).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from _cli import assert_exit2, check_json, qzgeo
from pyproj import Geod

LON, LAT, D = 108.64, 21.70, 0.002
SHELL = [(LON, LAT), (LON + D, LAT), (LON + D, LAT + D), (LON, LAT + D), (LON, LAT)]
HOLE = [(LON + 0.0005, LAT + 0.0005), (LON + 0.0005, LAT + 0.0015)]
HOLE += [(LON + 0.0015, LAT + 0.0015), (LON + 0.0015, LAT + 0.0005), HOLE[0]]


def _kml() -> str:
    def coords(ring: list[tuple[float, float]]) -> str:
        return " ".join(f"{x},{y},0" for x, y in ring)

    return (
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2">'
        "<Document><Placemark><name>选址一</name><Polygon><outerBoundaryIs><LinearRing>"
        f"<coordinates>{coords(SHELL)}</coordinates></LinearRing></outerBoundaryIs>"
        f"<innerBoundaryIs><LinearRing><coordinates>{coords(HOLE)}</coordinates>"
        "</LinearRing></innerBoundaryIs></Polygon></Placemark></Document></kml>"
    )


def test_a_kmz_is_told_to_be_unzipped_and_its_kml_reads(tmp_path: Path) -> None:
    kmz = tmp_path / "奥维 导出.kmz"
    with zipfile.ZipFile(kmz, "w") as z:
        z.writestr("doc.kml", _kml())
    res = qzgeo("check", kmz)
    assert_exit2(res, "奥维 导出.kmz", "unzip it", "doc.kml")
    with zipfile.ZipFile(kmz) as z:
        z.extractall(tmp_path)
    _, sites = check_json(tmp_path / "doc.kml")
    geod = Geod(ellps="GRS80")
    expected = abs(geod.polygon_area_perimeter(*zip(*SHELL, strict=True))[0])
    expected -= abs(geod.polygon_area_perimeter(*zip(*HOLE, strict=True))[0])
    assert [s["site"] for s in sites] == ["选址一"]
    assert sites[0]["area_m2"] == pytest.approx(expected, abs=0.01)
