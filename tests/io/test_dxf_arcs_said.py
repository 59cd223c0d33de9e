"""DXF arcs (LWPOLYLINE bulges) are flattened inside their circle: a parcel with a curved
side comes out up to (2/3)·0.01·arc length small. README promised a warning for it, as for
the curves of a GeoPackage; none was given (check's warnings, analyze's report: empty)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.cli._cli import check_json, qzgeo, warnings_of

ezdxf = pytest.importorskip("ezdxf")
X0, Y0 = 36_564_000.0, 2_429_500.0  # CGCS2000 GK zone 36 with prefix (EPSG:4524)


def _drawing(path: Path, *, bulge: float) -> Path:
    doc = ezdxf.new("R2010")
    msp = doc.modelspace()
    msp.add_lwpolyline(  # a 100 x 100 lot whose top edge is a half circle when bulged
        [(X0, Y0, 0, 0, 0), (X0 + 100, Y0, 0, 0, 0), (X0 + 100, Y0 + 100, 0, 0, bulge),
         (X0, Y0 + 100, 0, 0, 0)],
        format="xyseb", close=True,
    )  # fmt: skip
    msp.add_lwpolyline([(X0 + 300, Y0), (X0 + 400, Y0), (X0 + 400, Y0 + 100)], close=True)
    doc.saveas(path)
    return path


def test_arcs_are_said_in_check_and_analyze(tmp_path: Path) -> None:
    src = _drawing(tmp_path / "宗地图.dxf", bulge=1.0)
    _, sites = check_json(src, "--crs", "EPSG:4524")
    said = warnings_of(sites)
    assert "宗地图.dxf" in said and "arcs" in said and "0.01" in said, said
    # the half circle is there, flattened inside: below 100² + π·50²/2 in GK m², near it
    gk = 100 * 100 + math.pi * 50**2 / 2
    assert gk * 0.9998 < sites[0]["area_m2"] < gk, sites[0]["area_m2"]
    out = tmp_path / "out"
    res = qzgeo("analyze", "--parcels", src, "--crs", "EPSG:4524", "--out", out)
    assert res.exit_code == 0, res.output
    report = json.loads((out / "internal" / "parcels_report.json").read_text(encoding="utf-8"))
    assert any("arcs" in w for w in report["repairs"]["warnings"]), report["repairs"]


def test_straight_drawings_get_no_such_note(tmp_path: Path) -> None:
    src = _drawing(tmp_path / "宗地图.dxf", bulge=0.0)
    _, sites = check_json(src, "--crs", "EPSG:4524")
    assert "arcs" not in warnings_of(sites)
