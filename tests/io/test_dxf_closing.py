"""DXF polylines are polygons only when they close (an end a few metres from the start is open);
one inside another is said (DXF has no holes).

``np.allclose`` with its default relative tolerance took an end within 1e-5 of the
coordinates' size for the start: 365 m in zone-prefixed eastings (36 566 227 m), 24 m in
northings. A road edge or an unfinished boundary was read as a parcel without a word.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from qzgeo._errors import GeometryError
from qzgeo.cli.main import cli
from qzgeo.io.dxf import read_dxf
from qzgeo.notices import notices_of

ezdxf = pytest.importorskip("ezdxf")

E0, N0 = 36_566_227.0, 2_400_719.0  # zone-prefixed GK metres (zone 36), as CAD drawings hold


def _drawing(path: Path, gap_m: float, *, flagged: bool = False) -> Path:
    """One 300 m U whose last point stops ``gap_m`` short of its first (0: on it)."""
    doc = ezdxf.new("R2010")
    pts = [(E0, N0), (E0 + 300, N0), (E0 + 300, N0 + 300), (E0, N0 + 300), (E0, N0 + gap_m)]
    doc.modelspace().add_lwpolyline(pts, close=flagged, dxfattribs={"layer": "道路"})
    doc.saveas(path)
    return path


@pytest.mark.parametrize("gap_m", [20.0, 1.0, 0.01])
def test_a_polyline_that_stops_short_of_its_start_is_open(tmp_path: Path, gap_m: float) -> None:
    src = _drawing(tmp_path / "路.dxf", gap_m)
    named = r"1 open polyline.*LWPOLYLINE handle \w+ on layer '道路'"
    with pytest.raises(GeometryError, match=named):
        read_dxf(src, crs="EPSG:4524")
    res = CliRunner().invoke(
        cli, ["convert", str(src), str(tmp_path / "o.gpkg"), "--crs", "EPSG:4524"]
    )
    assert res.exit_code == 2, res.output
    assert "open polyline" in res.output and "Close them in CAD" in res.output
    assert not (tmp_path / "o.gpkg").exists()


@pytest.mark.parametrize("flagged", [False, True])
def test_a_polyline_back_on_its_start_is_a_polygon(tmp_path: Path, flagged: bool) -> None:
    """Ending on the first point (snapped in CAD) closes it, as the closed flag does."""
    gdf = read_dxf(_drawing(tmp_path / "宗地.dxf", 0.0, flagged=flagged), crs="EPSG:4524")
    assert gdf.geometry.area.tolist() == [300.0 * 300.0]  # planar, in drawing units


def test_a_polyline_inside_another_is_said(tmp_path: Path) -> None:
    """DXF has no holes: a hole drawn as a second closed polyline was read as a parcel of its
    own, and the outer parcel's area included it, without a word (a 200 m square around a
    100 m one: 40 000 m² where the parcel with its hole is 30 000)."""
    doc = ezdxf.new("R2010")
    msp = doc.modelspace()
    outer = msp.add_lwpolyline(
        [(E0, N0), (E0 + 200, N0), (E0 + 200, N0 + 200), (E0, N0 + 200)], close=True
    )
    inner = msp.add_lwpolyline(
        [(E0 + 50, N0 + 50), (E0 + 150, N0 + 50), (E0 + 150, N0 + 150), (E0 + 50, N0 + 150)],
        close=True,
    )
    beside = msp.add_lwpolyline(
        [(E0 + 300, N0), (E0 + 400, N0), (E0 + 400, N0 + 100), (E0 + 300, N0 + 100)], close=True
    )
    doc.saveas(tmp_path / "宗地.dxf")
    gdf = read_dxf(tmp_path / "宗地.dxf", crs="EPSG:4524")
    assert gdf.geometry.area.tolist() == [40_000.0, 10_000.0, 10_000.0]  # read as drawn
    said = [n for n in notices_of(gdf) if "lie inside" in str(n)]
    assert len(said) == 1, said
    handle = f"polyline handle(s) {inner.dxf.handle} lie inside polyline handle {outer.dxf.handle}"
    assert handle in str(said[0]) and said[0].feature == 0
    assert beside.dxf.handle not in str(said[0])
