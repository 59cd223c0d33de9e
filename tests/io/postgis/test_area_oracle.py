"""Areas against PostGIS ``ST_Area(geography)``: holes of any winding, in any ring order.

The polygons go to PostGIS as WKT written here (no qzgeo writer), exactly as drawn: a hole
wound like its shell must be subtracted by both (issue 9). qzgeo is run as a user runs it:
``qzgeo check --format json`` on a GeoJSON that keeps the windings.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from qzgeo.cli.main import cli

pytestmark = pytest.mark.postgis
Sql = Callable[..., list[tuple[object, ...]]]

LON0, LAT0 = 108.62, 21.69


def _ring(x0: float, y0: float, w: float, h: float, ccw: bool) -> list[list[float]]:
    pts = [[x0, y0], [x0 + w, y0], [x0 + w, y0 + h], [x0, y0 + h]]
    pts = pts if ccw else pts[::-1]
    return [*pts, pts[0]]


def _wkt(rings: list[list[list[float]]]) -> str:
    return (
        "POLYGON("
        + ",".join("(" + ",".join(f"{x!r} {y!r}" for x, y in r) + ")" for r in rings)
        + ")"
    )


@pytest.mark.parametrize(
    ("shell_ccw", "holes_ccw"),
    [(a, (b, c)) for a, b, c in itertools.product([True, False], repeat=3)],
)
def test_holes_any_winding_match_postgis(
    tmp_path: Path, pg_sql: Sql, shell_ccw: bool, holes_ccw: tuple[bool, bool]
) -> None:
    shell = _ring(LON0, LAT0, 0.01, 0.008, shell_ccw)
    holes = [
        _ring(LON0 + 0.001, LAT0 + 0.001, 0.002, 0.003, holes_ccw[0]),
        _ring(LON0 + 0.006, LAT0 + 0.004, 0.003, 0.002, holes_ccw[1]),
    ]
    rings = [shell, holes[1], holes[0]]  # holes in reverse order
    [(want,)] = pg_sql(
        "SELECT ST_Area(ST_GeomFromText(:wkt, 4490)::geography)", {"wkt": _wkt(rings)}
    )
    site = tmp_path / "site.geojson"
    red = tmp_path / "red.geojson"
    feature = {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon"}}
    site.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [{**feature, "geometry": {"type": "Polygon", "coordinates": rings}}],
            }
        ),
        encoding="utf-8",
    )
    far = _ring(LON0 + 0.5, LAT0 + 0.5, 0.01, 0.01, True)
    red.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [{**feature, "geometry": {"type": "Polygon", "coordinates": [far]}}],
            }
        ),
        encoding="utf-8",
    )
    res = CliRunner().invoke(
        cli, ["check", str(site), "--no-pack", "--constraint", str(red), "--format", "json"]
    )
    assert res.exit_code == 0, res.output
    [got] = json.loads(res.stdout)
    [(shell_only,)] = pg_sql(
        "SELECT ST_Area(ST_GeomFromText(:wkt, 4490)::geography)", {"wkt": _wkt([shell])}
    )
    # PostGIS subtracts both holes (~65 000 m² each), whatever their winding.
    assert float(shell_only) - float(want) > 120_000  # type: ignore[arg-type]
    assert got["area_m2"] == pytest.approx(float(want), abs=0.011, rel=1e-9)  # type: ignore[arg-type]
